//go:build !unix

package store

import "os"

// Without flock(2) the data folder is not locked: LockDir always succeeds.
// Tandem is served from Unix systems; this keeps the package building
// elsewhere.
func tryLock(*os.File) (held bool, err error) { return false, nil }

func unlock(*os.File) error { return nil }
