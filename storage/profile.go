package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names inside a profile directory.
const (
	DBFile   = "confchat.db"
	LockFile = "confchat.lock"
)

// ErrProfileLocked is returned by Open when another process uses the profile.
var ErrProfileLocked = errors.New("profile is in use by another confchat process")

var errLockHeld = errors.New("lock held")

// DefaultProfileDir returns $XDG_DATA_HOME/confchat, else
// ~/.local/share/confchat.
func DefaultProfileDir() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "confchat"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find profile directory: %w (set --profile or XDG_DATA_HOME)", err)
	}
	return filepath.Join(home, ".local", "share", "confchat"), nil
}

// profileLock is an exclusive lock on a profile directory, held for the
// life of the DB. The lock file holds the owner's pid for error messages.
type profileLock struct{ f *os.File }

// lockProfile creates dir (0700) if needed and locks it.
func lockProfile(dir string) (*profileLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create profile %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open profile lock %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		defer f.Close()
		if errors.Is(err, errLockHeld) {
			return nil, &LockedError{Dir: dir, PID: readPID(f)}
		}
		return nil, fmt.Errorf("lock profile %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &profileLock{f: f}, nil
}

func (l *profileLock) release() error {
	_ = l.f.Truncate(0)
	return l.f.Close() // closing the descriptor drops the lock
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}

// LockedError says which profile is locked and, when known, by which pid.
// It matches ErrProfileLocked with errors.Is.
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("profile %s is in use by another confchat process (pid %d)", e.Dir, e.PID)
	}
	return fmt.Sprintf("profile %s is in use by another confchat process", e.Dir)
}

// Is makes errors.Is(err, ErrProfileLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrProfileLocked }
