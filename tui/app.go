package tui

import (
	"context"
	"slices"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"confchat/identity"
	"confchat/node"
)

// Options tunes an App. Zero fields take the defaults noted.
type Options struct {
	// Now is the clock (default time.Now); tests pin it.
	Now func() time.Time
	// Location formats timestamps (default time.Local).
	Location *time.Location
	// HistoryPage is how many messages one History call loads (default 200).
	HistoryPage int
	// NoTicks turns off the periodic refresh (for deterministic tests).
	NoTicks bool
}

// Snapshot is what the first frame shows, read from the node before the
// program starts (Load).
type Snapshot struct {
	Self        node.SelfInfo
	Status      node.StatusInfo
	Conferences []node.ConferenceInfo
	Friends     []node.FriendInfo
	Requests    []node.RequestInfo
	// Current is the conference shown first, with its last messages,
	// peers and input history.
	// HomeInputHist is the input history typed outside conferences.
	HomeInputHist []string
	Current       *node.ConferenceID
	History       []node.HistoryEntry
	Peers         []node.PeerInfo
	InputHist     []string
}

// App is the root bubbletea model. It owns the layout and all UI state;
// one goroutine (bubbletea's) runs Update and View.
type App struct {
	ctx    context.Context
	node   Node
	events Events
	opt    Options
	st     Styles
	keys   KeyMap
	help   help.Model

	width, height int

	self   node.SelfInfo
	status node.StatusInfo
	// switches holds the route switch in progress per peer, from
	// RouteChanged events; the routes themselves come from Status.
	switches map[identity.PublicKey]string
	friends  []node.FriendInfo
	requests []node.RequestInfo

	home    *buffer
	bufs    []*buffer // conferences and invites, in sidebar order
	byID    map[node.ConferenceID]*buffer
	current *buffer

	input     inputLine
	lay       layout
	flashText string

	showHelp  bool
	helpTop   int
	results   *searchView
	confirm   *confirmPrompt
	mouse     bool
	quitArmed time.Time
	// lastBgErr and lastBgErrAt: the last background failure shown, so a
	// failure that repeats (a full disk fails every mark-read) is shown
	// once a minute, not once per message.
	lastBgErr   string
	lastBgErrAt time.Time
	quitting    bool
	sendToken   int
	refreshing  bool
	focusLost   bool
	// joining lists conferences we asked to join; the first list that
	// has one joined switches to it (switchOnList).
	joining      map[node.ConferenceID]bool
	switchOnList node.ConferenceID
}

// confirmPrompt is a y/N question (for /leave).
type confirmPrompt struct {
	question string
	yes      func(a *App) tea.Cmd
}

// New builds the App from a snapshot. Run starts it.
func New(ctx context.Context, n Node, evs Events, snap Snapshot, opt Options) *App {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.HistoryPage <= 0 {
		opt.HistoryPage = 200
	}
	a := &App{ctx: ctx, node: n, events: evs, opt: opt, st: DefaultStyles(), keys: DefaultKeyMap(),
		help: help.New(), width: 80, height: 24, self: snap.Self, status: snap.Status,
		friends: snap.Friends, requests: snap.Requests, byID: map[node.ConferenceID]*buffer{},
		switches: map[identity.PublicKey]string{}, mouse: true, joining: map[node.ConferenceID]bool{}}
	a.home = &buffer{home: true, loaded: true, allLoaded: true}
	a.input = newInputLine(&a.st)
	a.setConferences(snap.Conferences)
	a.current = a.home
	a.home.inputHist, a.home.histLoaded = snap.HomeInputHist, true
	a.input.history, a.input.histPos = a.home.inputHist, len(a.home.inputHist)
	if snap.Current != nil {
		if b := a.byID[*snap.Current]; b != nil {
			a.current = b
			a.applyHistory(b, historyMsg{id: b.id, entries: snap.History, limit: opt.HistoryPage})
			b.peers, b.peersLoaded = snap.Peers, true
			b.inputHist, b.histLoaded = snap.InputHist, true
			a.input.history = b.inputHist
			a.input.histPos = len(b.inputHist)
		}
	}
	a.welcome()
	a.layout()
	return a
}

