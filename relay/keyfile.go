package relay

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"confchat/identity"
)

// KeyFile is the name of the relay's key file inside its profile
// directory: the hex seed of its Ed25519 key, mode 0600. It is the only
// state a relay keeps on disk.
const KeyFile = "relay.key"

// LoadOrCreateKey returns the relay key kept in dir, making dir (mode
// 0700) and a new key (mode 0600, written atomically) on first use. A key
// file readable by others is made private again; the returned warnings
// say so.
func LoadOrCreateKey(dir string, rand io.Reader) (*identity.KeyPair, []string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("relay key: %w", err)
	}
	path := filepath.Join(dir, KeyFile)
	kp, warnings, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return kp, warnings, err
	}
	kp, err = identity.Generate(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("relay key: %w", err)
	}
	if err := writeKey(dir, path, kp); errors.Is(err, fs.ErrExist) {
		return loadKey(path) // another relay made it first: use that one
	} else if err != nil {
		return nil, nil, err
	}
	return kp, nil, nil
}

func loadKey(path string) (*identity.KeyPair, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, nil, fmt.Errorf("relay key %s: not hex: %w", path, err)
	}
	kp, err := identity.FromSeed(seed)
	if err != nil {
		return nil, nil, fmt.Errorf("relay key %s: %w", path, err)
	}
	var warnings []string
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, nil, fmt.Errorf("relay key %s: make private: %w", path, err)
		}
		warnings = append(warnings, fmt.Sprintf("%s was mode %04o; made it 0600", path, fi.Mode().Perm()))
	}
	return kp, warnings, nil
}

// writeKey writes the seed to a private temporary file and links it into
// place, so a crash leaves either no key or a whole one, and two relays
// starting at once on a new profile agree on one key.
func writeKey(dir, path string, kp *identity.KeyPair) error {
	tmp, err := os.CreateTemp(dir, KeyFile+".tmp*")
	if err != nil {
		return fmt.Errorf("relay key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("relay key: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(kp.Seed()) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("relay key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("relay key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("relay key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("relay key: %w", err)
	}
	return nil
}
