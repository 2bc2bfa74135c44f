package tail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/server"
	"newsflash/internal/tail"
)

// wait bounds every blocking step, to avoid hangs; never an assertion
// about speed.
const wait = 20 * time.Second

var token, editorsLine = func() (string, string) {
	tok, line, err := editor.NewToken("alice")
	if err != nil {
		panic(err)
	}
	return tok, line
}()

// instance is a real server: embedded NATS in dir, a loopback port 0.
type instance struct {
	t    *testing.T
	srv  *server.Server
	addr string
	once sync.Once
}

func startServer(t *testing.T, dir string) *instance {
	t.Helper()
	eds, err := editor.ParseEditors(editorsLine)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	srv, err := server.New(ctx, server.Deps{Editors: eds, Logger: slog.New(slog.DiscardHandler)}, server.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, srv: srv, addr: ln.Addr().String()}
	go func() { _ = srv.Serve(ln) }()
	select {
	case <-srv.CaughtUp():
	case <-time.After(wait):
		t.Fatal("history did not catch up")
	}
	t.Cleanup(in.stop)
	return in
}

func (in *instance) base() string { return "http://" + in.addr }

// stop shuts the server down (once): SSE readers see their stream end.
func (in *instance) stop() {
	in.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := in.srv.Shutdown(ctx); err != nil {
			in.t.Errorf("shutdown: %v", err)
		}
	})
}

// do sends an editor's request and decodes the item answered.
func (in *instance) do(method, path, body string, want int) news.Item {
	in.t.Helper()
	req, err := http.NewRequest(method, in.base()+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		in.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	var it news.Item
	if err := json.Unmarshal(b, &it); err != nil {
		in.t.Fatal(err)
	}
	return it
}

func (in *instance) post(text, region string) news.Item {
	in.t.Helper()
	b, _ := json.Marshal(map[string]any{"text": text, "lang": "en", "regions": []string{region}})
	return in.do("POST", "/api/v1/items", string(b), http.StatusCreated)
}

// proxy forwards TCP connections to a backend that can change, or refuses
// them (accepts and closes) while it has none: a stable address for a
// server that restarts on another port.
type proxy struct {
	ln      net.Listener
	mu      sync.Mutex
	backend string
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.set("")
		p.wg.Wait()
	})
	return p
}

func (p *proxy) base() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *proxy) forward(c net.Conn) {
	p.mu.Lock()
	backend := p.backend
	p.mu.Unlock()
	if backend == "" {
		c.Close()
		return
	}
	b, err := net.Dial("tcp", backend)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(b, c); b.Close(); close(done) }()
	_, _ = io.Copy(c, b)
	c.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// set points the proxy at addr ("" refuses) and cuts every connection.
func (p *proxy) set(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backend = addr
	for c := range p.conns {
		c.Close()
	}
}

// follower runs tail.Run in the background and collects what it prints
// and its status lines.
type follower struct {
	t      *testing.T
	events chan tail.Event
	status chan string
	text   lockedBuffer
	done   chan error
}

func follow(t *testing.T, opts tail.Options) *follower {
	t.Helper()
	f := &follower{t: t, events: make(chan tail.Event, 100), status: make(chan string, 10000), done: make(chan error, 1)}
	opts.MinBackoff, opts.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	opts.Status = lineWriter(f.status)
	p := &tail.Printer{W: &f.text, Location: time.UTC}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		f.done <- tail.Run(ctx, opts, func(ev tail.Event) error {
			// Printed before it is handed over: a test that has the event
			// reads its line (the channel orders the write before the read).
			err := p.Print(ev)
			f.events <- ev
			return err
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// waitStatus waits for a status line containing s, skipping others.
func (f *follower) waitStatus(s string) string {
	f.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case l := <-f.status:
			if strings.Contains(l, s) {
				return l
			}
		case <-timeout:
			f.t.Fatalf("no status line with %q", s)
		}
	}
}

// next is the next event printed.
func (f *follower) next() tail.Event {
	f.t.Helper()
	select {
	case ev := <-f.events:
		return ev
	case <-time.After(wait):
		f.t.Fatal("no event printed")
	}
	return tail.Event{}
}

// want checks that the next event is typ for the item, at its seq.
func (f *follower) want(typ string, it news.Item) {
	f.t.Helper()
	ev := f.next()
	if ev.Type != typ || ev.Item.ID != it.ID || ev.Seq != it.Seq || ev.Item.Text != it.Text {
		f.t.Fatalf("printed %s %d %s %q, want %s %d %s %q", ev.Type, ev.Seq, ev.Item.ID, ev.Item.Text, typ, it.Seq, it.ID, it.Text)
	}
}

// none checks that nothing more was printed (call after an event that
// would have come after any stray one).
func (f *follower) none() {
	f.t.Helper()
	select {
	case ev := <-f.events:
		f.t.Fatalf("printed %s %d %q more", ev.Type, ev.Seq, ev.Item.Text)
	default:
	}
}

type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		select {
		case w <- l:
		default: // nobody is waiting for that many: drop
		}
	}
	return len(p), nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
