//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package datadir

import (
	"errors"
	"os"
)

// errHeld is never returned: there is no lock on these systems.
var errHeld = errors.New("locked")

// lockFile does nothing where neither flock nor LockFileEx exists (such as
// Solaris, AIX, Plan 9, WebAssembly): the directory is not guarded there.
func lockFile(*os.File) error { return nil }
