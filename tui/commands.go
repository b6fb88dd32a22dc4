package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"confchat/identity"
	"confchat/node"
)

// command is one /command.
type command struct {
	name, args, help string
	// complete says what the first argument completes to.
	complete completeKind
	run      func(a *App, arg, line string) tea.Cmd
}

// completeKind is what Tab completes after a command.
type completeKind int

const (
	completeNone completeKind = iota
	completeFriend
	completeRequest
	completeConference
	completeInvite
	completePeer
)

// commandList is every command, in the order /help lists them.
func commandList() []command {
	return []command{
		{"add", "ID [ADDR] [message]", "send a friend request to ID at host:port (no ADDR: find ID on the DHT)", completeNone, (*App).cmdAdd},
		{"accept", "[name|key]", "accept a friend request (the newest if none named)", completeRequest, (*App).cmdAccept},
		{"decline", "[name|key]", "decline a friend request", completeRequest, (*App).cmdDecline},
		{"requests", "", "list pending friend requests", completeNone, (*App).cmdRequests},
		{"friends", "", "list friends, online state and route", completeNone, (*App).cmdFriends},
		{"create", "[title]", "start a new conference", completeNone, (*App).cmdCreate},
		{"invite", "NAME|KEY", "invite a friend (online) to this conference", completeFriend, (*App).cmdInvite},
		{"invites", "", "list conference invites", completeNone, (*App).cmdInvites},
		{"join", "[title|id]", "accept an invite, or reopen a closed conference", completeInvite, (*App).cmdJoin},
		{"close", "", "hide this conference (stays saved; back on activity or /join)", completeNone, (*App).cmdClose},
		{"leave", "", "leave this conference for good (asks first)", completeNone, (*App).cmdLeave},
		{"title", "TEXT", "set this conference's title", completeNone, (*App).cmdTitle},
		{"nick", "NAME", "set your name everywhere", completeNone, (*App).cmdNick},
		{"me", "TEXT", "send an action: * you TEXT", completePeer, (*App).cmdMe},
		{"peers", "", "list this conference's peers, frozen ones too", completeNone, (*App).cmdPeers},
		{"id", "", "show your full ID and address to give to a friend", completeNone, (*App).cmdID},
		{"search", "[-all] TEXT", "search this conference (-all: every conference)", completeNone, (*App).cmdSearch},
		{"help", "", "commands and keys", completeNone, (*App).cmdHelp},
		{"quit", "", "quit (sessions close gracefully)", completeNone, (*App).cmdQuit},
	}
}

func findCommand(name string) *command {
	for _, c := range commandList() {
		if c.name == name {
			return &c
		}
	}
	return nil
}

// submit handles Enter: a command, or a message to the current conference.
func (a *App) submit() tea.Cmd {
	// A paste that ends with a newline does not send an empty last line.
	line := strings.TrimRight(a.input.value(), " \t\r\n")
	if strings.TrimSpace(line) == "" {
		return nil
	}
	a.input.remember(line)
	a.current.inputHist = a.input.history
	hist := a.addInputHistory(line)
	a.input.reset()
	a.layout()
	a.current.scroll, a.current.newBelow = 0, 0
	if isCommand(line) {
		name, arg, _ := strings.Cut(strings.TrimSpace(line[1:]), " ")
		c := findCommand(strings.ToLower(name))
		if c == nil {
			a.refuse(line, fmt.Sprintf("unknown command /%s — /help lists them", name))
			return hist
		}
		return tea.Batch(hist, c.run(a, strings.TrimSpace(arg), line))
	}
	if strings.HasPrefix(line, "//") {
		line = line[1:]
	}
	return tea.Batch(hist, a.send(line, false, line))
}

// addInputHistory persists a typed line in the node (per conference).
func (a *App) addInputHistory(line string) tea.Cmd {
	var id node.ConferenceID
	if !a.current.home {
		id = a.current.id
	}
	return func() tea.Msg {
		ctx, cancel := ctxWithTimeout(a.ctx)
		defer cancel()
		if err := a.node.AddInputHistory(ctx, id, line); err != nil {
			return failedMsg{err: fmt.Errorf("input history not saved: %w", err)}
		}
		return nil
	}
}

