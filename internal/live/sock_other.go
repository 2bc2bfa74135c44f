//go:build !linux || newsflash_portable

package live

import "net"

// directWrites: off Linux (and with the newsflash_portable build tag)
// socks have no descriptor to write to, and every frame is written by the
// sock's flusher through net.Conn with the write timeout: one goroutine
// and one write per batch, while the reader waits.
const directWrites = false

// descriptor is -1: nothing is written around net.Conn.
func descriptor(net.Conn) int { return -1 }

// tryWrite takes nothing; the flusher writes it all.
func (s *sock) tryWrite([]byte) int { return 0 }
