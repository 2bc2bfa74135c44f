package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"newsflash/internal/news"
	"newsflash/internal/server"
	"newsflash/internal/stream"
)

// runNATS starts a real nats-server with JetStream on a loopback port 0.
func runNATS(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		SyncAlways: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(wait) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

func TestTwoInstancesOnOneNATS(t *testing.T) {
	url := runNATS(t)
	a := start(t, options{natsURL: url})
	b := start(t, options{natsURL: url})
	onA, _ := a.dialWS("regions=mena&backfill=0")
	onB, _ := b.dialWS("regions=mena&backfill=0")
	sseB := b.dialSSE("regions=mena&backfill=0", nil)
	sseB.mustNext()

	var posted []news.Item
	for i := 0; i < 10; i++ {
		in := a
		if i%2 == 1 {
			in = b
		}
		posted = append(posted, in.post(item(fmt.Sprintf("posted to %d", i%2), "en", []string{"mena"}, nil)))
	}
	for i, want := range posted {
		if want.Seq != uint64(i+1) {
			t.Fatalf("item %d has seq %d: the instances do not share one stream", i, want.Seq)
		}
		for name, r := range map[string]*wsReader{"A": onA, "B": onB} {
			if f := r.next(); f.Item.ID != want.ID || f.Seq != want.Seq {
				t.Fatalf("reader on %s got %+v, want %s", name, f, want.ID)
			}
		}
		if ev := sseB.mustNext(); ev.item(t).ID != want.ID {
			t.Fatalf("sse on B got %+v", ev)
		}
	}
	// A reader of A resumes on B from where it was.
	onA.conn.CloseNow()
	resumed, w := b.dialWS(fmt.Sprintf("regions=mena&since=%d", posted[6].Seq))
	if !w.Recovered {
		t.Fatalf("resume on the other instance: %+v", w)
	}
	for _, want := range posted[7:] {
		if f := resumed.next(); f.Item.ID != want.ID {
			t.Fatalf("resumed got %+v, want %s", f, want.ID)
		}
	}
	// A correction made on B of an item posted on A reaches A's readers.
	onA2, _ := a.dialWS("regions=mena&backfill=0")
	status, _, body := b.do("PATCH", "/api/v1/items/"+posted[0].ID, `{"priority":"urgent"}`, nil)
	if status != 200 {
		t.Fatalf("patch on B: %d %s", status, body)
	}
	if f := onA2.next(); f.Type != "update" || f.Item.Priority != "urgent" {
		t.Fatalf("A's reader got %+v", f)
	}
}

func TestShutdownSendsReadersAway(t *testing.T) {
	in := start(t, options{})
	ws, _ := in.dialWS("")
	sse := in.dialSSE("", nil)
	sse.mustNext()
	// The client answers the close handshake as a browser would.
	closed := make(chan error, 1)
	go func() { _, err := ws.read(); closed <- err }()
	in.stop()
	err := <-closed
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Fatalf("ws close status %v (%v), want 1001", got, err)
	}
	if ev, ok := sse.next(); ok {
		t.Fatalf("sse stream still open after shutdown: %+v", ev)
	}
	// Nothing listens any more.
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(in.base, "http://"), time.Second); err == nil {
		t.Fatal("listener still open after shutdown")
	}
}

// TestSlowReaderIsClosed fills the queue of a reader that does not read and
// checks that it is closed with 1008 while the others get everything.
func TestSlowReaderIsClosed(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Live.QueueSize = 16; c.Live.WriteTimeout = 2 * time.Minute }})
	fast1, _ := in.dialWS("backfill=0")
	fast2 := in.dialSSE("backfill=0", nil)
	fast2.mustNext()

	// The slow reader's socket buffer is tiny, so the server's writes to it
	// block soon and its queue fills.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = setRecvBuffer(fd, 1024)
		})
		return errors.Join(err, serr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(in.base, "http")+"/api/v1/ws?backfill=0",
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	slow.SetReadLimit(1 << 20)

	// Large frames (about 4 KB: 3-byte characters and a long url). 1,500 of
	// them (6 MB) are more than the kernel may buffer for one socket
	// (net.ipv4.tcp_wmem max is 4 MiB), so the slow reader's queue overflows
	// while the fast readers, reading as they come, get everything.
	const n = 1500
	text := strings.Repeat("界", 590)
	url := "https://example.com/" + strings.Repeat("a", 2000)
	// The fast readers report what they read, and why they stopped, on a
	// channel: t.Fatal in their goroutines would leave this one waiting.
	type read struct {
		ids []string
		err error
	}
	fastWS, fastSSE := make(chan read, 1), make(chan read, 1)
	// How far each fast reader has read: posting waits for them to come
	// within half a queue, so they are fast whatever the machine's load,
	// while the slow reader, which reads nothing, overflows.
	var readWS, readSSE atomic.Int64
	go func() {
		var ids []string
		for len(ids) < n {
			f, err := fast1.read()
			if err != nil {
				fastWS <- read{ids, err}
				return
			}
			ids = append(ids, f.Item.ID)
			readWS.Add(1)
		}
		fastWS <- read{ids: ids}
	}()
	go func() {
		var ids []string
		for len(ids) < n {
			ev, ok := fast2.next()
			if !ok {
				fastSSE <- read{ids, errors.New("the stream ended")}
				return
			}
			var it news.Item
			if err := json.Unmarshal([]byte(ev.Data), &it); err != nil {
				fastSSE <- read{ids, fmt.Errorf("event %q: %w", ev.Data, err)}
				return
			}
			ids = append(ids, it.ID)
			readSSE.Add(1)
		}
		fastSSE <- read{ids: ids}
	}()
	var posted []string
	const lead = 100 // under half the default reader queue
	for i := 0; i < n; i++ {
		for deadline := time.Now().Add(wait); readWS.Load() < int64(i-lead) || readSSE.Load() < int64(i-lead); {
			if time.Now().After(deadline) {
				t.Fatalf("fast readers at %d and %d of %d posted items", readWS.Load(), readSSE.Load(), i)
			}
			time.Sleep(time.Millisecond)
		}
		posted = append(posted, in.post(fmt.Sprintf(`{"text":"%d %s","lang":"en","regions":["europe"],"url":"%s"}`, i, text, url)).ID)
	}
	for name, ch := range map[string]chan read{"ws": fastWS, "sse": fastSSE} {
		got := <-ch
		if got.err != nil {
			t.Fatalf("fast %s reader stopped after %d of %d items: %v", name, len(got.ids), n, got.err)
		}
		if strings.Join(got.ids, ",") != strings.Join(posted, ",") {
			t.Fatalf("fast %s reader did not get every item in order", name)
		}
	}
	// Now the slow reader reads: what the server had written, then the close.
	// Its own bound: posting took part of the dial's, more so under -race
	// on a loaded machine.
	readCtx, cancelRead := context.WithTimeout(context.Background(), wait)
	defer cancelRead()
	got := 0
	for {
		_, _, err := slow.Read(readCtx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
				t.Fatalf("after %d frames the slow reader ended with %v (%v), want 1008", got, s, err)
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Reason != "slow consumer" {
				t.Fatalf("close reason %q", ce.Reason)
			}
			break
		}
		got++
	}
	if got >= n+1 {
		t.Fatalf("slow reader got all %d frames: it was never slow", got)
	}
	t.Logf("slow reader got %d of %d frames before its close", got, n+1)
}