// send shows the message at once (marked sending) and hands it to the node.
func (a *App) send(text string, act bool, typed string) tea.Cmd {
	b := a.current
	if b.home || b.info.Invited {
		a.refuse(typed, "this is not a conference: /create one, /join an invite, or Ctrl+N to a conference")
		return nil
	}
	if len(text) > maxMessageBytes {
		a.refuse(typed, fmt.Sprintf("too long: %d bytes, a message holds at most %d", len(text), maxMessageBytes))
		return nil
	}
	a.sendToken++
	tok := a.sendToken
	k := kindMessage
	if act {
		k = kindAction
	}
	b.add(entry{kind: k, time: a.opt.Now(), from: a.self.Key, text: text, self: true, state: stateSending, token: tok})
	b.readUpTo = len(b.entries)
	id := b.id
	return func() tea.Msg {
		ctx, cancel := ctxWithTimeout(a.ctx)
		defer cancel()
		sent, err := a.node.SendMessage(ctx, id, text, act)
		return sentMsg{id: id, token: tok, sent: sent, err: err, text: typed}
	}
}

func (a *App) needConference(line string) bool {
	if a.current.home || a.current.info.Invited {
		a.refuse(line, "that works inside a conference: Ctrl+N to one, or /create")
		return false
	}
	return true
}

func (a *App) usage(c, line string) tea.Cmd {
	cmd := findCommand(c)
	a.refuse(line, fmt.Sprintf("usage: /%s %s — %s", cmd.name, cmd.args, cmd.help))
	return nil
}

func (a *App) cmdAdd(arg, line string) tea.Cmd {
	f := strings.Fields(arg)
	if len(f) < 1 {
		return a.usage("add", line)
	}
	id, err := identity.ParseID(f[0])
	if err != nil {
		a.refuse(line, "/add: "+describe(err))
		return nil
	}
	if len(f) < 2 || !looksLikeAddr(f[1]) { // no address: find the ID on the DHT (tui/dht.go)
		msg := ""
		if len(f) > 1 {
			msg = strings.TrimSpace(strings.SplitN(strings.TrimSpace(arg), " ", 2)[1])
		}
		return a.addByID(id, msg, line)
	}
	addr := f[1]
	msg := ""
	if len(f) > 2 {
		msg = strings.TrimSpace(strings.SplitN(arg, " ", 3)[2])
	}
	ok := fmt.Sprintf("friend request sent to %s at %s; they show under Friends, and can chat once they accept", id.Key.Short(), addr)
	return tea.Batch(action(a.ctx, "/add", ok, line, func(ctx ctxT) error { return a.node.AddFriend(ctx, id, addr, msg) }),
		a.refreshFriends())
}

func (a *App) cmdAccept(arg, line string) tea.Cmd  { return a.answerRequest(arg, line, true) }
func (a *App) cmdDecline(arg, line string) tea.Cmd { return a.answerRequest(arg, line, false) }

func (a *App) answerRequest(arg, line string, accept bool) tea.Cmd {
	what := "/decline"
	if accept {
		what = "/accept"
	}
	if len(a.requests) == 0 {
		a.systemLine(a.current, kindError, what+": no friend request is pending")
		return nil
	}
	r := a.requests[len(a.requests)-1]
	if arg != "" {
		var keys []identity.PublicKey
		for _, q := range a.requests {
			keys = append(keys, q.Key)
		}
		k, err := a.resolveKey(arg, keys)
		if err != nil {
			a.refuse(line, what+": "+err.Error())
			return nil
		}
		r.Key = k
	}
	key := r.Key
	if accept {
		return tea.Sequence(action(a.ctx, what, "accepted "+key.Short()+"; they are now your friend", line,
			func(ctx ctxT) error { return a.node.AcceptFriend(ctx, key) }), a.refreshRequests(), a.refreshFriends())
	}
	return tea.Sequence(action(a.ctx, what, "declined "+key.Short(), line,
		func(ctx ctxT) error { return a.node.DeclineFriend(ctx, key) }), a.refreshRequests())
}

func (a *App) cmdRequests(string, string) tea.Cmd {
	if len(a.requests) == 0 {
		a.systemLine(a.current, kindSystem, "no friend requests are pending")
		return nil
	}
	for _, r := range a.requests {
		msg := ""
		if r.Message != "" {
			msg = fmt.Sprintf(" — %q", clean(r.Message, false))
		}
		a.systemLine(a.current, kindSystem, fmt.Sprintf("request from %s (%s)%s: /accept %s", r.Key.Short(), r.Time.In(a.opt.Location).Format("Jan 2 15:04"), msg, r.Key.Short()))
	}
	return nil
}

