package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"confchat/identity"
	"confchat/node"
)

func TestSendShowsAtOnceThenPendingThenDelivered(t *testing.T) {
	f := withConversation()
	f.nextNum = 7
	h := newHarness(t, f, 120, 40)
	h.enter("hello there")
	if !f.called("send hello there") {
		t.Fatal("message not handed to the node")
	}
	h.mustSee("<alice> hello there [pending]")
	if h.app.input.value() != "" {
		t.Fatalf("input not cleared: %q", h.app.input.value())
	}
	num := h.app.current.entries[len(h.app.current.entries)-1].number
	h.event(node.MessageDelivered{Conference: roomID, UpTo: num})
	h.mustNotSee("[pending]")
}

func TestSendFailureKeepsTheText(t *testing.T) {
	f := withConversation()
	f.sendErr = errFake
	h := newHarness(t, f, 120, 40)
	h.enter("do not lose me")
	if got := h.app.input.value(); got != "do not lose me" {
		t.Fatalf("input after a failed send = %q", got)
	}
	h.mustSee("not sent: disk on fire")
	h.mustNotSee("<alice> do not lose me")
}

func TestBadIDIsReadableAndInputKept(t *testing.T) {
	h := newHarness(t, newFakeNode(), 120, 40)
	id := newFakeNode().self.ID.String()
	bad := id[:len(id)-1] + string("0123456789ABCDEF"[(strings.IndexByte("0123456789ABCDEF", id[len(id)-1])+1)%16])
	h.enter("/add " + bad + " 127.0.0.1:1")
	h.mustSee("checksum does not match")
	if !strings.HasPrefix(h.app.input.value(), "/add ") {
		t.Fatalf("input lost: %q", h.app.input.value())
	}
	h.mustNotSee("identity:")
}

func TestAddFriend(t *testing.T) {
	f := newFakeNode()
	h := newHarness(t, f, 120, 40)
	other := identity.ID{Key: bobKey, Nospam: 7}
	h.enter("/add " + other.String() + " 127.0.0.1:4000 hi there")
	if !f.called("add " + bobKey.Short() + " 127.0.0.1:4000 hi there") {
		t.Fatalf("calls %q", f.calls)
	}
	h.mustSee("friend request sent")
}

func TestUnknownCommand(t *testing.T) {
	h := newHarness(t, newFakeNode(), 80, 24)
	h.enter("/frobnicate now")
	h.mustSee("unknown command /frobnicate")
	if h.app.input.value() != "/frobnicate now" {
		t.Fatal("input not kept")
	}
}

func TestTabCompletesCommandsAndNames(t *testing.T) {
	h := newHarness(t, withConversation(), 120, 40)
	h.typeText("/inv")
	h.press("tab")
	if got := h.app.input.value(); got != "/invite" {
		t.Fatalf("completed to %q", got)
	}
	h.press("tab")
	if got := h.app.input.value(); got != "/invites " && got != "/invite " {
		t.Fatalf("cycle gave %q", got)
	}
	h.app.input.reset()
	h.typeText("/invite ca")
	h.press("tab")
	if got := h.app.input.value(); got != "/invite carol" {
		t.Fatalf("friend completion gave %q", got)
	}
	h.app.input.reset()
	h.typeText("bo")
	h.press("tab")
	if got := h.app.input.value(); got != "bob: " {
		t.Fatalf("nick completion gave %q", got)
	}
	h.app.input.reset()
	h.typeText("/join Te")
	h.press("tab")
	if got := h.app.input.value(); !strings.HasPrefix(got, "/join Te") {
		t.Fatalf("join completion gave %q", got)
	}
}

func TestInviteByNameAndAmbiguity(t *testing.T) {
	f := withConversation()
	f.friends = append(f.friends, node.FriendInfo{Key: daveKey, Name: "bob", Confirmed: true})
	h := newHarness(t, f, 120, 40)
	h.enter("/invite bob")
	h.mustSee("matches")
	if f.called("invite") {
		t.Fatal("invited despite two bobs")
	}
	h.app.input.reset()
	h.enter("/invite " + daveKey.String()[:8])
	if !f.called("invite " + daveKey.Short()) {
		t.Fatalf("calls %q", f.calls)
	}
	h.app.input.reset()
	h.enter("/invite zed")
	h.mustSee(`no one called "zed"`)
}

