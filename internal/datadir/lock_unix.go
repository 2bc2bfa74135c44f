//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package datadir

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errHeld = unix.EWOULDBLOCK

// lockFile takes a BSD lock, which belongs to the open file and goes when
// it is closed or the process ends; a second open of the file, even in this
// process, cannot take it.
func lockFile(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
