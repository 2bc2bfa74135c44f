// Package live is the reader side of Newsflash: the Hub that hands every
// stream event to the readers whose filter matches, and the WebSocket and
// SSE handlers that carry them.
//
// Each reader has a bounded send queue and exactly one writer at a time.
// An SSE reader's writer is its handler's goroutine. A WebSocket reader has
// no writer goroutine of its own: when it has frames queued it is put on the
// hub's run queue, and one of a few workers (Options.Writers: half
// of GOMAXPROCS, at least 1) writes everything queued in one non-blocking
// system call (sock.go); what the kernel does not take at once is written
// by a flusher goroutine with the write timeout while the reader waits
// (reader.block), so a slow peer never holds a worker. Those direct writes
// are Linux's (sock_linux.go); elsewhere, and with the newsflash_portable
// build tag, the flusher writes every batch through net.Conn
// (sock_other.go). A flusher ends once what was kept is written or a write
// failed; a connection closed while it has bytes (the close frame, often)
// is closed by the flusher after them, within the write timeout, unless
// Hub.Close, past its deadline, aborts it. The one goroutine a
// WebSocket reader keeps is its read side, which answers pings and notices
// the peer going.
//
// The hub never blocks on a reader: a reader whose queue is full is closed
// as a slow consumer (WebSocket status 1008) and resumes from history with
// since. Readers with equal filters share a group, matched once per event,
// and every frame (for WebSocket, header included) is encoded once per
// event, not once per reader. Readers past the instance's or an address's
// limit are refused before the upgrade (admit.go).
//
// Goroutines: New starts the writer workers, which Close stops (after the
// readers are gone). Each WebSocket reader has its read-side goroutine
// (ServeWS's, from net/http) and, while a write is pending, a flusher; each
// SSE reader runs on its handler's goroutine. They end when the reader goes:
// the peer leaves, the reader is closed as slow, or Close sends it away.
//
// Lock order: Hub.mu, then history.Log's lock, then reader.mu; Hub.mu, then
// the run queue's lock; sock.mu, then reader.mu (a sock blocks its reader
// under its lock). Deliver is called by the stream follower alone, after
// history.Log.Append.
package live
