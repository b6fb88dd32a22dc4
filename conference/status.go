package conference

import (
	"errors"
	"fmt"
)

// errBadTransition: a status change the conference life cycle forbids.
var errBadTransition = errors.New("illegal status transition")

func (s status) String() string {
	switch s {
	case statusJoining:
		return "joining"
	case statusConnected:
		return "connected"
	case statusLeft:
		return "left"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// setStatus is the only way the conference status moves: joining ->
// connected, joining -> left, connected -> left (and staying put). Left
// is final.
func (e *Engine) setStatus(to status) error {
	from := e.status
	ok := from == to ||
		(from == statusJoining && (to == statusConnected || to == statusLeft)) ||
		(from == statusConnected && to == statusLeft)
	if !ok {
		return fmt.Errorf("conference: status %s to %s: %w", from, to, errBadTransition)
	}
	e.status = to
	return nil
}
