//go:build unix

package server_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"newsflash/internal/server"
)

// The interoperability test sends through a push service we did not write:
// the npm package web-push-testing (pinned in internal/server/testdata/webpush/package.json), a
// mock push service that checks the VAPID header (for aes128gcm: "vapid
// t=<jwt>, k=<key>", k equal to the subscription's applicationServerKey,
// the ES256 JWT verified by jsonwebtoken) and decrypts the body with the
// reference http_ece. It needs node and `npm ci` in internal/server/testdata/webpush: without
// them the test skips, unless NEWSFLASH_E2E=1 (set by .ci/run), where it
// fails. Unix only, for the process group.

// webPushTestingDir holds the pinned npm package, seen from this package
// (go test runs tests in the package directory).
var webPushTestingDir = filepath.Join("testdata", "webpush")

// needNodeTools returns the node binary and web-push-testing's server
// script, or skips (fails under NEWSFLASH_E2E=1) when one is missing.
func needNodeTools(t *testing.T) (node, script string) {
	t.Helper()
	missing := func(reason string) {
		t.Helper()
		if os.Getenv("NEWSFLASH_E2E") == "1" {
			t.Fatalf("%s; NEWSFLASH_E2E=1 requires it (see internal/server/testdata/webpush/README.md)", reason)
		}
		t.Skipf("%s; to run it, install Node.js and run npm ci in internal/server/testdata/webpush (under NEWSFLASH_E2E=1 this is a failure)", reason)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	dir, err := filepath.Abs(webPushTestingDir)
	if err != nil {
		t.Fatal(err)
	}
	// The server itself, not the CLI: `web-push-testing start` forks a
	// detached server and exits, keeping its pid in ./.node-persist.
	script = filepath.Join(dir, "node_modules", "web-push-testing", "src", "bin", "server.js")
	if _, err := os.Stat(script); err != nil {
		missing("web-push-testing is not installed in " + dir)
	}
	return node, script
}

// webPushTesting is a running web-push-testing server.
type webPushTesting struct {
	t    *testing.T
	base string // http://localhost:port, as its endpoints are
	host string // localhost:port, for Config.PushPolicy.InsecureTestEndpoints
}

// startWebPushTesting runs web-push-testing as a child process in its own
// process group, killed when the test ends.
//
// It builds its endpoint URLs from the port on its command line, so it
// cannot listen on port 0: the port is one the kernel just handed out to a
// listener we closed, and if another process takes it first the server
// exits with EADDRINUSE and we try another.
func startWebPushTesting(t *testing.T) *webPushTesting {
	t.Helper()
	node, script := needNodeTools(t)
	for try := 1; ; try++ {
		w, err := runWebPushTesting(t, node, script)
		if err == nil {
			return w
		}
		if !errors.Is(err, errPortTaken) || try == 5 {
			t.Fatalf("start web-push-testing: %v", err)
		}
	}
}

var errPortTaken = errors.New("port taken")

func runWebPushTesting(t *testing.T, node, script string) (*webPushTesting, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	out := &lockedBuffer{ready: make(chan struct{}), readyLine: "Server running on port " + strconv.Itoa(port) + "\n"}
	cmd := exec.Command(node, script, strconv.Itoa(port))
	cmd.Dir = filepath.Dir(script)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// kill ends the process group once; after Wait has reaped the
	// leader its id may be reused, so never signal it again.
	kill := sync.OnceFunc(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	select {
	case <-out.ready:
	case err := <-exited:
		if strings.Contains(out.String(), "EADDRINUSE") {
			return nil, errPortTaken
		}
		return nil, fmt.Errorf("exited (%v): %s", err, out)
	case <-time.After(wait):
		kill()
		return nil, fmt.Errorf("not listening after %v: %s", wait, out)
	}
	w := &webPushTesting{t: t, base: "http://localhost:" + strconv.Itoa(port), host: "localhost:" + strconv.Itoa(port)}
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			t.Logf("web-push-testing output:\n%s", out.String())
		}
	})
	if status := w.post("/status", nil, nil); status != http.StatusOK {
		kill()
		return nil, fmt.Errorf("POST /status answered %d", status)
	}
	return w, nil
}

