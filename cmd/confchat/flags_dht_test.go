package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func parseDHT(t *testing.T, args ...string) (*globalFlags, error) {
	t.Helper()
	g := defaultGlobalFlags()
	g.profile = t.TempDir()
	if err := newFlagSet("", g).Parse(args); err != nil {
		return nil, err
	}
	return g, g.validate()
}

func TestDHTFlags(t *testing.T) {
	g, err := parseDHT(t)
	if err != nil {
		t.Fatal(err)
	}
	if c := g.dht.config(); !c.Enabled || c.Bootstrap != nil || c.Listen != "" {
		t.Fatalf("default: %+v (want on, with the public routers)", c)
	}
	for _, args := range [][]string{{"--no-dht"}, {"--dht=false"}} {
		g, err := parseDHT(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if c := g.dht.config(); c.Enabled {
			t.Fatalf("%q: %+v", args, c)
		}
	}
	g, err = parseDHT(t, "--dht-bootstrap", "127.0.0.1:6881, [::1]:7000", "--dht-listen", "127.0.0.1:0",
		"--dht-lookup-interval", "2s")
	if err != nil {
		t.Fatal(err)
	}
	c := g.dht.config()
	if !c.Enabled || !slices.Equal(c.Bootstrap, []string{"127.0.0.1:6881", "[::1]:7000"}) ||
		c.Listen != "127.0.0.1:0" || c.LookupInterval != 2*time.Second {
		t.Fatalf("bootstrap config %+v", c)
	}
	for _, bad := range [][]string{
		{"--dht-bootstrap", "nohost"},
		{"--dht-bootstrap", "h:0"},
		{"--dht-bootstrap", "127.0.0.1:99999"},
		{"--dht-bootstrap", ""}, // an empty script variable must not mean the public routers
		{"--no-dht", "--dht-bootstrap", ""},
		{"--no-dht", "--dht-bootstrap", "127.0.0.1:1"},
		{"--dht-listen", "a b:1"},
		{"--dht-lookup-interval", "1ms"},
	} {
		if _, err := parseDHT(t, bad...); err == nil || !strings.Contains(err.Error(), "dht") {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}
