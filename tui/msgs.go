package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"confchat/node"
)

// callTimeout bounds every node call a Cmd makes.
const callTimeout = 10 * time.Second

// Messages that node calls and the event stream send back to Update.
type (
	eventMsg       struct{ ev node.Event }
	eventsEndedMsg struct{}
	conferencesMsg struct{ infos []node.ConferenceInfo }
	friendsMsg     struct{ friends []node.FriendInfo }
	requestsMsg    struct{ reqs []node.RequestInfo }
	statusMsg      struct{ st node.StatusInfo }
	peersMsg       struct {
		id    node.ConferenceID
		peers []node.PeerInfo
	}
	historyMsg struct {
		id      node.ConferenceID
		before  int64
		entries []node.HistoryEntry
		limit   int
	}
	inputHistMsg struct {
		id    node.ConferenceID
		lines []string
	}
	sentMsg struct {
		id    node.ConferenceID
		token int
		sent  node.SentMessage
		err   error
		text  string
	}
	createdMsg struct {
		id    node.ConferenceID
		title string
	}
	searchMsg struct {
		query   string
		all     bool
		results []node.SearchResult
	}
	// doneMsg reports a command's outcome as a system line (ok) or an
	// error line; restore puts the typed line back on error.
	doneMsg struct {
		ok      string
		err     error
		what    string
		restore string
		after   func(a *App) tea.Cmd
	}
	tickMsg     struct{ now time.Time }
	rollMsg     struct{ id node.ConferenceID }
	failedMsg   struct{ err error } // a background refresh failed
	quitDoneMsg struct{}
)

// call runs fn against the node with a bounded context.
func call[T any](ctx context.Context, fn func(ctx context.Context) (T, error), ok func(T) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		v, err := fn(c)
		if err != nil {
			return failedMsg{err: err}
		}
		return ok(v)
	}
}

// action runs a node call whose only result is an error and reports it.
func action(ctx context.Context, what, ok, restore string, fn func(ctx context.Context) error) tea.Cmd {
	return func() tea.Msg {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		err := fn(c)
		if err != nil {
			return doneMsg{err: err, what: what, restore: restore}
		}
		return doneMsg{ok: ok, what: what}
	}
}

// waitEvent blocks for the next node event; Update re-arms it.
func waitEvent(ctx context.Context, evs Events) tea.Cmd {
	return func() tea.Msg {
		ev, ok := evs.Next(ctx)
		if !ok {
			return eventsEndedMsg{}
		}
		return eventMsg{ev: ev}
	}
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg{now: t} })
}

type ctxT = context.Context

func ctxWithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

type historyFailedMsg struct {
	id  node.ConferenceID
	err error
}
