package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"newsflash/internal/live"
	"newsflash/internal/news"
	"newsflash/internal/server"
)

// TestHostileClients runs abusive clients against one instance, all at
// once, while an editor posts and well-behaved readers read: the server
// refuses or cuts off each abuser, stays responsive, and the good readers
// get every item once, in order, with its text intact.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile-client suite opens thousands of connections; skipped with -short")
	}
	in := start(t, options{mutate: func(c *server.Options) { c.ReadHeaderTimeout = time.Second }})
	host := strings.TrimPrefix(in.base, "http://")

	// Well-behaved readers, from addresses of their own.
	good := in.from(t, "127.0.0.9")
	ws, ans := good.ws()
	if ws == nil {
		t.Fatalf("good reader refused: %+v", ans)
	}
	ws.SetReadLimit(1 << 20)
	sse := in.dialSSE("", nil)
	defer sse.close()
	if ev := sse.mustNext(); ev.Event != "welcome" {
		t.Fatalf("SSE started with %q", ev.Event)
	}

	var wg sync.WaitGroup
	report := make(chan string, 16)
	attack := func(name string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			report <- name
		})
	}

	// 2,000 WebSocket connection attempts from one address: at most the
	// per-address limit get in, the rest are refused with 429 or, past the
	// connection cap (readers and attempts in flight together), closed
	// unanswered.
	attack("connection flood", func() error {
		flood := in.from(t, "127.0.0.2")
		var accepted, refused, other atomic.Int64
		sem := make(chan struct{}, 100)
		var fwg sync.WaitGroup
		for range 2000 {
			sem <- struct{}{}
			fwg.Go(func() {
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				conn, res, err := websocket.Dial(ctx, "ws://"+host+"/api/v1/ws", &websocket.DialOptions{HTTPClient: flood.http})
				switch {
				case err == nil:
					accepted.Add(1)
					t.Cleanup(func() { conn.CloseNow() })
				case res != nil && res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") != "":
					refused.Add(1)
				case res == nil && closedUnanswered(err):
					refused.Add(1)
				default:
					other.Add(1)
				}
			})
		}
		fwg.Wait()
		if a := accepted.Load(); a > live.DefaultReadersPerAddress || refused.Load() < 2000-live.DefaultReadersPerAddress || other.Load() > 0 {
			return fmt.Errorf("accepted %d, refused with 429 or closed %d, other %d", a, refused.Load(), other.Load())
		}
		return nil
	})

	// Slowloris: headers a byte at a time never finish; the server hangs up
	// after its header timeout.
	attack("slowloris", func() error {
		var swg sync.WaitGroup
		var cut atomic.Int64
		for range 100 {
			swg.Go(func() {
				c, err := dialFrom("127.0.0.3", host)
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = io.WriteString(c, "GET /api/v1/items HTTP/1.1\r\nHost: "+host+"\r\n")
				deadline := time.Now().Add(wait)
				for time.Now().Before(deadline) {
					if _, err := c.Write([]byte("X")); err != nil {
						cut.Add(1)
						return
					}
					_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
					if _, err := c.Read(make([]byte, 512)); err != nil && !isTimeout(err) {
						cut.Add(1) // closed (a 408 or 400 may come first)
						return
					}
				}
			})
		}
		swg.Wait()
		if n := cut.Load(); n != 100 {
			return fmt.Errorf("%d of 100 slow clients were cut off", n)
		}
		return nil
	})

	// Half-open handshakes: the upgrade is asked for, its answer never read.
	var halfOpen []net.Conn
	attack("half-open handshakes", func() error {
		for range 50 {
			c, err := dialFrom("127.0.0.4", host)
			if err != nil {
				return err
			}
			halfOpen = append(halfOpen, c)
			if _, err := io.WriteString(c, upgradeRequest(host)); err != nil {
				return err
			}
		}
		return nil
	})

	// Frames a client must not send: each connection is closed.
	attack("hostile frames", func() error {
		frames := map[string][]byte{
			"binary message":     clientFrame(0x82, []byte{1, 2, 3}),
			"text message":       clientFrame(0x81, []byte(`{"type":"subscribe"}`)),
			"oversized message":  clientFrame(0x81, make([]byte, 1<<20)),
			"reserved opcode":    clientFrame(0x83, []byte("x")),
			"unmasked frame":     {0x81, 0x01, 'x'},
			"ping too long":      clientFrame(0x89, make([]byte, 200)),
			"invalid close code": clientFrame(0x88, []byte{0x03, 0xe7}), // 999
			"reserved bits set":  append(clientFrame(0x89, nil), clientFrame(0xf1, []byte("x"))...),
		}
		frames["fragmented control"] = clientFrame(0x09, []byte("ping")) // FIN unset
		for name, f := range frames {
			if err := sendAndExpectClose(host, f); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})

	// Hostile requests: each gets its error, nothing is published.
	attack("hostile requests", func() error {
		c := in.from(t, "127.0.0.6")
		for _, tc := range []struct {
			name, body string
			want       int
		}{
			{"10 MB body", `{"text":"` + strings.Repeat("a", 10<<20) + `","lang":"en","regions":["mena"]}`, http.StatusRequestEntityTooLarge},
			{"deeply nested JSON", strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000), http.StatusRequestEntityTooLarge},
			{"nested JSON under the size limit", `{"text":` + strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000) + `}`, http.StatusBadRequest},
			{"invalid UTF-8", "{\"text\":\"bad \xff\xfe text\",\"lang\":\"en\",\"regions\":[\"mena\"]}", http.StatusBadRequest},
		} {
			if got := c.post(in.token, tc.body); got != tc.want {
				return fmt.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
		}
		// A query string far past the header limit.
		conn, err := dialFrom("127.0.0.6", host)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(wait))
		_, _ = io.WriteString(conn, "GET /api/v1/items?regions="+strings.Repeat("mena,", 200_000)+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil && res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			return fmt.Errorf("huge query string: %d, want 431", res.StatusCode)
		}
		return nil
	})

	// Meanwhile the editor posts, text that must stay text included.
	texts := []string{
		"\u202Eevil.exe — right-to-left override kept as text",
		"مراسل الميادين: مسيّرة إسرائيلية تستهدف سيارة في بلدة برعشيت",
		`<img src=x onerror=alert(1)> & "quotes"`,
	}
	var posted []news.Item
	for i := range 30 {
		text := texts[i%len(texts)] + fmt.Sprintf(" #%d", i)
		posted = append(posted, in.post(item(text, "en", []string{"mena"}, nil)))
		if got := posted[i].Text; got != text {
			t.Fatalf("posted text changed: %q, want %q", got, text)
		}
		time.Sleep(20 * time.Millisecond)
	}

	wg.Wait()
	close(report)
	for name := range report {
		t.Logf("attack held off: %s", name)
	}

	// The server still answers, and takes new readers.
	if code, _, _ := in.do("GET", "/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	if conn, ans := in.from(t, "127.0.0.11").ws(); conn == nil {
		t.Fatalf("a new reader was refused after the attacks: %+v", ans)
	}

	// The good readers got every item once, in order, text intact.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for i, want := range posted {
		var f struct {
			Type string
			Item news.Item
		}
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("good WebSocket reader lost after %d items: %v", i, err)
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Type != "item" || f.Item.ID != want.ID || f.Item.Text != want.Text {
			t.Fatalf("good WebSocket reader, item %d: got %s, want %s %q", i, b, want.ID, want.Text)
		}
		ev := sse.mustNext()
		if got := ev.item(t); got.ID != want.ID || got.Text != want.Text {
			t.Fatalf("good SSE reader, item %d: got %s %q, want %s %q", i, got.ID, got.Text, want.ID, want.Text)
		}
	}
	for _, c := range halfOpen {
		c.Close()
	}
}

