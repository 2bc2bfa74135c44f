package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/server"
)

// wait bounds every blocking step of a test, to avoid hangs; it is never an
// assertion about speed.
const wait = 20 * time.Second

type instance struct {
	t     testing.TB
	srv   *server.Server
	base  string // http://127.0.0.1:port
	token string
	dir   string
	done  chan error
}

type options struct {
	addr    string // listen here instead of a fresh loopback port
	dir     string
	natsURL string
	mutate  func(*server.Options)
	deps    func(*server.Deps) // replaces editors, taxonomy, logger
}

// testLogger sends logs to the test log only when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

const editorName = "alice"

// The instance's own editor is an admin, as the bootstrap editor is, so that
// tests reach every endpoint with it; role tests make others.
var editorToken, editorLine = mustTokenRole(editorName, editor.RoleAdmin)

func mustToken(name string) (string, string) {
	tok, line, err := editor.NewToken(name)
	if err != nil {
		panic(err)
	}
	return tok, line
}

func mustTokenRole(name, role string) (string, string) {
	tok, line, err := editor.NewTokenRole(name, role)
	if err != nil {
		panic(err)
	}
	return tok, line
}

// start runs a real instance: embedded NATS in a temp dir (or opts.natsURL),
// a real listener on a loopback port 0.
func start(t *testing.T, opts options) *instance {
	t.Helper()
	return startTB(t, opts)
}

// startB starts an instance for a benchmark.
func startB(b *testing.B, mutate func(*server.Options)) *instance {
	return startTB(b, options{mutate: mutate})
}

func startTB(t testing.TB, opts options) *instance {
	t.Helper()
	if opts.dir == "" {
		opts.dir = t.TempDir()
	}
	eds, err := editor.ParseEditors(editorLine)
	if err != nil {
		t.Fatal(err)
	}
	deps := server.Deps{Editors: eds, Logger: testLogger(t)}
	cfg := server.Options{DataDir: opts.dir}
	cfg.Stream.URL = opts.natsURL
	// Tests post alerts in quick succession; the flood guard's tests turn
	// it on again.
	cfg.Editor.AlertMinInterval, cfg.Editor.AlertDuplicateWindow = -1, -1
	if opts.mutate != nil {
		opts.mutate(&cfg)
	}
	if opts.deps != nil {
		opts.deps(&deps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	srv, err := server.New(ctx, deps, cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	addr := opts.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, srv: srv, base: "http://" + ln.Addr().String(), token: editorToken, dir: opts.dir, done: make(chan error, 1)}
	go func() { in.done <- srv.Serve(ln) }()
	select {
	case <-srv.CaughtUp():
	case <-time.After(wait):
		t.Fatal("history did not catch up")
	}
	t.Cleanup(in.stop)
	return in
}

// stop shuts the instance down (idempotent).
func (in *instance) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := in.srv.Shutdown(ctx); err != nil {
		in.t.Errorf("shutdown: %v", err)
	}
	select {
	case err := <-in.done:
		if err != nil {
			in.t.Errorf("serve: %v", err)
		}
		in.done <- nil
	case <-time.After(wait):
		in.t.Error("serve did not return")
	}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// do sends a request and returns status, headers and body.
func (in *instance) do(method, path, body string, hdr map[string]string) (int, http.Header, []byte) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.base+path, rd)
	if err != nil {
		in.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+in.token)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// post creates an item and fails the test unless it answers 201.
func (in *instance) post(body string) news.Item {
	in.t.Helper()
	status, _, b := in.do("POST", "/api/v1/items", body, nil)
	if status != http.StatusCreated {
		in.t.Fatalf("post %s: %d %s", body, status, b)
	}
	var it news.Item
	if err := json.Unmarshal(b, &it); err != nil {
		in.t.Fatal(err)
	}
	return it
}

func item(text, lang string, regions, topics []string) string {
	b, _ := json.Marshal(map[string]any{"text": text, "lang": lang, "regions": regions, "topics": topics})
	return string(b)
}

// alertItem is item posted with "alert": true: pushed as well as shown.
func alertItem(text, lang string, regions, topics []string) string {
	b, _ := json.Marshal(map[string]any{"text": text, "lang": lang, "regions": regions, "topics": topics, "alert": true})
	return string(b)
}

// frame is one reader message: welcome or event.
type frame struct {
	Type      string    `json:"type"`
	Seq       uint64    `json:"seq"`
	Epoch     string    `json:"epoch"`
	Recovered bool      `json:"recovered"`
	Backfill  int       `json:"backfill"`
	Item      news.Item `json:"item"`
}

type wsReader struct {
	t    testing.TB
	conn *websocket.Conn
}

// dialWS opens a WebSocket reader and returns it with its welcome frame.
func (in *instance) dialWS(query string) (*wsReader, frame) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(in.base, "http")+"/api/v1/ws?"+query, nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		in.t.Fatalf("dial ws %q: %d %v", query, status, err)
	}
	conn.SetReadLimit(1 << 20)
	r := &wsReader{t: in.t, conn: conn}
	in.t.Cleanup(func() { conn.CloseNow() })
	w := r.next()
	if w.Type != "welcome" {
		in.t.Fatalf("first frame is %q, want welcome", w.Type)
	}
	return r, w
}

func (r *wsReader) next() frame {
	r.t.Helper()
	f, err := r.read()
	if err != nil {
		r.t.Fatalf("ws read: %v", err)
	}
	return f
}

func (r *wsReader) read() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	typ, b, err := r.conn.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	if typ != websocket.MessageText {
		r.t.Fatalf("got a %v frame, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		r.t.Fatalf("frame %s: %v", b, err)
	}
	return f, nil
}

// sseReader reads a text/event-stream.
type sseReader struct {
	t      testing.TB
	res    *http.Response
	lines  *bufio.Scanner
	cancel context.CancelFunc
}

type sseEvent struct {
	ID    string
	Event string
	Data  string
}

func (in *instance) dialSSE(query string, hdr map[string]string) *sseReader {
	in.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", in.base+"/api/v1/sse?"+query, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		in.t.Fatalf("sse: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		cancel()
		in.t.Fatalf("sse %q: %d %s", query, res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		in.t.Fatalf("sse content type %q", ct)
	}
	r := &sseReader{t: in.t, res: res, lines: bufio.NewScanner(res.Body), cancel: cancel}
	in.t.Cleanup(r.close)
	return r
}

func (r *sseReader) close() { r.cancel(); r.res.Body.Close() }

// next returns the next event (comments skipped); ok is false at the end of
// the stream.
func (r *sseReader) next() (sseEvent, bool) {
	r.t.Helper()
	var ev sseEvent
	got := false
	timer := time.AfterFunc(wait, r.cancel)
	defer timer.Stop()
	for r.lines.Scan() {
		line := r.lines.Text()
		switch {
		case line == "":
			if got {
				return ev, true
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.ID, got = strings.TrimPrefix(line, "id: "), true
		case strings.HasPrefix(line, "event: "):
			ev.Event, got = strings.TrimPrefix(line, "event: "), true
		case strings.HasPrefix(line, "data: "):
			ev.Data, got = strings.TrimPrefix(line, "data: "), true
		case strings.HasPrefix(line, "retry: "):
		default:
			r.t.Fatalf("unexpected SSE line %q", line)
		}
	}
	return ev, false
}

func (r *sseReader) mustNext() sseEvent {
	r.t.Helper()
	ev, ok := r.next()
	if !ok {
		r.t.Fatal("sse stream ended")
	}
	return ev
}

func (ev sseEvent) item(t *testing.T) news.Item {
	t.Helper()
	var it news.Item
	if err := json.Unmarshal([]byte(ev.Data), &it); err != nil {
		t.Fatalf("sse data %q: %v", ev.Data, err)
	}
	return it
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func decodeInto(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
