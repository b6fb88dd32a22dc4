package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// natLab is a small internet built of network namespaces (issue 13): a
// "public" segment (a bridge in namespace pub, 45.45.0.0/24) where the
// relay runs at 45.45.0.10, and home networks, each behind its own NAT
// router namespace: router i has 45.45.0.(i+1) on the public side and
// 192.168.(i+1).1 on its home side, and home i has one host at
// 192.168.(i+1).2 whose default route is its router. The public block is
// an ordinary unicast one (isolated inside the namespaces) because
// miniupnpd refuses to map ports on a reserved or private external
// address. Every namespace is created by the test and removed by its
// cleanup.
//
// A router masquerades what leaves its public side (nftables). Mode
// "eim" keeps the source port (Linux's default, endpoint-independent for
// a host that dials from one port); "symmetric" picks a random port per
// connection (address-and-port-dependent mapping). Either way it drops
// unsolicited TCP arriving at its public side, as home routers do.
type natLab struct {
	t       *testing.T
	prefix  string
	pub     string
	routers []string
	homes   []string
	procs   []*exec.Cmd
	mu      sync.Mutex
}

const natPub = "45.45.0"

func newNATLab(t *testing.T, modes ...string) *natLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns NAT: needs root to create network namespaces")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("netns NAT: %s not installed (apt-get install -y iproute2 nftables)", tool)
		}
	}
	l := &natLab{t: t, prefix: fmt.Sprintf("ccn%d", os.Getpid()%100000)}
	l.pub = l.prefix + "pub"
	if out, err := exec.Command("ip", "netns", "add", l.pub).CombinedOutput(); err != nil {
		t.Skipf("netns NAT: ip netns unavailable here: %v: %s", err, out)
	}
	t.Cleanup(l.close)
	l.ns(l.pub, "ip", "link", "set", "lo", "up")
	l.ns(l.pub, "ip", "link", "add", "br0", "type", "bridge")
	l.ns(l.pub, "ip", "link", "set", "br0", "up")
	l.ns(l.pub, "ip", "addr", "add", natPub+".10/24", "dev", "br0")
	for i, mode := range modes {
		r, h := fmt.Sprintf("%sr%d", l.prefix, i), fmt.Sprintf("%sh%d", l.prefix, i)
		l.run("ip", "netns", "add", r)
		l.routers = append(l.routers, r)
		l.run("ip", "netns", "add", h)
		l.homes = append(l.homes, h)
		wan, wanPeer := l.wan(i), fmt.Sprintf("%sp%d", l.prefix, i)
		lan, lanPeer := fmt.Sprintf("%sl%d", l.prefix, i), fmt.Sprintf("%sm%d", l.prefix, i)
		l.run("ip", "link", "add", wan, "netns", r, "type", "veth", "peer", "name", wanPeer, "netns", l.pub)
		l.ns(l.pub, "ip", "link", "set", wanPeer, "master", "br0")
		l.ns(l.pub, "ip", "link", "set", wanPeer, "up")
		l.run("ip", "link", "add", lan, "netns", r, "type", "veth", "peer", "name", lanPeer, "netns", h)
		l.ns(r, "ip", "link", "set", "lo", "up")
		l.ns(r, "ip", "addr", "add", l.routerIP(i)+"/24", "dev", wan)
		l.ns(r, "ip", "link", "set", wan, "up")
		l.ns(r, "ip", "addr", "add", fmt.Sprintf("192.168.%d.1/24", i+1), "dev", lan)
		l.ns(r, "ip", "link", "set", lan, "up")
		l.ns(r, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
		l.ns(h, "ip", "link", "set", "lo", "up")
		l.ns(h, "ip", "addr", "add", l.homeIP(i)+"/24", "dev", lanPeer)
		l.ns(h, "ip", "link", "set", lanPeer, "up")
		l.ns(h, "ip", "route", "add", "default", "via", fmt.Sprintf("192.168.%d.1", i+1))
		masq := "masquerade"
		if mode == "symmetric" {
			masq = "masquerade fully-random"
		}
		l.nft(r, fmt.Sprintf(`table ip ccnat {
	chain post { type nat hook postrouting priority 100; policy accept; oifname "%s" %s; }
	chain inp {
		type filter hook input priority 0; policy accept;
		iifname "%s" ct state established,related accept;
		iifname "%s" meta l4proto tcp drop;
	}
}
`, wan, masq, wan, wan))
	}
	return l
}

func (l *natLab) wan(i int) string        { return fmt.Sprintf("%sw%d", l.prefix, i) }
func (l *natLab) routerIP(i int) string   { return fmt.Sprintf("%s.%d", natPub, i+1) }
func (l *natLab) homeIP(i int) string     { return fmt.Sprintf("192.168.%d.2", i+1) }
func (l *natLab) relayHostPort() string   { return natPub + ".10:7447" }
func (l *natLab) mappedAddr(i int) string { return l.routerIP(i) + ":7400" }
func (l *natLab) homeListen(i int) string { return l.homeIP(i) + ":7400" }
func (l *natLab) run(args ...string)      { l.t.Helper(); mustRun(l.t, args...) }
func (l *natLab) ns(ns string, a ...string) {
	l.t.Helper()
	l.run(append([]string{"ip", "netns", "exec", ns}, a...)...)
}

func mustRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (l *natLab) nft(ns, rules string) {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft in %s: %v: %s", ns, err, out)
	}
}

// nftList returns namespace ns's ruleset.
func (l *natLab) nftList(ns string) string {
	out, _ := exec.Command("ip", "netns", "exec", ns, "nft", "list", "ruleset").CombinedOutput()
	return string(out)
}

func (l *natLab) close() {
	l.mu.Lock()
	for _, p := range l.procs {
		if p.ProcessState == nil {
			p.Process.Signal(syscall.SIGKILL)
			p.Wait()
		}
	}
	l.mu.Unlock()
	for _, name := range append(append(slices.Clone(l.homes), l.routers...), l.pub) {
		exec.Command("ip", "netns", "del", name).Run()
	}
}

// startRelay runs `confchat relay` in the public segment and returns its
// address (KEY@host:port as printed).
func (l *natLab) startRelay() string {
	t := l.t
	t.Helper()
	stderr := &lockedBuffer{}
	cmd := exec.Command("ip", "netns", "exec", l.pub, builtBinary(), "relay", "--listen", l.relayHostPort(),
		"--profile", filepath.Join(t.TempDir(), "relay"))
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, cmd)
	l.mu.Unlock()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		return strings.TrimSpace(line)
	case <-time.After(20 * time.Second):
		t.Fatalf("relay printed no address\nstderr:\n%s", tail(stderr.String()))
	}
	return ""
}

// startMiniUPnPd runs miniupnpd (nftables backend) in router i, mapping
// on its public side for clients of its home network, with its rules in
// a table of the test's own. It skips the test when miniupnpd is missing.
func (l *natLab) startMiniUPnPd(i int, upnp bool) *lockedBuffer {
	t := l.t
	t.Helper()
	path, err := exec.LookPath("miniupnpd")
	if err != nil {
		path, err = "/usr/sbin/miniupnpd", nil
		if _, serr := os.Stat(path); serr != nil {
			err = serr
		}
	}
	if err != nil {
		t.Skip("netns NAT upnp: miniupnpd not installed (apt-get install -y miniupnpd-nftables)")
	}
	r := l.routers[i]
	l.nft(r, `table inet ccupnp {
	chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
	chain miniupnpd { }
	chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
	chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
	chain prerouting_miniupnpd { }
	chain postrouting_miniupnpd { }
}
`)
	dir := t.TempDir()
	conf := filepath.Join(dir, "miniupnpd.conf")
	body := fmt.Sprintf(`ext_ifname=%s
listening_ip=%sl%d
port=0
enable_natpmp=yes
enable_upnp=%s
secure_mode=yes
system_uptime=yes
uuid=3f6e1a4e-1111-4a2b-9c3d-%012d
upnp_table_name=ccupnp
upnp_nat_table_name=ccupnp
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
lease_file=%s
allow 1024-65535 192.168.%d.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`, l.wan(i), l.prefix, i, yesNo(upnp), i+1, filepath.Join(dir, "leases"), i+1)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &lockedBuffer{}
	cmd := exec.Command("ip", "netns", "exec", r, path, "-f", conf, "-d", "-4", "-P", filepath.Join(dir, "pid"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, cmd)
	l.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("miniupnpd log:\n%s", tail(log.String()))
		}
	})
	eventually(t, 10*time.Second, "miniupnpd listening", func() error {
		if !strings.Contains(log.String(), "Listening for NAT-PMP") {
			return fmt.Errorf("log: %s", tail(log.String()))
		}
		return nil
	})
	return log
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// selfAddresses is b's self.get addresses.
func (b *bot) selfAddresses() []string {
	var r struct {
		Addresses []string `json:"addresses"`
	}
	b.call("self.get", nil, &r)
	return r.Addresses
}

