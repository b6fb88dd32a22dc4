package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPprofFlagLoopbackOnly(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.1:6060", "example.com:1", "nonsense"} {
		var p pprofFlag
		if err := p.Set(bad); err == nil {
			t.Errorf("--pprof %s accepted", bad)
		}
	}
	for _, good := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		var p pprofFlag
		if err := p.Set(good); err != nil {
			t.Errorf("--pprof %s: %v", good, err)
		}
	}
}

func TestPprofServesAndStops(t *testing.T) {
	var p pprofFlag
	var log strings.Builder
	if err := p.Set("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	stop, err := p.start(&log)
	if err != nil {
		t.Fatal(err)
	}
	_, url, _ := strings.Cut(strings.TrimSpace(log.String()), "pprof on ")
	resp, err := http.Get(url + "goroutine?debug=1")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("%s: %d %.100s", url, resp.StatusCode, body)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("still serving after stop")
	}
	var none pprofFlag
	stop, err = none.start(&log)
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
