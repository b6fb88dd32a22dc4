package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Modes of what a profile holds: only its owner may read or change them.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// tightenMode makes path's permissions no looser than want. It returns a
// warning when it had to change them, and an error when it could not (the
// path belongs to someone else). A missing path is no problem.
func tightenMode(path string, want fs.FileMode, what string) (string, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check %s %s: %w", what, path, err)
	}
	got := st.Mode().Perm()
	if got&^want == 0 {
		return "", nil
	}
	if err := os.Chmod(path, want); err != nil {
		return "", fmt.Errorf("%s %s has mode %04o (other users can reach it) and cannot be fixed: %w",
			what, path, got, err)
	}
	return fmt.Sprintf("%s %s had mode %04o (other users could reach it); changed to %04o",
		what, path, got, want), nil
}

// checkNotEmpty refuses an existing database file of 0 bytes: whatever
// emptied it took the profile's key, and opening it would silently make
// a new identity.
func checkNotEmpty(path string) (exists bool, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check %s: %w", path, err)
	}
	if st.Size() == 0 {
		return true, fmt.Errorf("%w: %s has 0 bytes, so the profile's key is lost; "+
			"restore it from a backup, or move it away to start a new identity", ErrEmptyDatabase, path)
	}
	return true, nil
}