// addFriendAt asks b to befriend peer at addr and waits for both to be
// online (peer runs with --accept-friends).
func addFriendAt(t *testing.T, from, to *bot, addr string) {
	t.Helper()
	from.call("friend.add", map[string]any{"id": to.id, "address": addr, "message": "hi from " + from.name}, nil)
	from.waitNote("friend.online", 30*time.Second, hasKey(to.key))
	to.waitNote("friend.online", 30*time.Second, hasKey(from.key))
}

// chatBothWays sends one message each way in conf and waits for it.
func chatBothWays(t *testing.T, conf string, a, b *bot) {
	t.Helper()
	for _, p := range [][2]*bot{{a, b}, {b, a}} {
		text := fmt.Sprintf("hello from %s through the NAT", p[0].name)
		p[0].call("conference.send", map[string]any{"conference": conf, "text": text}, nil)
		p[1].waitNote("conference.message", 20*time.Second, func(raw json.RawMessage) bool {
			var m struct {
				Text string `json:"text"`
			}
			json.Unmarshal(raw, &m)
			return m.Text == text
		})
	}
}

// Two bots at home behind symmetric NAT routers, with nothing mapped:
// they befriend through the relay in the public segment and chat over
// it; hole punching fails cleanly (each side's punch leaves from another
// public port than the relay saw), friend.list says why, the session
// stays on the relay and chat keeps working.
func TestNetnsNATRelay(t *testing.T) {
	lab := newNATLab(t, "symmetric", "symmetric")
	relayAddr := lab.startRelay()
	a := startNSBot(t, lab.homes[0], lab.homeIP(0), "ann", "--accept-friends", "--auto-join", "--no-portmap", "--relay", relayAddr)
	b := startNSBot(t, lab.homes[1], lab.homeIP(1), "ben", "--accept-friends", "--auto-join", "--no-portmap", "--relay", relayAddr)
	a.waitRegistered(20 * time.Second)
	b.waitRegistered(20 * time.Second)
	// ann knows only ben's home address, which no one outside reaches.
	addFriendAt(t, a, b, lab.homeListen(1))
	for _, p := range [][2]*bot{{a, b}, {b, a}} {
		if f := p[0].friend(p[1].key); !f.Online || f.Route != "relay" {
			t.Fatalf("%s lists %s as %+v, want online over the relay", p[0].name, p[1].name, f)
		}
	}
	online := time.Now()
	conf := conferenceOf(t, a, "behind NAT", b)
	waitActive(t, conf, 20*time.Second, a, b)
	chatBothWays(t, conf, a, b)

	for _, p := range [][2]*bot{{a, b}, {b, a}} {
		eventually(t, 45*time.Second, p[0].name+" reports the failed punch", func() error {
			f := p[0].friend(p[1].key)
			if f.DirectFailed == "" {
				return fmt.Errorf("%s lists %s as %+v", p[0].name, p[1].name, f)
			}
			if f.Route != "relay" || f.Via != "relay" {
				t.Fatalf("%s lists %s as %+v after a failed punch, want the relay", p[0].name, p[1].name, f)
			}
			return nil
		})
	}
	fmt.Printf("metric nat_symmetric_punch_failed_after %.3f s\n", time.Since(online).Seconds())
	fmt.Printf("metric nat_symmetric_direct_path none (stays on the relay)\n")
	chatBothWays(t, conf, a, b)
	if f := a.friend(b.key); f.Route != "relay" {
		t.Fatalf("after the failed punch ann lists ben as %+v", f)
	}
}

