// Package tui is confchat's terminal client: a bubbletea v2 program that
// shows a node's conferences, friends, peers and messages and turns what
// the user types into node calls.
//
// It owns only presentation state (what is on screen, scroll positions,
// the input line). Everything that must survive a restart — conferences,
// messages, unread positions, input history, hidden conferences — lives
// in the node, which the TUI reaches only through the small Node
// interface declared here (the real *node.Node satisfies it) and the
// node's event stream. It never touches storage or sockets.
//
// Every node call runs inside a tea.Cmd, so Update never blocks: a slow
// disk or a peer that times out delays a result message, never a key
// echo. Node events arrive through one re-armed Cmd (waitEvent).
//
// Layout (App owns it and pushes sizes down): a title bar, then the
// sidebar (conferences, friends), the chat pane and the peer list side by
// side, then the input line and the status line. Below 100 columns the
// peer list folds into the sidebar; below 70 the sidebar folds away and
// the title bar names the conference and its position.
package tui