// post sends a JSON request to web-push-testing (every route is a POST)
// and decodes a 200 answer into out.
func (w *webPushTesting) post(path string, body, out any) int {
	w.t.Helper()
	if body == nil {
		body = struct{}{} // its JSON parser refuses null
	}
	b, err := json.Marshal(body)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", w.base+path, bytes.NewReader(b))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("web-push-testing %s: %v", path, err)
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	if res.StatusCode == http.StatusOK && out != nil {
		decodeInto(w.t, rb, out)
	} else if res.StatusCode != http.StatusOK {
		w.t.Logf("web-push-testing %s: %d %s", path, res.StatusCode, rb)
	}
	return res.StatusCode
}

// wptSubscription is web-push-testing's PushSubscriptionJSON plus the hash
// that names it in its own API.
type wptSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
	ClientHash string `json:"clientHash"`
}

// subscribe creates a subscription for an application server key, as
// pushManager.subscribe({applicationServerKey}) does in a browser.
func (w *webPushTesting) subscribe(applicationServerKey string) wptSubscription {
	w.t.Helper()
	var res struct {
		Data wptSubscription `json:"data"`
	}
	if status := w.post("/subscribe", map[string]string{"applicationServerKey": applicationServerKey}, &res); status != http.StatusOK {
		w.t.Fatalf("web-push-testing subscribe: %d", status)
	}
	u, err := url.Parse(res.Data.Endpoint)
	if err != nil || u.Scheme != "http" || u.Host != w.host || res.Data.ClientHash == "" {
		w.t.Fatalf("web-push-testing subscription %+v: want an endpoint at http://%s", res.Data, w.host)
	}
	return res.Data
}

// notifications returns the decrypted payloads a subscription received.
func (w *webPushTesting) notifications(sub wptSubscription) []string {
	w.t.Helper()
	var res struct {
		Data struct {
			Messages []string `json:"messages"`
		} `json:"data"`
	}
	if status := w.post("/get-notifications", map[string]string{"clientHash": sub.ClientHash}, &res); status != http.StatusOK {
		w.t.Fatalf("web-push-testing get-notifications: %d", status)
	}
	return res.Data.Messages
}