// waitDirect polls x's friend.list until peer's session runs direct and
// returns when it first did.
func waitDirect(t *testing.T, x *bot, peer string, timeout time.Duration) (friendEntry, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f := x.friend(peer)
		if f.Route == "direct" && f.Via == "hole punch" {
			return f, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the session never moved to a hole-punched direct path: %+v\nstderr:\n%s", x.name, f, tail(x.stderr.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Hole punching behind two endpoint-independent NATs: the bots befriend
// through the relay, then punch a direct path (coordinated over the
// relayed session) and their session migrates to it.
//
//   - "clean": the time from the relayed session to the direct path;
//   - "stream": the punch path is blocked at first (the first attempt
//     fails and is retried with backoff), a stream of 1,000 messages
//     starts, the block is lifted, and the session moves to the direct
//     path while the messages arrive exactly once and in order.
func TestNetnsNATHolePunch(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		lab := newNATLab(t, "eim", "eim")
		a, b := punchPair(t, lab)
		online := time.Now()
		addFriendAt(t, a, b, lab.homeListen(1))
		relayed := time.Since(online)
		_, at := waitDirect(t, a, b.key, 60*time.Second)
		waitDirect(t, b, a.key, 20*time.Second)
		fmt.Printf("metric nat_punch_befriend_over_relay %.3f s\n", relayed.Seconds())
		fmt.Printf("metric nat_punch_relay_to_direct %.3f s\n", at.Sub(online).Seconds()-relayed.Seconds())
		conf := conferenceOf(t, a, "punched", b)
		waitActive(t, conf, 20*time.Second, a, b)
		chatBothWays(t, conf, a, b)
	})
	t.Run("stream", func(t *testing.T) {
		lab := newNATLab(t, "eim", "eim")
		// Block the direct path at both hosts (their SYNs to each other's
		// public side never leave home), so the routers keep no state of
		// the failed attempts.
		for i := range 2 {
			lab.nft(lab.homes[i], fmt.Sprintf(`table ip ccblock {
	chain blk { type filter hook output priority 0; policy accept; ip daddr %s tcp dport 7400 drop; }
}
`, lab.routerIP(1-i)))
		}
		a, b := punchPair(t, lab)
		addFriendAt(t, a, b, lab.homeListen(1))
		conf := conferenceOf(t, a, "stream", b)
		waitActive(t, conf, 20*time.Second, a, b)
		eventually(t, 45*time.Second, "the first punch fails", func() error {
			if f := a.friend(b.key); f.DirectFailed == "" || f.Route != "relay" {
				return fmt.Errorf("ann lists ben as %+v", f)
			}
			return nil
		})
		const total = 1000
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			for i := range total {
				if err := a.try("conference.send", map[string]any{"conference": conf, "text": fmt.Sprintf("m%04d", i)}, nil); err != nil {
					t.Errorf("send %d: %v", i, err)
					return
				}
				time.Sleep(8 * time.Millisecond)
			}
		}()
		time.Sleep(200 * time.Millisecond)
		for i := range 2 {
			lab.ns(lab.homes[i], "nft", "delete", "table", "ip", "ccblock")
		}
		unblocked := time.Now()
		_, at := waitDirect(t, a, b.key, 60*time.Second)
		select {
		case <-sent:
			t.Fatal("the stream ended before the session moved to the direct path")
		default:
		}
		<-sent
		fmt.Printf("metric nat_punch_unblock_to_direct %.3f s\n", at.Sub(unblocked).Seconds())
		var got []string
		eventually(t, 60*time.Second, "every message at ben", func() error {
			got = got[:0]
			for _, raw := range b.notesOf("conference.message") {
				var m struct {
					Text string `json:"text"`
				}
				json.Unmarshal(raw, &m)
				if strings.HasPrefix(m.Text, "m") && len(m.Text) == 5 {
					got = append(got, m.Text)
				}
			}
			if len(got) < total {
				return fmt.Errorf("%d of %d", len(got), total)
			}
			return nil
		})
		if len(got) != total {
			t.Fatalf("ben got %d messages, want exactly %d", len(got), total)
		}
		for i, m := range got {
			if want := fmt.Sprintf("m%04d", i); m != want {
				t.Fatalf("message %d is %q, want %q (lost, doubled or reordered)", i, m, want)
			}
		}
		var phases []string
		for _, n := range a.routeNotes(b.key) {
			phases = append(phases, n.Route+"/"+n.Switch)
		}
		if !slices.Contains(phases, "relay/switching") || phases[len(phases)-1] != "direct/" {
			t.Fatalf("ann's connection.route for ben: %q, want relay/switching, then direct/", phases)
		}
		for _, p := range [][2]*bot{{a, b}, {b, a}} {
			if f := p[0].friend(p[1].key); f.Route != "direct" || f.Via != "hole punch" || f.DirectFailed != "" {
				t.Fatalf("after the stream %s lists %s as %+v, want direct via hole punch", p[0].name, p[1].name, f)
			}
		}
	})
}

