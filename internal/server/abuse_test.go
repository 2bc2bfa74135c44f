package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"newsflash/internal/server"
)

// client is an HTTP client whose connections come from one loopback
// address, so that tests can be several client addresses at once.
type client struct {
	t    *testing.T
	in   *instance
	http *http.Client
}

func (in *instance) from(t *testing.T, src string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, in: in, http: &http.Client{Transport: tr}}
}

type answer struct {
	status     int
	code       string
	retryAfter string
	header     http.Header
}

func (c *client) get(path string, hdr map[string]string) answer {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.in.base+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return answer{status: res.StatusCode, header: res.Header} // an SSE stream: do not read it
	}
	b, _ := io.ReadAll(res.Body)
	return answerOf(res, b)
}

func answerOf(res *http.Response, body []byte) answer {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return answer{status: res.StatusCode, code: e.Error.Code, retryAfter: res.Header.Get("Retry-After"), header: res.Header}
}

// ws opens a WebSocket reader; on refusal it returns the HTTP answer.
func (c *client) ws() (*websocket.Conn, answer) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.in.base, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPClient: c.http})
	if err == nil {
		c.t.Cleanup(func() { conn.CloseNow() })
		if _, _, err := conn.Read(ctx); err != nil { // the welcome
			c.t.Fatalf("reading the welcome: %v", err)
		}
		return conn, answer{status: http.StatusSwitchingProtocols}
	}
	if res == nil {
		c.t.Fatalf("dial ws: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	return nil, answerOf(res, b)
}

func (a answer) refused(t *testing.T, status int, code string) {
	t.Helper()
	if a.status != status || a.code != code {
		t.Fatalf("got %d %q, want %d %q", a.status, a.code, status, code)
	}
	if n, err := strconv.Atoi(a.retryAfter); err != nil || n < 1 {
		t.Fatalf("Retry-After %q, want whole seconds", a.retryAfter)
	}
}

func TestReadersPerAddressLimit(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Live.ReadersPerAddress = 3 }})
	a, b := in.from(t, "127.0.0.2"), in.from(t, "127.0.0.3")
	var open []*websocket.Conn
	for range 3 {
		conn, ans := a.ws()
		if conn == nil {
			t.Fatalf("reader refused within the limit: %+v", ans)
		}
		open = append(open, conn)
	}
	_, ans := a.ws()
	ans.refused(t, http.StatusTooManyRequests, "too_many_readers")
	a.get("/api/v1/sse", nil).refused(t, http.StatusTooManyRequests, "too_many_readers")
	if conn, ans := b.ws(); conn == nil {
		t.Fatalf("another address was refused: %+v", ans)
	}
	// A reader that goes gives its place back.
	open[0].Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(wait)
	for {
		conn, _ := a.ws()
		if conn != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed reader was never given back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The readers kept open still get news.
	in.post(item("Still here", "en", []string{"mena"}, nil))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, conn := range open[1:] {
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("an open reader lost its connection: %v", err)
			}
			if strings.Contains(string(b), "Still here") {
				break
			}
		}
	}
}

func TestMaxReadersRefusesNewAndKeepsOld(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Live.MaxReaders = 2 }})
	a, b := in.from(t, "127.0.0.2"), in.from(t, "127.0.0.3")
	r1, _ := a.ws()
	r2, _ := b.ws()
	if r1 == nil || r2 == nil {
		t.Fatal("readers within the limit were refused")
	}
	_, ans := in.from(t, "127.0.0.4").ws()
	ans.refused(t, http.StatusServiceUnavailable, "server_full")
	a.get("/api/v1/sse", nil).refused(t, http.StatusServiceUnavailable, "server_full")

	in.post(item("Both old readers get this", "en", []string{"mena"}, nil))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, conn := range []*websocket.Conn{r1, r2} {
		_, b, err := conn.Read(ctx)
		if err != nil || !strings.Contains(string(b), "Both old readers") {
			t.Fatalf("an existing reader did not get the item: %v %s", err, b)
		}
	}
}

func TestReaderConnectRate(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Limits.ReaderConnects = 2 }}) // bursts of 4
	a, b := in.from(t, "127.0.0.2"), in.from(t, "127.0.0.3")
	refused := -1
	for i := range 12 {
		if conn, ans := a.ws(); conn == nil {
			ans.refused(t, http.StatusTooManyRequests, "too_many_connects")
			refused = i
			break
		}
	}
	if refused < 0 {
		t.Fatal("12 connection attempts at once were all let through at 2/s (bursts of 4)")
	}
	if refused < 4 {
		t.Fatalf("refused attempt %d, within the burst of 4", refused+1)
	}
	if conn, ans := b.ws(); conn == nil {
		t.Fatalf("another address was refused: %+v", ans)
	}
}