func (c *client) post(token, body string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.in.base+"/api/v1/items", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.http.Do(req)
	if err != nil {
		return 0 // a server may hang up on a huge body after answering
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func dialFrom(src, host string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: wait}
	return d.Dial("tcp", host)
}

// closedUnanswered reports whether err is a connection the server closed
// before answering (as past the connection cap): the end of the connection,
// a reset, or net/http's client error for a connection closed before it
// could send.
func closedUnanswered(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "reset") || strings.Contains(msg, "server closed idle connection")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func upgradeRequest(host string) string {
	return "GET /api/v1/ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// clientFrame is a masked frame with the given first byte (FIN, opcode).
func clientFrame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := []byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, mask...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

// sendAndExpectClose upgrades, reads the welcome, sends raw bytes, and
// waits for the server to close the connection.
func sendAndExpectClose(host string, raw []byte) error {
	c, err := dialFrom("127.0.0.5", host)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, upgradeRequest(host)); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade answered %d", res.StatusCode)
	}
	go func() { _, _ = c.Write(raw) }()
	// Read frames until a close frame or the end of the connection.
	for {
		h := make([]byte, 2)
		if _, err := io.ReadFull(br, h); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "reset") {
				return nil
			}
			return fmt.Errorf("waiting for the close: %w", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return nil
		}
		if h[0]&0x0f == 0x8 {
			return nil // the server's close frame
		}
	}
}

