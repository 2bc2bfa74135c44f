package live

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// countConn counts the writes that reach it; it is not a syscall.Conn, so
// a sock over it keeps everything for its flusher.
type countConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	data   bytes.Buffer
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.data.Write(p)
}

func (c *countConn) SetWriteDeadline(time.Time) error { return nil }

func (c *countConn) snapshot() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, c.data.String()
}

// waitFor polls cond for up to 10 s; only a guard against hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newTestReader(sched func(*reader)) *reader {
	return newReader(nil, 0, 4, nil, hooks{kill: func() {}, run: func(*reader) {}, schedule: sched})
}

func TestSockWritesBatchInOneWrite(t *testing.T) {
	cc := &countConn{}
	s := newSock(cc, nil)
	s.timeout, s.kill = time.Second, func() {}
	var mu sync.Mutex
	unblocked := 0
	r := newTestReader(func(*reader) { mu.Lock(); unblocked++; mu.Unlock() })
	r.first = [][]byte{[]byte("w")} // something for run to do once unblocked
	r.running = true
	kept, err := s.send([][]byte{[]byte("one "), []byte("two "), []byte("three")}, r)
	if err != nil || !kept {
		t.Fatalf("send = %v, %v; want kept for the flusher", kept, err)
	}
	waitFor(t, "the flusher", func() bool { n, _ := cc.snapshot(); return n > 0 })
	waitFor(t, "the reader to be scheduled again", func() bool { mu.Lock(); defer mu.Unlock(); return unblocked == 1 })
	if n, got := cc.snapshot(); n != 1 || got != "one two three" {
		t.Fatalf("%d writes of %q, want 1 of %q", n, got, "one two three")
	}
}

// TestSockKeepsWhatThePeerCannotTake fills a real TCP connection whose
// peer does not read: send never blocks, the reader is blocked, and once
// the peer reads everything arrives in order and the reader runs again.
func TestSockKeepsWhatThePeerCannotTake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn := <-accepted
	defer conn.Close()
	s := newSock(conn, nil)
	if directWrites && s.fd < 0 {
		t.Fatal("a TCP connection should give its descriptor")
	}
	s.timeout, s.kill = 30*time.Second, func() { conn.Close() }

	var mu sync.Mutex
	scheduled := 0
	r := newTestReader(func(*reader) { mu.Lock(); scheduled++; mu.Unlock() })
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var want bytes.Buffer
	if !directWrites {
		// Every send is kept for the flusher here: fill the socket first so
		// that its write waits for the peer, as a slow peer's would (else
		// it may finish before the reader's state is looked at).
		fill := bytes.Repeat([]byte("f"), 64<<10)
		for {
			_ = conn.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := conn.Write(fill)
			want.Write(fill[:n])
			if err != nil {
				break
			}
		}
		_ = conn.SetWriteDeadline(time.Time{})
	}
	var kept bool
	for i := 0; i < 1000 && !kept; i++ {
		frame := append([]byte{byte(i)}, chunk...)
		want.Write(frame)
		r.running = true
		if kept, err = s.send([][]byte{frame}, r); err != nil {
			t.Fatal(err)
		}
	}
	if !kept {
		t.Fatal("64 MB went out to a peer that reads nothing: the socket never filled")
	}
	r.mu.Lock()
	blocked, running := r.blocked, r.running
	r.mu.Unlock()
	if !blocked || running {
		t.Fatalf("after a kept write the reader is blocked=%v running=%v; want blocked, not running", blocked, running)
	}
	// More is kept behind, in order, while the flusher waits.
	tail := []byte("the end")
	if kept, err := s.send([][]byte{tail}, nil); err != nil || !kept {
		t.Fatalf("send behind a flusher = %v, %v; want kept", kept, err)
	}
	want.Write(tail)
	r.mu.Lock()
	r.first = [][]byte{[]byte("more")} // work for when it is unblocked
	r.mu.Unlock()

	got := make([]byte, want.Len())
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the peer read other bytes than were sent, or out of order")
	}
	waitFor(t, "the reader to be scheduled after the flusher caught up", func() bool { mu.Lock(); defer mu.Unlock(); return scheduled == 1 })
}