func TestPublicAPIRate(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Limits.APIRequests = 2 }}) // bursts of 4
	a, b := in.from(t, "127.0.0.2"), in.from(t, "127.0.0.3")
	refused := -1
	for i := range 20 {
		if ans := a.get("/api/v1/items", nil); ans.status != http.StatusOK {
			ans.refused(t, http.StatusTooManyRequests, "too_many_requests")
			refused = i
			break
		}
	}
	if refused < 4 {
		t.Fatalf("refused at request %d, want after the burst of 4 and before 20", refused+1)
	}
	if ans := b.get("/api/v1/items", nil); ans.status != http.StatusOK {
		t.Fatalf("another address was refused: %+v", ans)
	}
	// An editor from the same address is not counted.
	for range 10 {
		if ans := a.get("/api/v1/items", map[string]string{"Authorization": "Bearer " + in.token}); ans.status != http.StatusOK {
			t.Fatalf("an editor was limited as the public: %+v", ans)
		}
	}
}

// TestAuthFailuresLimit: past the limit of invalid tokens an address gets
// 429 for every further invalid token, but a valid token from the same
// address (an office behind one NAT, a proxy not in --trusted-proxies) still
// works: only failures are throttled.
func TestAuthFailuresLimit(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Limits.AuthFailures = 3 }})
	a, b := in.from(t, "127.0.0.2"), in.from(t, "127.0.0.3")
	bad := map[string]string{"Authorization": "Bearer not-a-token"}
	good := map[string]string{"Authorization": "Bearer " + in.token}
	body := item("Posted past the failure limit", "en", []string{"europe"}, nil)
	for i := range 3 {
		if status := a.post("not-a-token", body); status != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %d, want 401", i+1, status)
		}
	}
	// Past the limit invalid tokens are refused before they are checked...
	a.get("/api/v1/push/stats", bad).refused(t, http.StatusTooManyRequests, "too_many_failures")
	if status := a.post("not-a-token", body); status != http.StatusTooManyRequests {
		t.Fatalf("bad token past the limit: %d, want 429", status)
	}
	// ...while the right token from the same address still writes, as often
	// as it likes, and does not lift the limit for the invalid ones.
	for i := range 3 {
		if status := a.post(in.token, body); status != http.StatusCreated {
			t.Fatalf("valid token %d past the failure limit: %d, want 201", i+1, status)
		}
	}
	if ans := a.get("/api/v1/items?limit=1", good); ans.status != http.StatusOK {
		t.Fatalf("editor read past the failure limit: %+v", ans)
	}
	a.get("/api/v1/push/stats", bad).refused(t, http.StatusTooManyRequests, "too_many_failures")
	a.get("/api/v1/push/stats", map[string]string{"Authorization": "Basic eDp5"}).refused(t, http.StatusTooManyRequests, "too_many_failures")
	// The public API without a token still works there, and the right
	// token works from elsewhere.
	if ans := a.get("/api/v1/items", nil); ans.status != http.StatusOK {
		t.Fatalf("public read refused after token failures: %+v", ans)
	}
	if ans := b.get("/api/v1/items?limit=1", good); ans.status != http.StatusOK {
		t.Fatalf("an editor from another address was refused: %+v", ans)
	}
}

func TestTrustedProxiesDecideTheClientAddress(t *testing.T) {
	limitAPI := func(c *server.Options) { c.Limits.APIRequests = 1 } // bursts of 2
	fwd := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

	// By default X-Forwarded-For is not believed: changing it does not
	// escape the limit.
	in := start(t, options{mutate: limitAPI})
	a := in.from(t, "127.0.0.2")
	statuses := ""
	for i := range 4 {
		statuses += strconv.Itoa(a.get("/api/v1/items", fwd("198.51.100."+strconv.Itoa(i+1))).status) + " "
	}
	if !strings.Contains(statuses, "429") {
		t.Fatalf("untrusted X-Forwarded-For escaped the limit: %s", statuses)
	}

	// Behind a trusted proxy each forwarded client has its own limit, and
	// a client that is not the proxy is still not believed.
	in = start(t, options{mutate: func(c *server.Options) {
		limitAPI(c)
		c.TrustedProxies = []string{"127.0.0.2/32"}
	}})
	proxy, other := in.from(t, "127.0.0.2"), in.from(t, "127.0.0.3")
	for i := range 2 {
		if ans := proxy.get("/api/v1/items", fwd("198.51.100.1")); ans.status != http.StatusOK {
			t.Fatalf("request %d of client 1 refused: %+v", i+1, ans)
		}
	}
	proxy.get("/api/v1/items", fwd("198.51.100.1")).refused(t, http.StatusTooManyRequests, "too_many_requests")
	if ans := proxy.get("/api/v1/items", fwd("198.51.100.2")); ans.status != http.StatusOK {
		t.Fatalf("a second client behind the proxy was limited with the first: %+v", ans)
	}
	statuses = ""
	for i := range 4 {
		statuses += strconv.Itoa(other.get("/api/v1/items", fwd("198.51.100."+strconv.Itoa(i+10))).status) + " "
	}
	if !strings.Contains(statuses, "429") {
		t.Fatalf("X-Forwarded-For from an untrusted address was believed: %s", statuses)
	}
}

