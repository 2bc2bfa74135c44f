//go:build unix && !newsflash_portable

package server

import "syscall"

// defaultMaxReaders leaves room under the open files limit for everything
// else a server holds (NATS, JetStream files, API clients, push sends):
// past the limit a server could accept nothing at all.
func defaultMaxReaders() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 0
	}
	return max(int(rl.Cur)-1024, 64)
}