// Load reads the first frame's data from the node: our identity,
// conferences, friends and the current conference's last messages.
func Load(ctx context.Context, n Node, historyPage int) (Snapshot, error) {
	if historyPage <= 0 {
		historyPage = 200
	}
	var s Snapshot
	var err error
	if s.Status, err = n.Status(ctx); err != nil {
		return s, err
	}
	s.Self = s.Status.Self
	if s.Conferences, err = n.Conferences(ctx); err != nil {
		return s, err
	}
	if s.Friends, err = n.Friends(ctx); err != nil {
		return s, err
	}
	if s.Requests, err = n.FriendRequests(ctx); err != nil {
		return s, err
	}
	if s.HomeInputHist, err = n.InputHistory(ctx, node.ConferenceID{}); err != nil {
		return s, err
	}
	cur := firstShown(s.Conferences)
	if cur == nil {
		return s, nil
	}
	s.Current = &cur.ID
	if s.History, err = n.History(ctx, cur.ID, historyPage, 0); err != nil {
		return s, err
	}
	if s.Peers, err = n.Peers(ctx, cur.ID); err != nil {
		return s, err
	}
	s.InputHist, err = n.InputHistory(ctx, cur.ID)
	return s, err
}

// firstShown picks the conference shown at start: the first visible one
// (the sidebar's first entry).
func firstShown(cs []node.ConferenceInfo) *node.ConferenceInfo {
	for i := range cs {
		if c := &cs[i]; !c.Hidden && !c.Invited {
			return c
		}
	}
	return nil
}

// Init starts the event stream and the periodic refresh.
func (a *App) Init() tea.Cmd {
	cmds := []tea.Cmd{waitEvent(a.ctx, a.events), a.input.focus()}
	if !a.opt.NoTicks {
		cmds = append(cmds, tick(time.Second))
	}
	if a.current != a.home {
		cmds = append(cmds, a.markRead(a.current))
	}
	return tea.Batch(cmds...)
}

// setConferences merges a fresh conference list into the buffers,
// keeping loaded history and scroll positions.
func (a *App) setConferences(infos []node.ConferenceInfo) {
	seen := map[node.ConferenceID]bool{}
	var bufs []*buffer
	for _, info := range infos {
		seen[info.ID] = true
		b := a.byID[info.ID]
		if b == nil {
			b = &buffer{id: info.ID, unread: info.Unread}
			a.byID[info.ID] = b
		}
		b.info = info
		if info.Invited {
			b.inviter = a.keyName(info.InvitedBy)
		}
		if b != a.current {
			b.unread = info.Unread
		}
		if info.Hidden && b != a.current {
			continue
		}
		bufs = append(bufs, b)
	}
	gone := false
	for id, b := range a.byID {
		if !seen[id] {
			delete(a.byID, id)
			gone = gone || a.current == b
		}
	}
	a.bufs = bufs
	if gone {
		a.switchTo(a.home) // the conference was left: nothing to load
	}
}

// shown is the buffers the sidebar lists and Ctrl+N cycles through.
func (a *App) shown() []*buffer { return a.bufs }

// index is b's position in the sidebar, -1 for home or hidden.
func (a *App) index(b *buffer) int { return slices.Index(a.bufs, b) }

// Run starts the program on the terminal and returns when the user quits
// or ctx ends. The caller closes the node afterwards.
func Run(ctx context.Context, a *App, opts ...tea.ProgramOption) error {
	opts = append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)
	_, err := tea.NewProgram(a, opts...).Run()
	if ctx.Err() != nil && a.quitting {
		return nil
	}
	return err
}
