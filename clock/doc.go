// Package clock holds the timer type and the wall clock that the
// packages with an injected clock share (netlayer, node, discovery,
// portmap). Each of them keeps its own narrow Clock interface, the set of
// calls it makes; their timers are this package's Timer, so one fake
// clock in a test serves any of them and System is every default.
//
// It imports nothing of confchat and owns no state.
package clock
