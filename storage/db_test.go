package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "profile")
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func pragmaInt(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenMigrateReopen(t *testing.T) {
	ctx := context.Background()
	db, dir := openTemp(t)
	if got := pragmaInt(t, db.sql, "user_version"); got != SchemaVersion() {
		t.Fatalf("user_version = %d, want %d", got, SchemaVersion())
	}
	if got := pragmaInt(t, db.sql, "foreign_keys"); got != 1 {
		t.Fatalf("foreign_keys = %d", got)
	}
	var mode string
	if err := db.sql.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	kp, id, err := db.LoadIdentity(ctx, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, db.Path(): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	kp2, id2, err := db2.LoadIdentity(ctx, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if kp2.Public() != kp.Public() || id2 != id {
		t.Fatal("identity changed across reopen")
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	db, dir := openTemp(t)
	if _, err := db.sql.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), dir)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "999") {
		t.Errorf("error does not name the version: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, DBFile))
	if string(before) != string(after) {
		t.Fatal("refused database was modified")
	}
	// The refusal released the lock: a later open (after a fix) can proceed.
	lock, err := lockProfile(dir)
	if err != nil {
		t.Fatalf("lock still held after refusal: %v", err)
	}
	lock.release()
}

func TestRefuseForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	other, err := sql.Open("sqlite", filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec("CREATE TABLE x (y); PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := Open(context.Background(), dir); !errors.Is(err, ErrNotConfchat) {
		t.Fatalf("err = %v, want ErrNotConfchat", err)
	}
}

func TestProfileLockInProcess(t *testing.T) {
	_, dir := openTemp(t)
	_, err := Open(context.Background(), dir)
	if !errors.Is(err, ErrProfileLocked) {
		t.Fatalf("second open: err = %v, want ErrProfileLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error does not name the profile: %v", err)
	}
}

// helperEnv selects a child-process role when the test binary re-executes
// itself.
const helperEnv = "CONFCHAT_STORAGE_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "hold":
		childHold(os.Getenv("PROFILE"))
	case "insert":
		childInsert(os.Getenv("PROFILE"))
	default:
		os.Exit(m.Run())
	}
}

func child(t *testing.T, role, profile string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, "PROFILE="+profile)
	cmd.Stderr = os.Stderr
	return cmd
}

// childHold opens the profile, says so, and waits to be killed.
func childHold(profile string) {
	db, err := Open(context.Background(), profile)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	defer db.Close()
	os.Stdout.WriteString("open\n")
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestProfileLockAcrossProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	cmd := child(t, "hold", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "open\n" {
		t.Fatalf("child: %q %v", buf, err)
	}
	var le *LockedError
	_, err = Open(context.Background(), dir)
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LockedError", err)
	}
	if le.PID != cmd.Process.Pid {
		t.Errorf("error names pid %d, child is %d", le.PID, cmd.Process.Pid)
	}
	// Once the holder dies (even by SIGKILL) the profile is free again.
	cmd.Process.Kill()
	cmd.Wait()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open after holder died: %v", err)
	}
	db.Close()
}
