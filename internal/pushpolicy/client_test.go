package pushpolicy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/news"
)

// recorder is a plain http test server that counts the TCP connections it
// accepts and keeps the bodies of the requests it serves.
type recorder struct {
	srv    *httptest.Server
	conns  atomic.Int64
	mu     sync.Mutex
	bodies []string
}

// newRecorder starts a recorder on ln (127.0.0.1:0 when nil) answering with
// h, or 201 Created when h is nil.
func newRecorder(t *testing.T, ln net.Listener, h http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	if ln != nil {
		r.srv.Listener.Close()
		r.srv.Listener = ln
	}
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) hostPort() string { return r.srv.Listener.Addr().String() }

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// checkUntouched fails unless the recorder accepted no connection at all.
func (r *recorder) checkUntouched(t *testing.T, name string) {
	t.Helper()
	if n, reqs := r.conns.Load(), r.requests(); n != 0 || len(reqs) != 0 {
		t.Errorf("%s accepted %d connections and served %d requests, want none", name, n, len(reqs))
	}
}

func newTestPolicy(t *testing.T, o Options) *Policy {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Client().CloseIdleConnections)
	return p
}

func post(p *Policy, url, body string) (*http.Response, error) {
	resp, err := p.Client().Post(url, "application/octet-stream", strings.NewReader(body))
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestInsecureTestEndpoint(t *testing.T) {
	listed := newRecorder(t, nil, nil)
	unlisted := newRecorder(t, nil, nil)
	_, port, _ := net.SplitHostPort(listed.hostPort())

	tests := []struct {
		name, entry, url string
	}{
		{"IP entry", listed.hostPort(), "http://" + listed.hostPort() + "/push/abc"},
		{"localhost entry", "localhost:" + port, "http://localhost:" + port + "/push/abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPolicy(t, Options{InsecureTestEndpoints: []string{tt.entry}})
			before := len(listed.requests())
			resp, err := post(p, tt.url, "payload "+tt.name)
			if err != nil {
				t.Fatalf("POST %s: %v", tt.url, err)
			}
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST %s: status %s, want 201", tt.url, resp.Status)
			}
			if got := listed.requests(); len(got) != before+1 || got[before] != "payload "+tt.name {
				t.Fatalf("listed server got %q, want one more request with the payload", got)
			}

			// Another server on the same address but not listed is refused
			// at the RoundTripper, before any dial.
			other := "http://" + unlisted.hostPort() + "/push/abc"
			_, err = post(p, other, "payload")
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("POST %s: %v, want ErrRefused", other, err)
			}
			var ve *news.ValidationError
			if !errors.As(err, &ve) || ve.Code != CodeInvalidEndpoint {
				t.Fatalf("POST %s: %v, want the CheckEndpoint error wrapped", other, err)
			}
			unlisted.checkUntouched(t, "unlisted server")
		})
	}
}

func TestClientRefusesNotAllowedURLsBeforeDialling(t *testing.T) {
	p := newTestPolicy(t, Options{})
	for _, url := range []string{
		"http://fcm.googleapis.com/fcm/send/x",
		"https://127.0.0.1/",
		"https://[::1]/",
		"https://fcm.googleapis.com@evil.com/",
		"https://evilnotify.windows.com/",
		"https://notify.windows.com.evil.com/",
		"https://fcm.googleapis.com:8443/",
	} {
		_, err := post(p, url, "x")
		var ve *news.ValidationError
		if !errors.Is(err, ErrRefused) || !errors.As(err, &ve) {
			t.Errorf("POST %s: %v, want ErrRefused wrapping a ValidationError", url, err)
		}
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	second := newRecorder(t, nil, nil)
	first := newRecorder(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+second.hostPort()+"/elsewhere", http.StatusFound)
	})
	p := newTestPolicy(t, Options{InsecureTestEndpoints: []string{first.hostPort(), second.hostPort()}})

	resp, err := post(p, "http://"+first.hostPort()+"/push/abc", "payload")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %s, want the 302 itself", resp.Status)
	}
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, second.hostPort()) {
		t.Fatalf("Location %q, want the second server", loc)
	}
	if n := len(first.requests()); n != 1 {
		t.Fatalf("first server served %d requests, want 1", n)
	}
	second.checkUntouched(t, "redirect target")
}