func TestSwitchConferencesAndUnread(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	if h.app.current.id != roomID {
		t.Fatal("first conference not shown first")
	}
	h.typeText("draft in room")
	h.press("ctrl+n")
	if h.app.current.id != teamID {
		t.Fatal("ctrl+n did not move to the next conference")
	}
	if h.app.input.value() != "" {
		t.Fatal("draft followed to another conference")
	}
	h.press("alt+1")
	if h.app.current.id != roomID || h.app.input.value() != "draft in room" {
		t.Fatalf("alt+1: current %v, draft %q", h.app.current.id.Short(), h.app.input.value())
	}
	h.event(node.MessageReceived{Conference: teamID, Message: node.Message{Seq: 50, From: daveKey, Name: "dave", Text: "hey alice, look", Time: testNow}})
	b := h.app.byID[teamID]
	if b.unread != 1 || !b.mention {
		t.Fatalf("team unread %d mention %v", b.unread, b.mention)
	}
	h.press("alt+a")
	if h.app.current.id != teamID || b.unread != 0 {
		t.Fatal("alt+a did not go to the unread conference")
	}
	h.mustSee("hey alice, look")
}

func TestScrolledUpIsNotYanked(t *testing.T) {
	f := withConversation()
	for i := range 200 {
		f.history[roomID] = append(f.history[roomID], msgAt(int64(100+i), bobKey, "bob", "line "+itoa(i), 10, false))
	}
	h := newHarness(t, f, 80, 24)
	h.press("pgup")
	before := h.screen()
	h.event(node.MessageReceived{Conference: roomID, Message: node.Message{Seq: 900, From: bobKey, Name: "bob", Text: "brand new", Time: testNow}})
	h.mustSee("1 new message below")
	if strings.Contains(h.screen(), "brand new") {
		t.Fatal("view yanked to the bottom")
	}
	_ = before
	h.press("end")
	h.mustSee("brand new")
	h.mustNotSee("new message below")
}

func TestScrollBackLoadsOlderHistory(t *testing.T) {
	f := withConversation()
	var hs []node.HistoryEntry
	for i := range 300 {
		hs = append(hs, msgAt(int64(i+1), bobKey, "bob", "old "+itoa(i), 1, false))
	}
	f.history[roomID] = hs
	h := newHarness(t, f, 80, 24)
	if n := len(h.app.current.entries); n != 50 {
		t.Fatalf("first page holds %d entries", n)
	}
	for range 30 {
		h.press("pgup")
	}
	if n := len(h.app.current.entries); n <= 50 {
		t.Fatalf("scrolling back loaded nothing: %d entries", n)
	}
	for range 200 {
		h.press("pgup")
	}
	h.mustSee("old 0")
	h.mustSee("start of the conversation")
}

