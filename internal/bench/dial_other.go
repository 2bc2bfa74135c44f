//go:build !linux || newsflash_portable

package bench

import "syscall"

// bindNoPort does nothing: IP_BIND_ADDRESS_NO_PORT is Linux's, and without
// it each bind to a source address takes a port of its own.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
