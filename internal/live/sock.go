package live

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Buffer sizes of a hijacked WebSocket connection. net/http hands a
// hijacker a 4 KiB reader and a 4 KiB writer that would stay with the
// connection for its life; readers send nothing but control frames (at
// most 131 bytes), coder/websocket writes only control frames, and data
// frames go straight to the sock, so small ones do: about 7.9 KiB less per
// reader. bufio reads or writes past its buffer directly, so a control
// frame larger than 64 bytes costs a system call more, and those are rare
// (a ping every --ws-ping-interval); 64 rather than 256 saves 384 bytes of
// live heap per reader (docs/BENCHMARKS.md, "Where the cost is").
const (
	sockReadBuf  = 64
	sockWriteBuf = 64
)

// hijackWriter is the gin writer handed to websocket.Accept: its Hijack
// swaps net/http's buffers for small ones over a sock.
type hijackWriter struct {
	gin.ResponseWriter // keeps WriteHeaderNow, which Accept needs with gin
	sock               *sock
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := w.ResponseWriter.Hijack()
	if err != nil {
		return nil, nil, err
	}
	var pre []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// What the client sent after the handshake, already read by net/http.
		b, _ := brw.Reader.Peek(n)
		pre = append([]byte(nil), b...)
	}
	s := newSock(conn, pre)
	w.sock = s
	return s, bufio.NewReadWriter(bufio.NewReaderSize(s, sockReadBuf), bufio.NewWriterSize(s, sockWriteBuf)), nil
}

var _ http.Hijacker = (*hijackWriter)(nil)

// sock is a hijacked WebSocket connection whose writes never wait for the
// peer: what the kernel will not take at once is kept and written by a
// flusher goroutine of its own, with a deadline, while the reader's run is
// blocked (reader.block) until the flusher is done. So the hub's few
// workers write for every reader, and a batch of frames costs one system
// call. coder/websocket's own writes (pongs, pings, close frames) come
// through Write and keep their order with ours.
type sock struct {
	net.Conn
	// fd is the connection's descriptor, written to directly (a RawConn
	// write costs its locks and checks again per write): safe because every
	// direct write happens under mu with closed false, and Close sets closed
	// under mu before the descriptor is closed. -1 (always, off Linux or
	// with the newsflash_portable build tag; see sock_linux.go and
	// sock_other.go): every write goes through the flusher.
	fd int

	// owned by the connection's one read goroutine
	pre []byte // read by net/http before the hijack

	// set before the first write
	timeout time.Duration // for the flusher's writes
	kill    func()        // closes the connection when a write fails

	// guarded by mu
	mu       sync.Mutex
	out      *[]byte // kept, not written yet; nil when empty
	flushing bool
	err      error     // the first write error; every later write fails
	waiter   *reader   // unblocked when the flusher is done
	closed   bool      // Close was called: nothing more is taken or written directly
	closing  bool      // Close left the connection to the flusher to close
	closeBy  time.Time // when closing: the flusher's last write deadline
}

// outBufs recycles the buffers of kept bytes and batches.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledOut keeps the pool from hoarding a rare huge buffer.
const maxPooledOut = 64 << 10

func newSock(c net.Conn, pre []byte) *sock {
	return &sock{Conn: c, pre: pre, fd: descriptor(c)}
}

// Close closes the connection; no direct write can be under way or follow.
// While the flusher has bytes to write (often the close frame
// coder/websocket wrote just before closing, which it believes sent), the
// flusher closes the connection once they are out, or at the write
// timeout from now: Close does not wait for it, since its callers may hold
// locks.
func (s *sock) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.flushing && s.err == nil {
		if !s.closing {
			s.closing, s.closeBy = true, time.Now().Add(s.timeout)
		}
		s.mu.Unlock()
		return nil
	}
	if s.err == nil {
		s.err = net.ErrClosed
	}
	s.mu.Unlock()
	return s.Conn.Close()
}

// abort closes the connection now, dropping what the flusher has yet to
// write: for a shutdown past its deadline.
func (s *sock) abort() {
	s.mu.Lock()
	s.closed = true
	if s.err == nil {
		s.err = net.ErrClosed
	}
	s.mu.Unlock()
	_ = s.Conn.Close()
}

func (s *sock) Read(p []byte) (int, error) {
	if len(s.pre) > 0 {
		n := copy(p, s.pre)
		s.pre = s.pre[n:]
		if len(s.pre) == 0 {
			s.pre = nil
		}
		return n, nil
	}
	return s.Conn.Read(p)
}

// Write is coder/websocket's way out; it never waits for the peer.
func (s *sock) Write(p []byte) (int, error) {
	one := [1][]byte{p}
	if _, err := s.send(one[:], nil); err != nil {
		return 0, err
	}
	return len(p), nil
}

// send writes frames in order without waiting for the peer, and reports
// whether some were kept for the flusher. Then r, when given, is blocked
// until the flusher is done.
func (s *sock) send(batch [][]byte, r *reader) (kept bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, s.err
	}
	if s.closed {
		return false, net.ErrClosed
	}
	if len(batch) == 1 && s.out == nil && !s.flushing {
		p := batch[0]
		n := s.tryWrite(p)
		if s.err != nil {
			return false, s.err
		}
		if n == len(p) {
			return false, nil
		}
		s.keep(p[n:])
	} else {
		for _, p := range batch {
			s.keep(p)
		}
		if !s.flushing {
			// The whole batch in one system call.
			b := *s.out
			n := s.tryWrite(b)
			if s.err != nil {
				return false, s.err
			}
			if n == len(b) {
				s.release()
				return false, nil
			}
			*s.out = b[:copy(b, b[n:])]
		}
	}
	if r != nil {
		s.waiter = r
		r.block()
	}
	if !s.flushing {
		s.flushing = true
		go s.flush()
	}
	return true, nil
}

func (s *sock) keep(p []byte) {
	if s.out == nil {
		s.out = outBufs.Get().(*[]byte)
	}
	*s.out = append(*s.out, p...)
}

func (s *sock) release() {
	b := s.out
	s.out = nil
	if cap(*b) <= maxPooledOut {
		*b = (*b)[:0]
		outBufs.Put(b)
	}
}

// flush writes what was kept, waiting for the peer up to the timeout each
// time; a peer that takes nothing for that long is cut off. After Close it
// closes the connection once everything is written or has failed.
func (s *sock) flush() {
	for {
		s.mu.Lock()
		if s.out == nil || s.err != nil {
			s.flushing = false
			closing := s.closing
			w, failed := s.waiter, s.err != nil || closing // a closed reader is not run again
			s.waiter = nil
			if closing && s.err == nil {
				s.err = net.ErrClosed
			}
			s.mu.Unlock()
			if closing {
				_ = s.Conn.Close()
			}
			if w != nil && !failed {
				w.unblock()
			}
			return
		}
		b := s.out
		s.out = nil
		deadline := time.Now().Add(s.timeout)
		if s.closing && s.closeBy.Before(deadline) {
			deadline = s.closeBy
		}
		s.mu.Unlock()

		_ = s.Conn.SetWriteDeadline(deadline)
		_, err := s.Conn.Write(*b)
		_ = s.Conn.SetWriteDeadline(time.Time{})
		if cap(*b) <= maxPooledOut {
			*b = (*b)[:0]
			outBufs.Put(b)
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			s.kill()
		}
	}
}
