package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrLocked: another process (or another server in this one) holds the
// data directory.
var ErrLocked = errors.New("data directory in use")

// FileName is the lock file's name in the data directory.
const FileName = "LOCK"

// Dir is a locked data directory.
type Dir struct {
	f *os.File
}

// Lock creates dir if needed and locks it for as long as this process
// runs or until Release. A held lock is ErrLocked, naming the holder's PID.
func Lock(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir: open %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errHeld) {
			return nil, fmt.Errorf("%w: %s is locked by process %s (lock file %s): another newsflash serve uses it; stop that one or give this one another --data-dir",
				ErrLocked, dir, holder(path), path)
		}
		return nil, fmt.Errorf("data dir: lock %s: %w", path, err)
	}
	// The PID is for people and for the message above; the lock itself is
	// what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Dir{f: f}, nil
}

// holder reads the PID a locked file names.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	pid := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(pid); err != nil {
		return "(unknown: it has not written its PID yet)"
	}
	return pid
}

// Release unlocks the directory. The LOCK file stays: removing it could
// let a third server lock a new file while a second still waits on the
// old one.
func (d *Dir) Release() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := d.f.Close() // closing drops the lock
	d.f = nil
	return err
}