func TestSockReadsBytesBufferedBeforeHijack(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := newSock(a, []byte("early"))
	go func() { _, _ = b.Write([]byte(" late")) }()
	got := make([]byte, 10)
	if _, err := io.ReadFull(s, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != "early late" {
		t.Fatalf("read %q, want %q", got, "early late")
	}
}

func TestWSHeaderLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		f := wsText(make([]byte, n))
		var want []byte
		switch {
		case n < 126:
			want = []byte{0x81, byte(n)}
		case n < 65536:
			want = []byte{0x81, 126, byte(n >> 8), byte(n)}
		default:
			want = []byte{0x81, 127, 0, 0, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		if !bytes.Equal(f[:len(want)], want) || len(f) != len(want)+n {
			t.Errorf("payload %d: header % x, length %d; want % x and %d", n, f[:len(want)], len(f), want, len(want)+n)
		}
	}
}

func TestReaderRunsOneWriterAtATime(t *testing.T) {
	started := 0
	r := newReader(nil, 0, 4, [][]byte{[]byte("welcome")}, hooks{
		kill: func() {}, run: func(*reader) {},
		schedule: func(*reader) { started++ },
	})
	r.signal()
	if r.enqueue([]byte("a"), 0) || r.enqueue([]byte("b"), 0) {
		t.Fatal("enqueue asked to schedule a reader that is scheduled already")
	}
	if started != 1 {
		t.Fatalf("scheduled %d times, want 1", started)
	}
	batch, _, st, more := r.next(nil)
	if !more || st != stateOpen || len(batch) != 3 || string(batch[0]) != "welcome" || string(batch[2]) != "b" {
		t.Fatalf("next = %q, %d, %v; want welcome, a, b", batch, st, more)
	}
	if _, _, _, more := r.next(nil); more {
		t.Fatal("next with nothing queued should stop the writer")
	}
	if !r.enqueue([]byte("c"), 0) {
		t.Fatal("an event after the writer stopped should schedule it")
	}
	// Blocked (the peer is behind): events queue, nothing is scheduled
	// until unblock.
	r.block()
	if r.enqueue([]byte("d"), 0) {
		t.Fatal("a blocked reader was scheduled")
	}
	r.unblock()
	if started != 2 {
		t.Fatalf("unblock with work queued scheduled %d in all, want 2", started)
	}
	// Overflow: the queue is dropped and the writer is told once.
	for range 5 {
		r.enqueue([]byte("x"), 0)
	}
	batch, _, st, more = r.next(nil)
	if !more || st != stateSlow || len(batch) != 0 {
		t.Fatalf("after overflow next = %q, %d, %v; want nothing, slow, more", batch, st, more)
	}
	if _, _, st, more := r.next(nil); more || st != stateClosed {
		t.Fatalf("after the slow state was handed over next = %d, %v; want closed, stop", st, more)
	}
	if r.enqueue([]byte("y"), 0) {
		t.Fatal("a closed reader was scheduled")
	}
	r.setState(stateShutdown)
	if started != 2 {
		t.Fatalf("a closed reader was scheduled: %d", started)
	}
}

// TestSockClosedRefusesWrites: after Close nothing is written to the
// descriptor, which the system may already have given to another
// connection.
func TestSockClosedRefusesWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := newSock(conn, nil)
	s.timeout, s.kill = time.Second, func() {}
	// Written at once where writes are direct; kept for the flusher where
	// they are not.
	if kept, err := s.send([][]byte{[]byte("before")}, nil); kept == directWrites || err != nil {
		t.Fatalf("send before Close = %v, %v; want kept %v", kept, err, !directWrites)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.send([][]byte{[]byte("after")}, nil); err == nil {
		t.Fatal("send after Close did not fail")
	}
	if _, err := s.Write([]byte("after")); err == nil {
		t.Fatal("Write after Close did not fail")
	}
}

// gateConn holds every write until open is closed, and records what was
// written and whether it was closed.
type gateConn struct {
	countConn
	open     chan struct{}
	closedMu sync.Mutex
	closed   bool
}

func (c *gateConn) Write(p []byte) (int, error) {
	<-c.open
	return c.countConn.Write(p)
}

func (c *gateConn) Close() error {
	c.closedMu.Lock()
	defer c.closedMu.Unlock()
	c.closed = true
	return nil
}

func (c *gateConn) isClosed() bool {
	c.closedMu.Lock()
	defer c.closedMu.Unlock()
	return c.closed
}

// TestSockCloseWritesWhatIsKept: coder/websocket writes a close frame and
// then closes the connection; a close frame still with the flusher (always
// so off Linux) must reach the peer before the connection is closed.
func TestSockCloseWritesWhatIsKept(t *testing.T) {
	c := &gateConn{open: make(chan struct{})}
	s := newSock(c, nil)
	s.timeout, s.kill = time.Minute, func() {}
	if kept, err := s.send([][]byte{[]byte("frames "), []byte("close frame")}, nil); !kept || err != nil {
		t.Fatalf("send = %v, %v; want kept for the flusher", kept, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c.isClosed() {
		t.Fatal("Close closed the connection while the flusher had bytes to write")
	}
	if _, err := s.send([][]byte{[]byte("after")}, nil); err == nil {
		t.Fatal("send after Close did not fail")
	}
	close(c.open)
	waitFor(t, "the flusher to close the connection", c.isClosed)
	if n, got := c.snapshot(); n != 1 || got != "frames close frame" {
		t.Fatalf("%d writes of %q before the close, want 1 of %q", n, got, "frames close frame")
	}
	if _, err := s.Write([]byte("later")); err == nil {
		t.Fatal("Write after the flusher closed did not fail")
	}
}

// TestSockAbortDropsWhatIsKept: at a shutdown past its deadline the
// connection is closed at once, whatever the flusher has yet to write.
func TestSockAbortDropsWhatIsKept(t *testing.T) {
	c := &gateConn{open: make(chan struct{})}
	defer close(c.open) // lets the flusher's write return
	s := newSock(c, nil)
	s.timeout, s.kill = time.Minute, func() {}
	if kept, err := s.send([][]byte{[]byte("close frame")}, nil); !kept || err != nil {
		t.Fatalf("send = %v, %v; want kept for the flusher", kept, err)
	}
	if err := s.Close(); err != nil || c.isClosed() {
		t.Fatalf("Close = %v, closed %v; want the close left to the flusher", err, c.isClosed())
	}
	s.abort()
	if !c.isClosed() {
		t.Fatal("abort did not close the connection")
	}
	if _, err := s.send([][]byte{[]byte("after")}, nil); err == nil {
		t.Fatal("send after abort did not fail")
	}
}