func (a *App) cmdFriends(string, string) tea.Cmd {
	if len(a.friends) == 0 {
		a.systemLine(a.current, kindSystem, "no friends yet: /add ID ADDRESS (they give you both with /id)")
		return nil
	}
	for _, f := range a.friends {
		state := "offline"
		switch {
		case !f.Confirmed:
			state = "asked, not yet accepted"
		case f.Online:
			state = "online, " + routeLabel(f.Route, a.switchOf(f.Key))
		}
		a.systemLine(a.current, kindSystem, fmt.Sprintf("%s (%s): %s", clean(a.keyName(f.Key), false), f.Key.Short(), state))
	}
	return nil
}

func (a *App) cmdCreate(arg, line string) tea.Cmd {
	if len(arg) > maxTitleBytes {
		a.refuse(line, fmt.Sprintf("/create: the title is %d bytes, the limit is %d", len(arg), maxTitleBytes))
		return nil
	}
	title := arg
	return func() tea.Msg {
		ctx, cancel := ctxWithTimeout(a.ctx)
		defer cancel()
		id, err := a.node.CreateConference(ctx, title)
		if err != nil {
			return doneMsg{err: err, what: "/create", restore: line}
		}
		return createdMsg{id: id, title: title}
	}
}

// onCreated lists and shows the new conference.
func (a *App) onCreated(m createdMsg) tea.Cmd {
	b := a.byID[m.id]
	if b == nil {
		b = &buffer{id: m.id, info: node.ConferenceInfo{ID: m.id, Title: m.title, Joined: true, PeerCount: 1}}
		a.byID[m.id] = b
		a.bufs = append(a.bufs, b)
	}
	b.loaded, b.allLoaded, b.peersLoaded, b.histLoaded = true, true, false, true
	cmd := a.switchTo(b)
	a.systemLine(b, kindHint, "conference created; /invite a friend (Tab completes names), /title to rename it")
	return tea.Batch(cmd, a.refreshConferences(), a.loadPeers(m.id))
}

func (a *App) cmdInvite(arg, line string) tea.Cmd {
	if !a.needConference(line) {
		return nil
	}
	if arg == "" {
		return a.usage("invite", line)
	}
	var keys []identity.PublicKey
	for _, f := range a.friends {
		if f.Confirmed {
			keys = append(keys, f.Key)
		}
	}
	k, err := a.resolveKey(arg, keys)
	if err != nil {
		a.refuse(line, "/invite: "+err.Error())
		return nil
	}
	id := a.current.id
	return action(a.ctx, "/invite", fmt.Sprintf("invited %s; they appear in the peer list once they join", a.keyName(k)), line,
		func(ctx ctxT) error { return a.node.Invite(ctx, id, k) })
}

func (a *App) cmdInvites(string, string) tea.Cmd {
	n := 0
	for _, b := range a.byID {
		if b.info.Invited {
			n++
			what := "a conference"
			if b.info.Title != "" {
				what = clean(b.info.Title, false)
			}
			a.systemLine(a.current, kindSystem, fmt.Sprintf("invite to %s from %s: /join %s", what, a.keyName(b.info.InvitedBy), b.id.Short()))
		}
	}
	if n == 0 {
		a.systemLine(a.current, kindSystem, "no conference invites are pending")
	}
	return nil
}

func (a *App) cmdJoin(arg, line string) tea.Cmd {
	b, err := a.resolveConference(arg)
	if err != nil {
		a.refuse(line, "/join: "+err.Error())
		return nil
	}
	if !b.info.Invited {
		return a.show(b)
	}
	id := b.id
	a.joining[id] = true
	return action(a.ctx, "/join", "joining; the conference fills in as its peers answer", line,
		func(ctx ctxT) error { return a.node.Join(ctx, id) })
}

func (a *App) cmdClose(_, line string) tea.Cmd {
	if !a.needConference(line) {
		return nil
	}
	b := a.current
	b.info.Hidden = true
	cmd := a.cycle(-1)
	a.bufs = removeBuf(a.bufs, b)
	id := b.id
	return tea.Batch(cmd, action(a.ctx, "/close", fmt.Sprintf("closed %s; it stays saved and comes back on activity or /join %s", b.title(), b.title()), "",
		func(ctx ctxT) error { return a.node.SetHidden(ctx, id, true) }))
}

func removeBuf(bs []*buffer, b *buffer) []*buffer {
	out := bs[:0:0]
	for _, x := range bs {
		if x != b {
			out = append(out, x)
		}
	}
	return out
}