// TestClientIgnoresProxyEnvironment points the proxy variables at a
// listening server and checks that a push goes straight to its endpoint.
//
// net/http never proxies loopback destinations, even with
// http.ProxyFromEnvironment, so the endpoint listens on a non-loopback
// address of this machine when there is one; only then does the behavioural
// half of the test tell a nil Proxy from ProxyFromEnvironment. The transport
// is also checked directly.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	proxy := newRecorder(t, nil, nil)
	ln := listenNonLoopback(t)
	target := newRecorder(t, ln, nil)
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, proxy.srv.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	p := newTestPolicy(t, Options{InsecureTestEndpoints: []string{target.hostPort()}})
	if p.transport.Proxy != nil {
		t.Fatal("transport has a Proxy function, want nil")
	}
	resp, err := post(p, "http://"+target.hostPort()+"/push/abc", "payload")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %s, want 201", resp.Status)
	}
	if got := target.requests(); len(got) != 1 || got[0] != "payload" {
		t.Fatalf("endpoint got %q, want the payload", got)
	}
	proxy.checkUntouched(t, "proxy")
}

// listenNonLoopback listens on port 0 of the first non-loopback IPv4
// address of this machine, or of 127.0.0.1 when there is none.
func listenNonLoopback(t *testing.T) net.Listener {
	t.Helper()
	host := "127.0.0.1"
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				host = ipn.IP.String()
				break
			}
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	if host == "127.0.0.1" {
		t.Log("no non-loopback IPv4 address: the proxy test only checks the transport's Proxy field in earnest")
	}
	return ln
}

func TestClientConfiguration(t *testing.T) {
	p := newTestPolicy(t, Options{})
	c := p.Client()
	if c != p.Client() {
		t.Fatal("Client returns a new client on each call, want one shared client")
	}
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout %v, want %v", c.Timeout, DefaultTimeout)
	}
	if err := c.CheckRedirect(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("CheckRedirect = %v, want http.ErrUseLastResponse", err)
	}
	tr := p.transport
	switch {
	case tr.Proxy != nil:
		t.Error("Proxy is set")
	case !tr.ForceAttemptHTTP2:
		t.Error("HTTP/2 is not attempted")
	case tr.DisableKeepAlives:
		t.Error("keep-alives are off")
	case tr.TLSHandshakeTimeout != 5*time.Second, tr.ResponseHeaderTimeout != 10*time.Second,
		tr.IdleConnTimeout != 90*time.Second, p.dialer.Timeout != 5*time.Second:
		t.Error("timeouts differ from the documented ones")
	case tr.MaxIdleConnsPerHost != 256, tr.MaxConnsPerHost != 0:
		t.Error("pool sizes differ from the documented ones")
	case p.dialer.Control == nil:
		t.Error("the dialer has no Control hook")
	}

	if got := newTestPolicy(t, Options{Timeout: 3 * time.Second}).Client().Timeout; got != 3*time.Second {
		t.Errorf("Timeout option: client timeout %v, want 3s", got)
	}
}

// TestConcurrentUse shares one policy between goroutines that check
// endpoints and send through the shared client; run it with -race.
func TestConcurrentUse(t *testing.T) {
	srv := newRecorder(t, nil, nil)
	p := newTestPolicy(t, Options{InsecureTestEndpoints: []string{srv.hostPort()}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if err := p.CheckEndpoint("https://fcm.googleapis.com/fcm/send/x"); err != nil {
					t.Error(err)
				}
				if _, err := post(p, "http://"+srv.hostPort()+"/push", "x"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(srv.requests()); n != 80 {
		t.Fatalf("server served %d requests, want 80", n)
	}
}
