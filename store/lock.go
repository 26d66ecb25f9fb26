package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// LockFile is the name of the lock file in a data folder.
const LockFile = "tandem.lock"

// Lock is one process's exclusive hold on a data folder: two processes
// writing one database would each believe they own its documents' hubs,
// and their edits would conflict at every revision. LockDir takes it;
// Release gives it up. The operating system releases it too when the
// process ends, however it ends, so a crash leaves no stale lock.
type Lock struct {
	path string
	mu   sync.Mutex
	f    *os.File // nil once released
}

// LockedError reports a data folder held by another Lock, in this process
// or another.
type LockedError struct {
	Dir  string // the data folder
	Path string // its lock file
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("data folder %q is in use by another tandem process (lock file %s held)", e.Dir, e.Path)
}

// LockDir creates dir if missing and takes an exclusive lock on
// dir/tandem.lock without waiting: if another Lock holds it, the error is
// a *LockedError. The lock is an flock(2) on an open file description, so
// two LockDir calls in one process conflict as two processes do. The lock
// file holds the holder's process id, for people; its content is not
// relied on.
func LockDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: lock data folder %q: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: lock data folder %q: %w", dir, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if held {
		f.Close()
		return nil, &LockedError{Dir: dir, Path: path}
	}
	// Best effort: the pid only helps whoever finds the folder busy.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{path: path, f: f}, nil
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release gives the lock up. Later calls do nothing. The file stays:
// removing it would let a process that opened it before the removal lock
// a file no one else can see.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("store: release %s: %w", l.path, err)
	}
	return nil
}
