//go:build !unix

package netlayer

import "syscall"

// reuseControl does nothing where SO_REUSEPORT is missing: the listener
// works, and dials from its port fall back to ephemeral ports.
func reuseControl(_, _ string, _ syscall.RawConn) error { return nil }