// TestUnsentBodiesDoNotHoldConnections: a request whose headers promise a
// body that never comes holds its connection only until the request
// timeout, on every non-streaming route, not just the API: health, metrics,
// pages, unknown paths, wrong methods.
func TestUnsentBodiesDoNotHoldConnections(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.RequestTimeout = 300 * time.Millisecond }})
	host := strings.TrimPrefix(in.base, "http://")
	for _, tc := range []struct{ name, method, path, header string }{
		{"GET /healthz", "GET", "/healthz", "Content-Length: 10"},
		{"GET /readyz chunked", "GET", "/readyz", "Transfer-Encoding: chunked"},
		{"GET unknown path", "GET", "/nothing-here", "Content-Length: 10"},
		{"POST unknown path", "POST", "/nothing-here", "Content-Length: 10"},
		{"POST unknown path chunked", "POST", "/nothing-here", "Transfer-Encoding: chunked"},
		{"POST /healthz", "POST", "/healthz", "Content-Length: 10"},
		{"PUT /metrics", "PUT", "/metrics", "Content-Length: 10"},
		{"POST a page", "POST", "/", "Content-Length: 10"},
		{"POST /api/v1/items", "POST", "/api/v1/items", "Content-Length: 10"},
		{"GET /api/v1/sse", "GET", "/api/v1/sse", "Content-Length: 10"},
		{"GET /api/v1/ws", "GET", "/api/v1/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(wait))
			req := tc.method + " " + tc.path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + in.token +
				"\r\nContent-Type: application/json\r\n" + tc.header + "\r\n\r\n"
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			// Whatever the server answers, it must then hang up.
			if _, err := io.Copy(io.Discard, c); isTimeout(err) {
				t.Fatalf("the connection was still open after %s", wait)
			}
		})
	}
}

// TestKeptAliveConnectionsOutliveRequestDeadlines: the deadlines of one
// request do not reach the next request on the same connection, nor a reader
// that opens on it.
func TestKeptAliveConnectionsOutliveRequestDeadlines(t *testing.T) {
	const timeout = 300 * time.Millisecond
	in := start(t, options{mutate: func(c *server.Options) { c.RequestTimeout = timeout }})
	host := strings.TrimPrefix(in.base, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	get := func(path string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return res
	}
	for i := range 2 {
		res := get("/healthz")
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d on the kept-alive connection: %d", i+1, res.StatusCode)
		}
		time.Sleep(2 * timeout) // let the request's deadlines pass
	}
	// An SSE reader on the same connection lives past the request timeout
	// and gets what is posted then.
	res := get("/api/v1/sse")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("SSE on the kept-alive connection: %d", res.StatusCode)
	}
	time.Sleep(2 * timeout)
	in.post(item("Still streaming", "en", []string{"mena"}, nil))
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "Still streaming") {
			return
		}
	}
	t.Fatalf("the SSE reader ended before the item: %v", lines.Err())
}

// TestBodiesWhereNoneBelongs: requests that take no body (GET, HEAD, and
// DELETE but for the push unsubscribe) are refused with 413
// body_not_allowed when they carry one, at once, without the server reading
// it, and the connection is not kept.
func TestBodiesWhereNoneBelongs(t *testing.T) {
	in := start(t, options{})
	host := strings.TrimPrefix(in.base, "http://")
	for _, tc := range []struct {
		name, method, path, header string
		sendBody                   bool // else the body is promised, never sent
		want                       int
		code                       string
	}{
		{"GET /healthz", "GET", "/healthz", "Content-Length: 2", true, 413, "body_not_allowed"},
		{"GET /healthz, body never sent", "GET", "/healthz", "Content-Length: 10", false, 413, "body_not_allowed"},
		{"GET /readyz chunked, body never sent", "GET", "/readyz", "Transfer-Encoding: chunked", false, 413, "body_not_allowed"},
		{"GET /metrics", "GET", "/metrics", "Content-Length: 2", true, 413, "body_not_allowed"},
		{"GET a page", "GET", "/", "Content-Length: 2", true, 413, "body_not_allowed"},
		{"GET unknown path", "GET", "/nothing-here", "Content-Length: 2", true, 413, "body_not_allowed"},
		{"GET /api/v1/items", "GET", "/api/v1/items", "Content-Length: 2", true, 413, "body_not_allowed"},
		{"GET /api/v1/sse", "GET", "/api/v1/sse", "Content-Length: 10", false, 413, "body_not_allowed"},
		{"HEAD /healthz", "HEAD", "/healthz", "Content-Length: 10", false, 413, ""},
		{"DELETE an item", "DELETE", "/api/v1/items/01J0000000000000000000000", "Content-Length: 2", true, 413, "body_not_allowed"},
		{"GET with an empty body", "GET", "/healthz", "Content-Length: 0", false, 200, ""},
		{"DELETE a push subscription", "DELETE", "/api/v1/push/subscriptions", "Content-Length: 2", true, 503, "push_disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(wait))
			req := tc.method + " " + tc.path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + in.token +
				"\r\nContent-Type: application/json\r\n" + tc.header + "\r\n\r\n"
			if tc.sendBody {
				req += "{}"
			}
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: tc.method})
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			b, _ := io.ReadAll(res.Body)
			var e apiError
			_ = json.Unmarshal(b, &e)
			if res.StatusCode != tc.want || e.Error.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q (%s)", res.StatusCode, e.Error.Code, tc.want, tc.code, b)
			}
			if tc.want == http.StatusRequestEntityTooLarge && !res.Close {
				t.Error("the connection is kept after refusing a body")
			}
		})
	}
}