func TestJoinStormCollapses(t *testing.T) {
	h := newHarness(t, withConversation(), 120, 40)
	var msgs []tea.Msg
	for i := range 8 {
		msgs = append(msgs, eventMsg{ev: node.PeerJoined{Conference: roomID, Peer: pk(byte(i + 1)), Name: "peer" + itoa(i)}})
	}
	h.send(msgs...)
	want := "8 peers joined or came back: peer0, peer1, peer2, peer3, peer4 and 3 more"
	n := 0
	for _, e := range h.app.current.entries {
		if strings.Contains(e.text, "joined") {
			n++
			if e.text != want {
				t.Errorf("line %q, want %q", e.text, want)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d join lines, want one summary", n)
	}
	h.event(node.PeerUnfrozen{Conference: roomID, Peer: bobKey, Name: "bob"})
	h.mustSee("bob is back")
}

func TestLeaveAsksFirst(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.enter("/leave")
	h.mustSee("[y/N]")
	h.press("n")
	if f.called("leave") {
		t.Fatal("left without a yes")
	}
	h.enter("/leave")
	h.typeText("y")
	if !f.called("leave " + roomID.Short()) {
		t.Fatal("y did not leave")
	}
}

func TestCloseHidesAndJoinReopens(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.enter("/close")
	if !f.called("hide " + roomID.Short()) {
		t.Fatal("not hidden in the node")
	}
	if h.app.index(h.app.byID[roomID]) >= 0 {
		t.Fatal("closed conference still listed")
	}
	h.enter("/join Tea room")
	if !f.called("unhide "+roomID.Short()) || h.app.current.id != roomID {
		t.Fatal("/join did not reopen it")
	}
}

func TestQuitNeedsTwoCtrlC(t *testing.T) {
	h := newHarness(t, withConversation(), 80, 24)
	h.press("ctrl+c")
	if h.quit {
		t.Fatal("one ctrl+c quit")
	}
	h.mustSee("press Ctrl+C again to quit")
	h.press("ctrl+c")
	if !h.quit {
		t.Fatal("second ctrl+c did not quit")
	}
	h2 := newHarness(t, withConversation(), 80, 24)
	h2.enter("/quit")
	if !h2.quit {
		t.Fatal("/quit did not quit")
	}
}

func TestInputHistoryPerConference(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.press("up")
	if h.app.input.value() != "earlier line" {
		t.Fatalf("up gave %q", h.app.input.value())
	}
	h.press("down")
	h.enter("second")
	if got := f.inputs[roomID]; len(got) != 2 || got[1] != "second" {
		t.Fatalf("stored input history %q", got)
	}
	h.press("ctrl+n")
	h.press("up")
	if h.app.input.value() != "" {
		t.Fatalf("another conference's history leaked: %q", h.app.input.value())
	}
}

func TestPasteMultilineAndTooLong(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.send(tea.PasteMsg{Content: "line one\r\nline two"})
	if h.app.input.value() != "line one\nline two" {
		t.Fatalf("paste gave %q", h.app.input.value())
	}
	h.press("enter")
	if !f.called("send line one\nline two") {
		t.Fatalf("multi-line paste not sent as one message: %q", f.calls)
	}
	h.send(tea.PasteMsg{Content: strings.Repeat("x", maxMessageBytes+1)})
	h.mustSee("paste refused")
	if h.app.input.value() != "" {
		t.Fatal("too-long paste inserted")
	}
	h.send(tea.PasteMsg{Content: strings.Repeat("y", maxMessageBytes-20)})
	h.mustSee("20 left")
}

func TestPeerTextCannotInjectEscapes(t *testing.T) {
	h := newHarness(t, withConversation(), 80, 24)
	h.event(node.MessageReceived{Conference: roomID, Message: node.Message{Seq: 77, From: bobKey,
		Name: "b\x1b[2Job", Text: "evil\x1b]0;pwned\x07 \x1b[31mred", Time: testNow}})
	raw := h.app.screen()
	if strings.Contains(raw, "\x1b]0;pwned") || strings.Contains(raw, "\x1b[2J") {
		t.Fatal("a peer's escape sequence reached the terminal")
	}
	h.mustSee("evil")
}

func TestResizeKeepsEveryLineInBounds(t *testing.T) {
	h := newHarness(t, withConversation(), 120, 40)
	for _, sz := range [][2]int{{80, 24}, {60, 20}, {40, 12}, {200, 60}, {20, 8}, {120, 40}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		lines := strings.Split(h.screen(), "\n")
		if len(lines) != sz[1] {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for i, l := range lines {
			if width(l) > sz[0] {
				t.Errorf("%dx%d: line %d is %d wide", sz[0], sz[1], i, width(l))
			}
		}
	}
}

func TestWideCharactersWrap(t *testing.T) {
	h := newHarness(t, withConversation(), 60, 20)
	h.event(node.MessageReceived{Conference: roomID, Message: node.Message{Seq: 80, From: bobKey, Name: "鲍勃🎉",
		Text: strings.Repeat("漢字かな🎉👩‍👩‍👧 ", 12), Time: testNow}})
	for i, l := range strings.Split(h.screen(), "\n") {
		if width(l) != 60 {
			t.Errorf("line %d is %d cells: %q", i, width(l), l)
		}
	}
}

func TestSearch(t *testing.T) {
	h := newHarness(t, withConversation(), 120, 40)
	h.press("ctrl+f")
	if h.app.input.value() != "/search " {
		t.Fatalf("ctrl+f gave %q", h.app.input.value())
	}
	h.typeText("kettle")
	h.press("enter")
	h.mustSee(`1 result for "kettle"`)
	h.press("esc")
	h.mustNotSee(`result for`)
}

func TestFriendRequestAndAccept(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	f.requests = []node.RequestInfo{{Key: daveKey, Message: "hi"}}
	h.event(node.FriendRequestReceived{From: daveKey, Name: "dave", Message: "hi"})
	h.mustSee("dave (d0d0d0d0) asks to be your friend")
	h.enter("/accept")
	if !f.called("accept " + daveKey.Short()) {
		t.Fatalf("calls %q", f.calls)
	}
}

func TestLeftConferenceGoesHome(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	f.confs = f.confs[1:]
	h.event(node.ConferenceLeft{Conference: roomID})
	if !h.app.current.home {
		t.Fatal("still showing a conference that was left")
	}
	h.mustSee("Welcome to confchat")
	h.mustNotSee("Tea room")
}

func TestStatusLineAgreesWithStatus(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.mustSee("1 connected · bob direct")
	f.friends[0].Online = false
	h.event(node.FriendOffline{Friend: bobKey})
	h.mustSee("0 connected")
	h.mustNotSee("bob direct")
	f.friends[0].Online = true
	h.event(node.FriendOnline{Friend: bobKey, Route: 1}, node.RouteChanged{Peer: bobKey, Route: 1, Switch: node.SwitchSwitching})
	h.mustSee("1 connected · bob direct (switching)")
	h.event(node.RouteChanged{Peer: bobKey, Route: 1, Switch: node.SwitchFailedPrefix + "peer refused"})
	h.mustSee("bob direct (switch failed: peer refused)")
	f.mu.Lock()
	f.friends[0].Route = 2
	f.mu.Unlock()
	h.event(node.RouteChanged{Peer: bobKey, Route: 2})
	h.mustSee("1 connected · bob relay")
	h.mustNotSee("switch")
}

func TestMentionIsHighlighted(t *testing.T) {
	h := newHarness(t, withConversation(), 120, 40)
	h.event(node.MessageReceived{Conference: roomID, Message: node.Message{Seq: 60, From: bobKey, Name: "bob", Text: "Alice: tea?", Time: testNow}},
		node.MessageReceived{Conference: roomID, Message: node.Message{Seq: 61, From: bobKey, Name: "bob", Text: "malice aforethought", Time: testNow}})
	es := h.app.current.entries
	if !es[len(es)-2].mention || es[len(es)-1].mention {
		t.Fatalf("mention flags: %v %v", es[len(es)-2].mention, es[len(es)-1].mention)
	}
	if !strings.Contains(h.app.screen(), h.app.st.Mention.Render("Alice: tea?")) {
		t.Fatal("mention not drawn in the mention style")
	}
}

func TestHomeInputHistoryKept(t *testing.T) {
	f := newFakeNode()
	f.inputs[node.ConferenceID{}] = []string{"/add something"}
	h := newHarness(t, f, 80, 24)
	h.press("up")
	if h.app.input.value() != "/add something" {
		t.Fatalf("up on the home screen gave %q", h.app.input.value())
	}
	h.press("down")
	h.enter("/friends")
	if got := f.inputs[node.ConferenceID{}]; len(got) != 2 || got[1] != "/friends" {
		t.Fatalf("global history %q", got)
	}
}

// An invite carries no title: it is named after the friend who sent it,
// in the event line, the sidebar, /invites and /join.
func TestInviteNamedAfterItsSender(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	inv := confID(0x33)
	f.confs = append(f.confs, node.ConferenceInfo{ID: inv, Invited: true, InvitedBy: bobKey})
	h.event(node.ConferenceInvited{Conference: inv, From: bobKey})
	h.mustSee("bob invited you to a conference: /join to accept")
	h.mustSee("3 from bob")
	h.mustNotSee("invite " + inv.Short())
	// Opening the invite before /join loads no history: there is none yet.
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	for range len(f.confs) + 1 {
		if h.app.current.id == inv {
			break
		}
		h.press("ctrl+n")
	}
	if h.app.current.id != inv {
		t.Fatal("ctrl+n never reached the invite")
	}
	if f.called("history " + inv.Short()) {
		t.Fatalf("an invite's buffer asked for history: calls %q", f.calls)
	}
	h.mustNotSee("could not load history")
	h.mustNotSee("that conference is gone")
	h.enter("/invites")
	h.mustSee("invite to a conference from bob: /join " + inv.Short())
	h.enter("/join invite from bob")
	if !f.called("join " + inv.Short()) {
		t.Fatalf("calls %q", f.calls)
	}
	// Once joined, the conference's history loads.
	f.mu.Lock()
	f.confs[len(f.confs)-1].Invited = false
	f.history[inv] = []node.HistoryEntry{msgAt(1, bobKey, "bob", "welcome aboard", 0, false)}
	f.mu.Unlock()
	h.event(node.ConferenceJoined{Conference: inv})
	h.mustSee("welcome aboard")
	if !f.called("history " + inv.Short()) {
		t.Fatalf("the joined conference loaded no history: calls %q", f.calls)
	}
	h.mustNotSee("could not load history")
	h.mustNotSee("that conference is gone")
}

// A paste that ends with a newline sends no empty last line.
func TestPasteTrailingNewlineTrimmed(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.send(tea.PasteMsg{Content: "line one\nline two 👍\n\n"})
	h.press("enter")
	if !f.called("send line one\nline two 👍") || f.called("send line one\nline two 👍\n") {
		t.Fatalf("calls %q", f.calls)
	}
}

// An address only this machine can dial says so where the user is told
// to hand it out.
func TestLoopbackAddressIsFlagged(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	h.enter("/id")
	h.mustSee("works on this machine only")
	if onlyLoopback([]string{"192.0.2.7:33445"}) || onlyLoopback([]string{"127.0.0.1:1", "[2001:db8::1]:2"}) ||
		!onlyLoopback([]string{"127.0.0.1:1", "[::1]:2"}) {
		t.Fatal("onlyLoopback misjudges")
	}
}

// Home jumps to the oldest loaded line and End back, in a short and a long
// conversation: Home asks to scroll 1<<30 lines, which must be clamped to
// the top screen at once (it once recursed per screen until the stack
// overflowed).
func TestHomeAndEnd(t *testing.T) {
	for _, n := range []int{1, 3, 200} {
		f := withConversation()
		var hs []node.HistoryEntry
		for i := range n {
			hs = append(hs, msgAt(int64(i+1), bobKey, "bob", "msg "+itoa(i), 1, false))
		}
		f.history[roomID] = hs
		h := newHarness(t, f, 80, 24)
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.press("home")
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d messages: Home did not return within 10 s", n)
		}
		b := h.app.current
		if b.scroll > len(b.entries)*4+24 {
			t.Fatalf("%d messages: scroll %d after Home is beyond what is loaded (%d entries)", n, b.scroll, len(b.entries))
		}
		// Each Home shows the oldest loaded line and loads the page before
		// it; a few reach the start of a long conversation.
		for i := 0; i < 10 && !strings.Contains(h.screen(), "start of the conversation"); i++ {
			h.press("home")
		}
		h.mustSee("msg 0")
		h.mustSee("start of the conversation")
		h.press("end")
		h.mustSee("msg " + itoa(n-1))
		if b.scroll != 0 {
			t.Fatalf("%d messages: scroll %d after End", n, b.scroll)
		}
	}
}

// A background failure that repeats (a full disk fails every mark-read)
// is shown once, not once per message; a different one is shown.
func TestRepeatedBackgroundFailureShownOnce(t *testing.T) {
	h := newHarness(t, withConversation(), 120, 40)
	full := errors.New("set last read: database or disk is full (13)")
	for range 20 {
		h.send(failedMsg{err: full})
	}
	if n := strings.Count(h.screen(), "disk is full"); n != 1 {
		t.Fatalf("the repeated failure is on the screen %d times, want 1:\n%s", n, h.screen())
	}
	h.send(failedMsg{err: errors.New("input history not saved: locked")})
	h.mustSee("input history not saved")
}

// With more conferences than the sidebar has rows, the list keeps the
// current conference on screen, says how many more there are, and the
// Friends section keeps its rows.
func TestSidebarScrollsToCurrent(t *testing.T) {
	f := withConversation()
	for i := range 46 {
		f.confs = append(f.confs, node.ConferenceInfo{ID: confID(byte(0x40 + i)), Title: "room" + itoa(i), Joined: true, PeerCount: 1})
	}
	h := newHarness(t, f, 120, 40)
	h.mustSee("more (Ctrl+N/P")
	h.mustSee("Friends")
	h.mustSee("bob")
	for range 47 {
		h.press("ctrl+n")
	}
	cur := h.app.current.info.Title
	side := ""
	for _, l := range strings.Split(h.screen(), "\n") {
		if i := strings.Index(l, "│"); i > 0 {
			side += l[:i] + "\n"
		}
	}
	if !strings.Contains(side, cur) {
		t.Fatalf("the current conference %q is not in the sidebar:\n%s", cur, side)
	}
	if !strings.Contains(side, "Friends") {
		t.Fatalf("Friends are gone from the sidebar:\n%s", side)
	}
}

// /accept NAME finds a pending request by the name it gave, and the
// sidebar shows that name.
func TestAcceptRequestByName(t *testing.T) {
	f := withConversation()
	h := newHarness(t, f, 120, 40)
	f.requests = []node.RequestInfo{{Key: daveKey, Name: "dave", Message: "hi"}}
	h.event(node.FriendRequestReceived{From: daveKey, Name: "dave", Message: "hi"})
	h.mustSee("? dave asks")
	h.enter("/accept dave")
	if !f.called("accept " + daveKey.Short()) {
		t.Fatalf("calls %q", f.calls)
	}
}
