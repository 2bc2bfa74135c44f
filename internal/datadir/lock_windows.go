//go:build windows

package datadir

import (
	"os"

	"golang.org/x/sys/windows"
)

var errHeld = windows.ERROR_LOCK_VIOLATION

// lockFile locks one byte far past the PID, not the file's start: Windows
// locks are mandatory, and a second server must still read the PID to say
// who holds the directory. The lock goes when the handle is closed or the
// process ends.
func lockFile(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: 1} // byte 1<<32
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
}
