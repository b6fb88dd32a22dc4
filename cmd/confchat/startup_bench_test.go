package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"confchat/conference"
	"confchat/identity"
	"confchat/node"
	"confchat/storage"
	"confchat/tui"
)

// Sizes of the start-up benchmark's profile (issue 8): 100 conferences
// and 1,000,000 stored messages; 10,000 lines of scroll-back.
const (
	benchConfs    = 100
	benchMessages = 1_000_000
	benchScroll   = 10_000
)

// BenchmarkTUIStartup builds a profile with 100 conferences and
// 1,000,000 messages, then starts the chat on it in a fresh process and
// prints metric lines: time to the first frame (node.Open, the TUI's
// Load and the first View), resident memory after it, and the slowest
// and 99th-percentile frame while scrolling back 10,000 lines at
// 120x40, and, once the node has restored every conference's engine in
// the background, the time that took and the resident memory then.
// Targets: first frame < 200 ms, RSS < 150 MB, frames < 16 ms.
//
// CONFCHAT_BENCH_PROFILE=DIR reuses (or creates) a profile in DIR, so a
// second run skips the minute it takes to write it.
func BenchmarkTUIStartup(b *testing.B) {
	dir := os.Getenv("CONFCHAT_BENCH_PROFILE")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "profile")
	}
	if _, err := os.Stat(filepath.Join(dir, ".bench-complete")); err != nil {
		start := time.Now()
		if err := writeBenchProfile(dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote the profile in %v", time.Since(start).Round(time.Second))
		os.WriteFile(filepath.Join(dir, ".bench-complete"), nil, 0o600)
	}
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTUIStartupChild$", "-test.v")
		cmd.Env = append(os.Environ(), "CONFCHAT_STARTUP_CHILD="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			f := strings.Fields(line)
			if len(f) == 4 && f[0] == "metric" {
				fmt.Println(line)
				if v, err := strconv.ParseFloat(f[2], 64); err == nil {
					b.ReportMetric(v, f[3]+"_"+f[1])
				}
			}
		}
	}
}

// TestTUIStartupChild is the measuring half of BenchmarkTUIStartup; it
// runs only in the process the benchmark starts.
func TestTUIStartupChild(t *testing.T) {
	dir := os.Getenv("CONFCHAT_STARTUP_CHILD")
	if dir == "" {
		t.Skip("run by BenchmarkTUIStartup")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	n, err := node.Open(ctx, node.Config{Profile: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Since(start)
	defer n.Close(context.Background())
	sub := n.Subscribe()
	defer sub.Close()
	snap, err := tui.Load(ctx, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	app := tui.New(ctx, n, sub, snap, tui.Options{NoTicks: true})
	app.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	frame := app.View().Content
	first := time.Since(start)
	if !strings.Contains(frame, "bench message") {
		t.Fatalf("first frame lacks the stored messages:\n%s", frame)
	}
	fmt.Printf("metric tui_node_open %.1f ms\n", ms(opened))
	fmt.Printf("metric tui_first_frame %.1f ms\n", ms(first))
	fmt.Printf("metric tui_first_frame_after_open %.1f ms\n", ms(first-opened))
	fmt.Printf("metric tui_rss_after_first_frame %.1f MB\n", rssMB())

	// Scroll back 10,000 lines a page at a time. Each frame is the
	// Update of one PgUp and the View after it; history pages the TUI
	// asks for load as they would in the program (a Cmd off the frame)
	// and their arrival is a frame too.
	var frames []time.Duration
	lines := 0
	for lines < benchScroll {
		t0 := time.Now()
		_, cmd := app.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
		app.View()
		frames = append(frames, time.Since(t0))
		lines += 40 - 5
		for _, m := range runCmds(cmd) {
			t1 := time.Now()
			app.Update(m)
			app.View()
			frames = append(frames, time.Since(t1))
		}
	}
	if v := app.View().Content; strings.Contains(v, "start of the conversation") {
		t.Fatalf("scrolled past the whole history: the conference holds fewer than %d lines", benchScroll)
	}
	slices.Sort(frames)
	fmt.Printf("metric tui_scroll_frames %d count\n", len(frames))
	fmt.Printf("metric tui_scroll_frame_max %.2f ms\n", ms(frames[len(frames)-1]))
	fmt.Printf("metric tui_scroll_frame_p99 %.2f ms\n", ms(frames[len(frames)*99/100]))
	fmt.Printf("metric tui_rss_after_scroll %.1f MB\n", rssMB())

	// The node restores the engines in the background (one conference
	// per idle loop turn); memory once every one of them runs is what a
	// long session keeps.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		infos, err := n.Conferences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(infos, func(c node.ConferenceInfo) bool { return c.Loading }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node did not restore every conference within 2 minutes")
		}
		time.Sleep(250 * time.Millisecond) // a front end's pace, not a busy poll
	}
	fmt.Printf("metric tui_all_restored %.0f ms\n", ms(time.Since(start)))
	fmt.Printf("metric tui_rss_all_restored %.1f MB\n", rssMB())
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	fmt.Printf("metric tui_heap_all_restored %.1f MB\n", float64(mem.HeapAlloc)/(1<<20))
}

// runCmds runs a Cmd and the batches it returns, and gives back the
// messages; a Cmd that waits for node events is left behind after 2 s.
func runCmds(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var m tea.Msg
	select {
	case m = <-ch:
	case <-time.After(2 * time.Second):
		return nil
	}
	if batch, ok := m.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range batch {
			out = append(out, runCmds(c)...)
		}
		return out
	}
	if m == nil {
		return nil
	}
	return []tea.Msg{m}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rssMB is this process's resident set size from /proc (0 elsewhere).
func rssMB() float64 {
	runtime.GC()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return kb / 1024
		}
	}
	return 0
}