func TestNATSDownAnswers503AndStoresNothing(t *testing.T) {
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(wait) {
		t.Fatal("nats not ready")
	}
	in := start(t, options{natsURL: ns.ClientURL()})
	port := ns.Addr().(*net.TCPAddr).Port
	ws, _ := in.dialWS("")
	ns.Shutdown()
	ns.WaitForShutdown()

	status, hdr, b := in.do("POST", "/api/v1/items", item("lost?", "en", []string{"mena"}, nil), nil)
	if e := decode[apiError](t, b); status != 503 || e.Error.Code != "unavailable" || hdr.Get("Retry-After") == "" {
		t.Fatalf("post with NATS down: %d %v %s", status, hdr, b)
	}
	if status, _, b := in.do("GET", "/readyz", "", nil); status != 503 {
		t.Fatalf("readyz with NATS down: %d %s", status, b)
	}
	if status, _, _ := in.do("GET", "/healthz", "", nil); status != 200 {
		t.Fatalf("healthz must stay 200 (the process is alive): %d", status)
	}
	// NATS comes back (same port, same store): the instance reconnects,
	// is ready again, and the reader, still connected, gets what follows.
	opts.Port = port
	ns2, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns2.Start()
	t.Cleanup(func() { ns2.Shutdown(); ns2.WaitForShutdown() })
	if !ns2.ReadyForConnections(wait) {
		t.Fatal("nats not ready again")
	}
	deadline := time.Now().Add(wait)
	for {
		if status, _, _ := in.do("GET", "/readyz", "", nil); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready after NATS came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := in.post(item("after the outage", "en", []string{"mena"}, nil))
	if f := ws.next(); f.Item.ID != after.ID || f.Seq != 1 {
		t.Fatalf("the reader got %+v first, want the item posted after the outage (seq 1: nothing of the failed post was stored)", f)
	}
}

// TestEmbeddedNATSListen opens the embedded server's client port, which
// requires the user and password generated into the data directory, and a
// second instance joins it there with them: one service on one stream.
func TestEmbeddedNATSListen(t *testing.T) {
	a := start(t, options{mutate: func(c *server.Options) { c.Stream.Listen = "127.0.0.1:0" }})
	addr := a.srv.Stream().ClientURL()
	if !strings.HasPrefix(addr, "nats://127.0.0.1:") {
		t.Fatalf("embedded client URL %q", addr)
	}
	user, password, err := stream.ReadCredentials(filepath.Join(a.dir, "nats-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	withURL, _ := url.Parse(addr)
	withURL.User = url.UserPassword(user, password)

	// Without them, or with a wrong password, another instance is refused.
	for _, c := range []stream.Options{{URL: addr}, {URL: addr, User: user, Password: "not " + password}} {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		srv, err := server.New(ctx, server.Deps{Logger: testLogger(t)}, server.Options{DataDir: t.TempDir(), Stream: c})
		cancel()
		if err == nil {
			srv.Shutdown(context.Background())
			t.Fatalf("an instance joined the embedded port as %q", c.User)
		}
	}

	// As --nats-user and --nats-password, and in --nats-url.
	b := start(t, options{natsURL: addr, mutate: func(c *server.Options) { c.Stream.User, c.Stream.Password = user, password }})
	c := start(t, options{natsURL: withURL.String()})
	onB, _ := b.dialWS("")
	onC, _ := c.dialWS("")
	it := a.post(item("via the embedded port", "en", []string{"asia"}, nil))
	for name, r := range map[string]*wsReader{"B": onB, "C": onC} {
		if f := r.next(); f.Item.ID != it.ID {
			t.Fatalf("reader on the joined instance %s got %+v", name, f)
		}
	}
	// Without --nats-listen there is no port.
	if d := start(t, options{}); d.srv.Stream().ClientURL() != "" {
		t.Fatal("embedded NATS opened a port without --nats-listen")
	}
}
