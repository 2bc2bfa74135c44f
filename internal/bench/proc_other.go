//go:build !linux || newsflash_portable

package bench

import (
	"errors"
	"fmt"
	"time"
)

// errNoProc: the figures of processes come from Linux's /proc; elsewhere
// they are not known, and results leave them out.
var errNoProc = fmt.Errorf("process figures need Linux's /proc: %w", errors.ErrUnsupported)

func readCPU(int) (time.Duration, error) { return 0, errNoProc }
func readRSS(int) (int64, error)         { return 0, errNoProc }
func openFiles(int) (int, error)         { return 0, errNoProc }
func fileLimit(int) (int, error)         { return 0, errNoProc }

// ephemeralPorts is the IANA range (49152-65535), which macOS and Windows
// hand out by default.
func ephemeralPorts() int { return 16384 }