func (a *App) cmdLeave(_, line string) tea.Cmd {
	if a.current.home {
		return a.needConferenceCmd(line)
	}
	b := a.current
	a.confirm = &confirmPrompt{
		question: fmt.Sprintf("Leave %q for good? Its history is deleted from this profile.", b.title()),
		yes: func(a *App) tea.Cmd {
			id := b.id
			return action(a.ctx, "/leave", "left "+b.title(), "", func(ctx ctxT) error { return a.node.Leave(ctx, id) })
		},
	}
	return nil
}

func (a *App) needConferenceCmd(line string) tea.Cmd {
	a.needConference(line)
	return nil
}

func (a *App) cmdTitle(arg, line string) tea.Cmd {
	if !a.needConference(line) {
		return nil
	}
	if arg == "" {
		a.systemLine(a.current, kindSystem, fmt.Sprintf("the title is %q; /title TEXT changes it", a.current.title()))
		return nil
	}
	if len(arg) > maxTitleBytes {
		a.refuse(line, fmt.Sprintf("/title: %d bytes, the limit is %d", len(arg), maxTitleBytes))
		return nil
	}
	id := a.current.id
	return action(a.ctx, "/title", "", line, func(ctx ctxT) error { return a.node.SetTitle(ctx, id, arg) })
}

func (a *App) cmdNick(arg, line string) tea.Cmd {
	if arg == "" {
		return a.usage("nick", line)
	}
	if len(arg) > maxTitleBytes {
		a.refuse(line, fmt.Sprintf("/nick: %d bytes, the limit is %d", len(arg), maxTitleBytes))
		return nil
	}
	name := clean(arg, false)
	return tea.Sequence(action(a.ctx, "/nick", "you are now "+name, line,
		func(ctx ctxT) error { return a.node.SetName(ctx, name) }), a.refreshStatus())
}

func (a *App) cmdMe(arg, line string) tea.Cmd {
	if arg == "" {
		return a.usage("me", line)
	}
	return a.send(arg, true, line)
}

func (a *App) cmdPeers(_, line string) tea.Cmd {
	if !a.needConference(line) {
		return nil
	}
	b := a.current
	now := a.opt.Now()
	n := 0
	for _, p := range b.peers {
		if p.Self {
			continue
		}
		n++
		state := "online"
		if p.Frozen {
			state = "frozen"
			if !p.FrozenSince.IsZero() {
				state += " for " + shortDuration(now.Sub(p.FrozenSince))
			}
		}
		a.systemLine(b, kindSystem, fmt.Sprintf("%s (%s): %s", a.peerName(p), p.Key.Short(), state))
	}
	if n == 0 {
		a.systemLine(b, kindSystem, "nobody else is here yet: /invite a friend")
	}
	return nil
}

func (a *App) cmdID(string, string) tea.Cmd {
	a.systemLine(a.current, kindSystem, "your ID (give it to a friend with your address):")
	a.systemLine(a.current, kindHint, a.self.ID.String())
	for _, ad := range a.self.Addresses {
		a.systemLine(a.current, kindSystem, "address: "+ad)
	}
	if onlyLoopback(a.self.Addresses) {
		a.systemLine(a.current, kindHint, loopbackHint)
	}
	return tea.SetClipboard(a.self.ID.String())
}

func (a *App) cmdSearch(arg, line string) tea.Cmd {
	all := false
	if rest, ok := strings.CutPrefix(arg, "-all"); ok && (rest == "" || rest[0] == ' ') {
		all, arg = true, strings.TrimSpace(rest)
	}
	if arg == "" {
		return a.usage("search", line)
	}
	if !all && !a.needConference(line) {
		return nil
	}
	var id *node.ConferenceID
	if !all {
		cid := a.current.id
		id = &cid
	}
	q := arg
	return func() tea.Msg {
		ctx, cancel := ctxWithTimeout(a.ctx)
		defer cancel()
		rs, err := a.node.Search(ctx, id, q, 200)
		if err != nil {
			return doneMsg{err: err, what: "/search", restore: line}
		}
		return searchMsg{query: q, all: all, results: rs}
	}
}

func (a *App) cmdHelp(string, string) tea.Cmd {
	a.showHelp = true
	return nil
}

func (a *App) cmdQuit(string, string) tea.Cmd { return a.quit() }

// maxTitleBytes is the longest title or name.
const maxTitleBytes = 128

// refuse reports bad input and puts the typed line back, so nothing
// typed is lost.
func (a *App) refuse(line, text string) {
	a.systemLine(a.current, kindError, text+" (the line is kept: fix it, or Ctrl+U to clear)")
	a.input.set(line)
}
