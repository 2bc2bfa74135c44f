package live

import (
	"bufio"
	"net"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// Buffer sizes of a hijacked WebSocket connection. net/http hands a
// hijacker a 4 KiB reader and a 4 KiB writer that would stay with the
// connection for its life; readers send nothing but control frames (at
// most 131 bytes) and every data write goes through the cork buffer, so
// small ones do: about 7.5 KiB less per reader.
const (
	sockReadBuf  = 256
	sockWriteBuf = 256
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
	s := &sock{Conn: conn}
	if n := brw.Reader.Buffered(); n > 0 {
		// What the client sent after the handshake, already read by net/http.
		b, _ := brw.Reader.Peek(n)
		s.pre = append([]byte(nil), b...)
	}
	w.sock = s
	return s, bufio.NewReadWriter(bufio.NewReaderSize(s, sockReadBuf), bufio.NewWriterSize(s, sockWriteBuf)), nil
}

var _ http.Hijacker = (*hijackWriter)(nil)

// sock is a hijacked connection whose writes can be corked: while corked,
// writes collect in a buffer that uncork sends in one system call, so a
// batch of WebSocket messages costs one write instead of one per message.
// Writes from other goroutines (pongs, pings) made meanwhile join the batch
// in order.
type sock struct {
	net.Conn

	// owned by the connection's one read goroutine
	pre []byte // read by net/http before the hijack

	// guarded by mu
	mu     sync.Mutex
	corked bool
	buf    *[]byte
}

// corkBufs recycles cork buffers: a reader holds one only while a batch is
// written.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledCork keeps the pool from hoarding a rare huge batch's buffer.
const maxPooledCork = 64 << 10

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

func (s *sock) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.corked {
		*s.buf = append(*s.buf, p...)
		return len(p), nil
	}
	return s.Conn.Write(p)
}

// cork starts collecting writes.
func (s *sock) cork() {
	s.mu.Lock()
	s.corked = true
	if s.buf == nil {
		s.buf = corkBufs.Get().(*[]byte)
	}
	s.mu.Unlock()
}

// uncork writes what was collected and stops collecting.
func (s *sock) uncork() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corked = false
	b := s.buf
	if b == nil {
		return nil
	}
	s.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = s.Conn.Write(*b)
	}
	if cap(*b) <= maxPooledCork {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	return err
}
