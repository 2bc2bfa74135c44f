//go:build linux && !newsflash_portable

package live

import (
	"net"
	"syscall"
)

// directWrites: socks write to their descriptors without waiting, and only
// what the kernel does not take goes to the flusher.
const directWrites = true

// descriptor returns c's descriptor, or -1 when c has none (a TLS
// connection, a pipe in tests).
func descriptor(c net.Conn) int {
	fd := -1
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(d uintptr) { fd = int(d) })
		}
	}
	return fd
}

// tryWrite writes what the kernel takes now, without waiting, and returns
// how much that was; a failure is kept in s.err. The descriptor is
// non-blocking (the runtime's poller set it so), so a full socket answers
// EAGAIN at once.
func (s *sock) tryWrite(p []byte) int {
	if s.fd < 0 || s.closed {
		return 0
	}
	var (
		n   int
		err error
	)
	for {
		n, err = syscall.Write(s.fd, p)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == syscall.EAGAIN:
		return 0
	case err != nil:
		s.err = err
		return 0
	}
	return n
}
