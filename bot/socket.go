package bot

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Errors of listenUnix.
var (
	ErrSocketInUse   = errors.New("another process is serving that socket")
	ErrSocketNotOurs = errors.New("path exists and is not a socket")
)

// unixListener removes its socket file when closed: the file was renamed
// into place, so the listener's own unlink-on-close would miss it.
// Close is safe to call more than once; only the first removes the file.
type unixListener struct {
	*net.UnixListener
	path  string
	close sync.Once
}

func (l *unixListener) Close() error {
	err := net.ErrClosed
	l.close.Do(func() {
		err = l.UnixListener.Close()
		os.Remove(l.path)
	})
	return err
}

// listenUnix binds a unix socket that nobody but us can reach at any
// moment: it is bound inside a fresh 0700 directory next to path, made
// 0600 there, and only then renamed to path. Binding straight at path and
// chmod-ing afterwards (or relying on the umask) leaves a window in which
// another user can connect (issue 9, defect 12); the process-wide umask
// cannot be changed safely while other goroutines create files.
//
// A socket already at path is replaced only if nothing answers on it.
func listenUnix(path string) (net.Listener, error) {
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".confchat-sock-")
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil { // MkdirTemp makes 0700 under any umask; be explicit
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return &unixListener{UnixListener: ln, path: path}, nil
}

// checkSocketPath refuses a path that holds anything but a stale socket.
func checkSocketPath(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("socket %s: %w", path, ErrSocketNotOurs)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket %s: %w", path, ErrSocketInUse)
	}
	return nil
}
