package live

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// countConn counts the writes that reach the network.
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

func TestSockCorkSendsBatchInOneWrite(t *testing.T) {
	cc := &countConn{}
	s := &sock{Conn: cc}
	s.cork()
	for _, p := range []string{"one ", "two ", "three"} {
		if n, err := s.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("corked write %q: n=%d err=%v", p, n, err)
		}
	}
	if cc.writes != 0 {
		t.Fatalf("corked writes reached the connection: %d", cc.writes)
	}
	if err := s.uncork(); err != nil {
		t.Fatal(err)
	}
	if cc.writes != 1 || cc.data.String() != "one two three" {
		t.Fatalf("after uncork: %d writes of %q, want 1 of %q", cc.writes, cc.data.String(), "one two three")
	}
	// Uncorked, a write goes straight through; an empty batch writes nothing.
	if _, err := s.Write([]byte(" four")); err != nil {
		t.Fatal(err)
	}
	s.cork()
	if err := s.uncork(); err != nil {
		t.Fatal(err)
	}
	if cc.writes != 2 || cc.data.String() != "one two three four" {
		t.Fatalf("got %d writes of %q", cc.writes, cc.data.String())
	}
}

func TestSockReadsBytesBufferedBeforeHijack(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := &sock{Conn: a, pre: []byte("early")}
	go func() { _, _ = b.Write([]byte(" late")) }()
	got := make([]byte, 10)
	if _, err := io.ReadFull(s, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != "early late" {
		t.Fatalf("read %q, want %q", got, "early late")
	}
}

func TestReaderRunsOneWriterAtATime(t *testing.T) {
	var (
		mu      sync.Mutex
		started int
		runs    []func()
	)
	r := newReader(nil, 0, 4, [][]byte{[]byte("welcome")}, hooks{
		kill: func() {},
		run:  func(*reader) {},
		start: func(f func()) {
			mu.Lock()
			defer mu.Unlock()
			started++
			runs = append(runs, f)
		},
	})
	r.signal()
	r.enqueue([]byte("a"))
	r.enqueue([]byte("b"))
	if started != 1 {
		t.Fatalf("started %d writers while one runs, want 1", started)
	}
	batch, st, more := r.next(nil)
	if !more || st != stateOpen || len(batch) != 3 || string(batch[0]) != "welcome" || string(batch[2]) != "b" {
		t.Fatalf("next = %q, %d, %v; want welcome, a, b", batch, st, more)
	}
	if _, _, more := r.next(nil); more {
		t.Fatal("next with nothing queued should stop the writer")
	}
	r.enqueue([]byte("c"))
	if started != 2 {
		t.Fatalf("a new event after the writer stopped started %d writers in all, want 2", started)
	}
	// Overflow: the queue is dropped and the writer is told once.
	for range 5 {
		r.enqueue([]byte("x"))
	}
	batch, st, more = r.next(nil)
	if !more || st != stateSlow || len(batch) != 0 {
		t.Fatalf("after overflow next = %q, %d, %v; want nothing, slow, more", batch, st, more)
	}
	if _, st, more := r.next(nil); more || st != stateClosed {
		t.Fatalf("after the slow state was handed over next = %d, %v; want closed, stop", st, more)
	}
	r.enqueue([]byte("y"))
	r.setState(stateShutdown)
	if started != 2 {
		t.Fatalf("a closed reader started a writer: %d", started)
	}
}