// waitNotifications polls until sub has received n notifications. The
// mock has no way to tell us when one arrives, so this polls.
func (w *webPushTesting) waitNotifications(in *instance, sub wptSubscription, n int) []string {
	w.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got := w.notifications(sub)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			_, _, stats := in.do("GET", "/api/v1/push/stats", "", nil)
			w.t.Fatalf("web-push-testing got %d notifications in %v, want %d: %q\nnewsflash push stats: %s", len(got), wait, n, got, stats)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// registerWith posts a web-push-testing subscription to Newsflash, as the
// service worker's page does.
func (in *instance) registerWith(sub wptSubscription, filter string) {
	in.t.Helper()
	b, _ := json.Marshal(map[string]any{"endpoint": sub.Endpoint, "keys": sub.Keys})
	status, _, body := in.do("POST", "/api/v1/push/subscriptions", `{"subscription":`+string(b)+`,"filter":`+filter+`}`, map[string]string{"Authorization": ""})
	if status != http.StatusCreated {
		in.t.Fatalf("register %s: %d %s", sub.Endpoint, status, body)
	}
}

// itemPushStats waits until every delivery job of an item is done and
// returns its counts.
func (in *instance) itemPushStats(id string) (sent, failed, removed int) {
	in.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		_, _, b := in.do("GET", "/api/v1/push/stats?item="+id, "", nil)
		var st struct {
			Items []struct {
				Sent     int `json:"sent"`
				Failed   int `json:"failed"`
				Removed  int `json:"removed"`
				Jobs     int `json:"jobs"`
				JobsDone int `json:"jobs_done"`
			} `json:"items"`
		}
		decodeInto(in.t, b, &st)
		if len(st.Items) == 1 && st.Items[0].Jobs > 0 && st.Items[0].JobsDone == st.Items[0].Jobs {
			return st.Items[0].Sent, st.Items[0].Failed, st.Items[0].Removed
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("push stats of %s not done after %v: %s", id, wait, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInteropWebPushTesting(t *testing.T) {
	wpt := startWebPushTesting(t)
	in := start(t, options{mutate: func(c *server.Options) {
		c.VAPID.Subject = vapidSubject
		c.PushPolicy.InsecureTestEndpoints = []string{wpt.host}
	}})
	status, _, b := in.do("GET", "/api/v1/push/key", "", map[string]string{"Authorization": ""})
	key := decode[struct {
		PublicKey string `json:"public_key"`
	}](t, b).PublicKey
	if status != http.StatusOK || key == "" {
		t.Fatalf("push key: %d %s", status, b)
	}

	reader := wpt.subscribe(key)
	in.registerWith(reader, `{"regions":["mena"]}`)
	// A control: a subscription made for another server's key. The mock
	// must refuse our pushes to it (k= is not its applicationServerKey);
	// otherwise what the reader gets would prove nothing about VAPID.
	stranger := wpt.subscribe(otherVAPIDKey(t))
	in.registerWith(stranger, `{"regions":["mena"]}`)

	first := in.post(`{"text":"Interop: عاجل","lang":"ar","regions":["mena"],"alert":true}`)
	wpt.waitNotifications(in, reader, 1)
	// Wait for the first before posting more: an instance works on several
	// items at once, so only this makes the order below a fair demand.
	other := in.post(alertItem("Interop: elsewhere", "en", []string{"europe"}, nil))
	in.post(item("Interop: ticker only", "en", []string{"mena"}, nil)) // not an alert: never pushed
	end := in.post(alertItem("Interop: end", "en", []string{"mena"}, []string{"politics"}))
	got := wpt.waitNotifications(in, reader, 2)

	want := []struct{ id, text string }{{first.ID, first.Text}, {end.ID, end.Text}}
	if len(got) != len(want) {
		t.Fatalf("web-push-testing decrypted %d notifications, want %d (items %s, %s): %q", len(got), len(want), first.ID, end.ID, got)
	}
	for i, raw := range got {
		var p pushed
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatalf("notification %d is not JSON: %q: %v", i, raw, err)
		}
		if p.Type != "item" || p.Item.ID != want[i].id || p.Item.Text != want[i].text {
			t.Errorf("notification %d: type %q id %s text %q; want item %s %q (payload %s)", i, p.Type, p.Item.ID, p.Item.Text, want[i].id, want[i].text, raw)
		}
	}
	if n := len(wpt.notifications(stranger)); n != 0 {
		t.Errorf("the subscription for another VAPID key got %d notifications, want 0 (the mock did not check VAPID)", n)
	}
	// Newsflash's own account, once every delivery job is done: the europe
	// item was sent to nobody; each mena item reached the reader and was
	// refused (400) for the stranger.
	for _, c := range []struct {
		id                    string
		sent, failed, removed int
	}{{first.ID, 1, 1, 0}, {other.ID, 0, 0, 0}, {end.ID, 1, 1, 0}} {
		if sent, failed, removed := in.itemPushStats(c.id); sent != c.sent || failed != c.failed || removed != c.removed {
			t.Errorf("push stats of %s: sent %d failed %d removed %d, want %d %d %d", c.id, sent, failed, removed, c.sent, c.failed, c.removed)
		}
	}
}

// otherVAPIDKey is a fresh P-256 public key, base64url: some other
// application server's VAPID key.
func otherVAPIDKey(t *testing.T) string {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())
}

// lockedBuffer collects a child's output and closes ready when readyLine
// has been written.
type lockedBuffer struct {
	readyLine string
	ready     chan struct{}

	mu      sync.Mutex
	buf     bytes.Buffer
	isReady bool
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if !b.isReady && strings.Contains(b.buf.String(), b.readyLine) {
		b.isReady = true
		close(b.ready)
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