// TestAssetsKeepTheirOwnHeaders: the API's CSP must not reach the site's
// files: on sw.js it would bind the service worker (its fetches, its
// notification icons).
func TestAssetsKeepTheirOwnHeaders(t *testing.T) {
	in := start(t, options{})
	c := in.from(t, "127.0.0.2")
	for _, path := range []string{"/sw.js", "/static/icon-192.png", "/ticker.js"} {
		ans := c.get(path, nil)
		if ans.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, ans.status)
		}
		if csp := ans.header.Get("Content-Security-Policy"); csp != "" {
			t.Errorf("GET %s has CSP %q, want none", path, csp)
		}
		if got := ans.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", path, got)
		}
	}
	if csp := c.get("/", nil).header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the page's own CSP is gone: %q", csp)
	}
}

func TestAPISecurityHeaders(t *testing.T) {
	in := start(t, options{})
	for _, path := range []string{"/api/v1/items", "/api/v1/nothing-here", "/api/v1/taxonomy"} {
		ans := in.from(t, "127.0.0.2").get(path, nil)
		for k, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := ans.header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

// TestConnectionsPerAddress: past its connection cap, an address's new TCP
// connections are closed unanswered; its open ones keep working, other
// addresses and trusted proxies are not affected, and a closed connection
// gives its place back.
func TestConnectionsPerAddress(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) {
		c.Limits.ConnectionsPerAddress = 3
		c.Live.ReadersPerAddress = 2
		c.TrustedProxies = []string{"127.0.0.4"}
	}})
	host := strings.TrimPrefix(in.base, "http://")
	// healthz asks for /healthz on c and reports whether it was answered.
	healthz := func(c net.Conn) bool {
		_ = c.SetDeadline(time.Now().Add(wait))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
			return false
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode == http.StatusOK
	}
	dial := func(src string) net.Conn {
		t.Helper()
		c, err := dialFrom(src, host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var open []net.Conn
	for i := range 3 {
		c := dial("127.0.0.2")
		if !healthz(c) {
			t.Fatalf("connection %d of 3 was not answered", i+1)
		}
		open = append(open, c)
	}
	over := dial("127.0.0.2")
	if healthz(over) {
		t.Fatal("a fourth connection from one address was answered, over a cap of 3")
	}
	for i, c := range open {
		if !healthz(c) {
			t.Fatalf("open connection %d stopped working", i+1)
		}
	}
	if !healthz(dial("127.0.0.3")) {
		t.Fatal("another address was refused")
	}
	for i := range 5 {
		if !healthz(dial("127.0.0.4")) {
			t.Fatalf("connection %d from the trusted proxy was refused", i+1)
		}
	}
	// A connection that closes gives its place back (once the server has
	// seen it close).
	open[0].Close()
	deadline := time.Now().Add(wait)
	for !healthz(dial("127.0.0.2")) {
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed connection was never given back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	local := in.from(t, "127.0.0.1")
	if n := metric(scrape(t, local), `newsflash_refused_total{reason="too_many_connections"}`); n < 1 {
		t.Fatalf("refused connections counted %v times, want at least 1", n)
	}
}

// TestConnectionsPerAddressAboveReaders: each reader holds a connection, so
// a connection cap at or below the readers' is a configuration error.
func TestConnectionsPerAddressAboveReaders(t *testing.T) {
	for _, tc := range []struct {
		conns, readers int
		ok             bool
	}{
		{0, 0, true},
		{201, 0, true},
		{200, 0, false},
		{10, 9, true},
		{10, 10, false},
		{10, -1, true},
		{-1, 300, true},
		{100, 0, false},
	} {
		cfg := server.Options{DataDir: t.TempDir()}
		cfg.Limits.ConnectionsPerAddress, cfg.Live.ReadersPerAddress = tc.conns, tc.readers
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		srv, err := server.New(ctx, server.Deps{Logger: testLogger(t)}, cfg)
		cancel()
		if err == nil {
			_ = srv.Shutdown(context.Background())
		}
		if (err == nil) != tc.ok {
			t.Errorf("connections %d, readers %d: error %v, want ok=%v", tc.conns, tc.readers, err, tc.ok)
		}
	}
}