// writeBenchProfile writes benchConfs conferences with benchMessages
// messages in all from four other members each, straight into SQLite,
// the way the node stores them (with their fingerprints, schema 5).
func writeBenchProfile(dir string) error {
	ctx := context.Background()
	db, err := storage.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, _, err := db.LoadIdentity(ctx, rand.Reader); err != nil {
		return err
	}
	var others [4]*identity.KeyPair
	for i := range others {
		if others[i], err = identity.Generate(rand.Reader); err != nil {
			return err
		}
	}
	perConf := benchMessages / benchConfs
	base := time.Now().Add(-24 * time.Hour)
	for c := range benchConfs {
		var id identity.ConferenceID
		rand.Read(id[1:])
		err := db.Update(ctx, func(tx *storage.Tx) error {
			if err := tx.PutConference(ctx, storage.Conference{ID: id, Title: fmt.Sprintf("bench %03d", c),
				State: storage.ConferenceJoined, NextNumber: 1, Connected: true, CreatedAt: base}); err != nil {
				return err
			}
			for i, o := range others {
				if err := tx.PutPeer(ctx, storage.Peer{Conference: id, Key: o.Public(), Number: uint16(i + 1),
					Name: fmt.Sprintf("peer%d", i), Addresses: []string{"127.0.0.1:9"}, LastActive: base,
					HighestSeen: uint32(perConf)}); err != nil {
					return err
				}
			}
			for m := range perConf {
				o := others[m%len(others)]
				num := uint32(m/len(others) + 1)
				body := binary.BigEndian.AppendUint32(nil, num-1)
				body = append(body, fmt.Sprintf("bench message %d in conference %d, long enough to look like chat", m, c)...)
				at := base.Add(time.Duration(m) * time.Second)
				sig := make([]byte, 64)
				row := conference.MessageRow{Origin: o.Public(), Number: num, Prev: num - 1, Kind: conference.KindMessage,
					Body: body, Signature: sig}
				if _, err := tx.InsertMessage(ctx, storage.Message{Conference: id, Origin: o.Public(), Number: num,
					Prev: num - 1, Kind: conference.KindMessage, Body: body, Signature: sig,
					SentAt: at, ReceivedAt: at, Fingerprint: row.ComputeFingerprint(conference.ID(id))}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