// punchPair starts a relay and one bot in each home (no port mapping).
func punchPair(t *testing.T, lab *natLab) (a, b *bot) {
	t.Helper()
	relayAddr := lab.startRelay()
	a = startNSBot(t, lab.homes[0], lab.homeIP(0), "ann", "--accept-friends", "--auto-join", "--no-portmap", "--relay", relayAddr)
	b = startNSBot(t, lab.homes[1], lab.homeIP(1), "ben", "--accept-friends", "--auto-join", "--no-portmap", "--relay", relayAddr)
	a.waitRegistered(20 * time.Second)
	b.waitRegistered(20 * time.Second)
	return a, b
}

// A port-mapping router (miniupnpd) in ann's router: her node gets a
// mapping of its listening port and announces it, ben (behind his own
// NAT) dials it directly, friend.list says "mapping", and the mapping is
// removed when ann's node exits. "upnp": the router speaks UPnP IGD (and
// NAT-PMP; UPnP is asked first); "natpmp": NAT-PMP only, so the node
// falls back to it after the SSDP search finds nothing.
func TestNetnsNATUPnP(t *testing.T) {
	for _, proto := range []string{"upnp", "natpmp"} {
		t.Run(proto, func(t *testing.T) { netnsMapping(t, proto) })
	}
}

func netnsMapping(t *testing.T, proto string) {
	lab := newNATLab(t, "eim", "eim")
	igdLog := lab.startMiniUPnPd(0, proto == "upnp")
	relayAddr := lab.startRelay()
	start := time.Now()
	a := startNSBot(t, lab.homes[0], lab.homeIP(0), "ann", "--accept-friends", "--auto-join", "--relay", relayAddr)
	b := startNSBot(t, lab.homes[1], lab.homeIP(1), "ben", "--accept-friends", "--auto-join", "--no-portmap", "--relay", relayAddr)
	mapped := lab.mappedAddr(0)
	eventually(t, 30*time.Second, "ann announces her mapped address", func() error {
		if got := a.selfAddresses(); !slices.Contains(got, mapped) {
			return fmt.Errorf("ann announces %q, want %s among them", got, mapped)
		}
		return nil
	})
	mappedAfter := time.Since(start)
	// The router says which protocol asked (miniupnpd's debug log).
	asked := map[string]string{"upnp": "#AddPortMapping", "natpmp": "NAT-PMP port mapping request"}
	if log := igdLog.String(); !strings.Contains(log, asked[proto]) {
		t.Fatalf("the router saw no %s mapping request:\n%s", proto, tail(log))
	}
	if rules := lab.nftList(lab.routers[0]); !strings.Contains(rules, "dport 7400") {
		t.Fatalf("router has no rule for port 7400:\n%s", rules)
	}

	t0 := time.Now()
	addFriendAt(t, b, a, mapped)
	direct := time.Since(t0)
	for _, p := range [][2]*bot{{a, b}, {b, a}} {
		if f := p[0].friend(p[1].key); !f.Online || f.Route != "direct" || f.Via != "mapping" {
			t.Fatalf("%s lists %s as %+v, want online on a direct path via the mapping", p[0].name, p[1].name, f)
		}
	}
	conf := conferenceOf(t, b, "mapped", a)
	waitActive(t, conf, 20*time.Second, a, b)
	chatBothWays(t, conf, a, b)
	fmt.Printf("metric nat_%s_mapping_announced %.3f s\n", proto, mappedAfter.Seconds())
	fmt.Printf("metric nat_%s_direct_session %.3f s\n", proto, direct.Seconds())

	a.stop() // a clean exit deletes the mapping
	eventually(t, 15*time.Second, "the mapping removed", func() error {
		if rules := lab.nftList(lab.routers[0]); strings.Contains(rules, "dport 7400") {
			return fmt.Errorf("router still maps port 7400:\n%s", rules)
		}
		return nil
	})
}
