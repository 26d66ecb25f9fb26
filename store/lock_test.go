package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// flock locks belong to an open file description, not to a process: a
// second LockDir in the same process conflicts with the first, as a second
// process would.
func TestLockDirIsExclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // missing: LockDir creates it
	first, err := LockDir(dir)
	if err != nil {
		t.Fatalf("first LockDir: %v", err)
	}
	if b, err := os.ReadFile(first.Path()); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, %v; want this process's id %d", b, err, os.Getpid())
	}

	_, err = LockDir(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second LockDir on a held folder: got %v, want a *LockedError", err)
	}
	lockPath := filepath.Join(dir, LockFile)
	want := `data folder "` + dir + `" is in use by another tandem process (lock file ` + lockPath + ` held)`
	if err.Error() != want {
		t.Errorf("second LockDir:\ngot  %s\nwant %s", err, want)
	}
	// The refused attempt must not have taken the holder's id out of the file.
	if b, _ := os.ReadFile(lockPath); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("after a refused LockDir the lock file holds %q", b)
	}

	if err := first.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: got %v, want nil", err)
	}
	again, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after Release: %v", err)
	}
	if err := again.Release(); err != nil {
		t.Errorf("Release: %v", err)
	}
}

func TestLockDirOnAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LockDir(file)
	var le *LockedError
	if err == nil || errors.As(err, &le) || !strings.Contains(err.Error(), "not-a-folder") {
		t.Fatalf("LockDir on a file: got %v, want an error naming it that is not a *LockedError", err)
	}
}
