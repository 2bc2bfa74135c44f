//go:build unix && !newsflash_portable

package bench

import (
	"fmt"
	"syscall"
)

// raiseFileLimit raises this process's soft limit on open files to the hard
// limit, as far as the system lets it, and returns the soft limit in force.
// macOS refuses a soft limit above kern.maxfilesperproc while its hard limit
// is often unlimited: the limit then stays where the Go runtime put it at
// start (os raises it as far as it may), and checkLimits says whether the
// run fits.
func raiseFileLimit() (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = raised.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return int(min(lim.Cur, 1<<30)), nil
}
