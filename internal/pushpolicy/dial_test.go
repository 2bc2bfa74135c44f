package pushpolicy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/news"
)

// countingTLSServer starts an httptest TLS server on 127.0.0.1 that counts
// the TCP connections it accepts (not only requests, so a connection that
// never got as far as a request still counts).
func countingTLSServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestDialRefusesAllowedNameResolvingToLoopback is the DNS rebinding
// defence: a host that passes CheckEndpoint but resolves to a loopback
// address must still be refused, by the dial hook, after resolution.
//
// "localhost" stands in for a rebinding name: it is on the allow list and
// resolves to 127.0.0.1 (and ::1). The test server cannot listen on port
// 443 without privileges, and CheckEndpoint (run again by the client's
// RoundTripper) refuses any other https port. So the policy here is built
// with newPolicy's test-only anyPort switch, which lifts nothing but the
// port-443 rule: the request passes the RoundTripper and reaches the dialer,
// and the error must come from the Control hook, not from CheckEndpoint.
// After that, the same URL is fetched with the server's own client to show
// the test would notice a connection that got through.
func TestDialRefusesAllowedNameResolvingToLoopback(t *testing.T) {
	srv, conns := countingTLSServer(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	target := "https://localhost:" + port + "/push/abc"

	strict, err := New(Options{AllowedHosts: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := strict.CheckEndpoint("https://localhost/push/abc"); err != nil {
		t.Fatalf("CheckEndpoint(https://localhost/...) = %v, want nil: the allow list must let the name through", err)
	}

	p, err := newPolicy(Options{AllowedHosts: []string{"localhost"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Client().CloseIdleConnections)
	if err := p.CheckEndpoint(target); err != nil {
		t.Fatalf("CheckEndpoint(%s) = %v, want nil with anyPort", target, err)
	}

	resp, err := p.Client().Post(target, "application/octet-stream", strings.NewReader("payload"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST %s: status %s, want an error", target, resp.Status)
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("POST %s: %v, want an error wrapping ErrRefused", target, err)
	}
	var ve *news.ValidationError
	if errors.As(err, &ve) {
		t.Fatalf("POST %s: refused by CheckEndpoint (%v), want the dial hook", target, err)
	}
	if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("POST %s: %v, want the reason (loopback) in the message", target, err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("server accepted %d connections, want 0", n)
	}

	// Control: the URL is reachable when the policy is not in the way. The
	// test certificate is for example.com, so verify it under that name.
	control := srv.Client()
	tr := control.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	control.Transport = tr
	defer tr.CloseIdleConnections()
	resp, err = control.Post(target, "application/octet-stream", strings.NewReader("payload"))
	if err != nil {
		t.Fatalf("control request: %v", err)
	}
	resp.Body.Close()
	if conns.Load() == 0 {
		t.Fatal("control request was not counted; the test cannot see connections")
	}
}

// TestDialerRefusesNonPublicAddresses dials through the client's own
// net.Dialer. Each address is refused with ErrRefused, which only the
// Control hook returns, and the hook runs after the socket is made and
// before connect: no packet leaves. An unreachable address such as 10.0.0.1
// would otherwise hang until the dial timeout instead of failing at once.
func TestDialerRefusesNonPublicAddresses(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{
		"10.0.0.1:443",
		"169.254.169.254:80",
		"127.0.0.1:443",
		"[::1]:443",
		"[fe80::1]:443",
		"224.0.0.1:443",
		"100.64.0.1:443",
		"[::ffff:127.0.0.1]:443",
		"[::ffff:169.254.169.254]:80",
		"0.0.0.0:443",
		"255.255.255.255:443",
		"192.168.1.1:443",
		"172.16.0.1:443",
		"[fd00::1]:443",
		"localhost:443", // resolved by the dialer, then refused
	}
	for _, addr := range addrs {
		t.Run(addr, func(t *testing.T) {
			// ErrRefused comes from the Control hook, which runs before
			// connect: no packet leaves for these addresses.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := p.dialer.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
				t.Fatalf("dial %s succeeded, want refused", addr)
			}
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("dial %s: %v, want an error wrapping ErrRefused from the Control hook", addr, err)
			}
		})
	}
}

// TestControl checks the Control hook's decision directly, for addresses
// that cannot be dialled from a test (public ones) and for the embedded
// IPv4 forms.
func TestControl(t *testing.T) {
	p, err := New(Options{InsecureTestEndpoints: []string{"127.0.0.1:41234", "localhost:8089", "[fe80::1]:9000"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		network, addr string
		allow         bool
	}{
		{"tcp4", "142.250.185.74:443", true},
		{"tcp4", "8.8.8.8:443", true},
		{"tcp6", "[2a00:1450:4001:82b::200a]:443", true},
		{"tcp6", "[64:ff9b::808:808]:443", true}, // NAT64 of a public address
		{"tcp6", "[2002:808:808::1]:443", true},  // 6to4 of a public address

		{"tcp4", "127.0.0.1:41234", true},   // insecure test endpoint
		{"tcp4", "127.0.0.1:8089", true},    // localhost resolves to 127.0.0.1 ...
		{"tcp6", "[::1]:8089", true},        // ... and ::1
		{"tcp6", "[fe80::1%lo]:9000", true}, // zones are ignored
		{"tcp4", "127.0.0.1:41235", false},  // same address, port not listed
		{"tcp6", "[::1]:41234", false},      // same port, address not listed

		{"tcp4", "0.1.2.3:443", false},
		{"tcp4", "10.255.255.255:443", false},
		{"tcp4", "100.127.255.255:443", false},
		{"tcp4", "127.255.0.1:443", false},
		{"tcp4", "169.254.0.1:443", false},
		{"tcp4", "172.31.255.255:443", false},
		{"tcp4", "192.168.0.1:443", false},
		{"tcp4", "192.0.0.8:443", false},
		{"tcp4", "198.18.0.1:443", false},
		{"tcp4", "239.255.255.250:443", false},
		{"tcp4", "240.0.0.1:443", false},
		{"tcp4", "255.255.255.255:443", false},
		{"tcp6", "[::]:443", false},
		{"tcp6", "[::1]:443", false},
		{"tcp6", "[::ffff:10.0.0.1]:443", false},
		{"tcp6", "[::ffff:100.64.0.1]:443", false},
		{"tcp6", "[::ffff:0.0.0.0]:443", false},
		{"tcp6", "[::7f00:1]:443", false}, // IPv4-compatible
		{"tcp6", "[64:ff9b::7f00:1]:443", false},
		{"tcp6", "[64:ff9b::a9fe:a9fe]:443", false},
		{"tcp6", "[2002:7f00:1::1]:443", false},
		{"tcp6", "[2001::1]:443", false},
		{"tcp6", "[fc00::1]:443", false},
		{"tcp6", "[fdff:ffff::1]:443", false},
		{"tcp6", "[fe80::1]:443", false},
		{"tcp6", "[febf::1]:443", false},
		{"tcp6", "[fec0::1]:443", false},
		{"tcp6", "[ff02::1]:443", false},
		{"udp4", "8.8.8.8:443", false},
		{"tcp4", "not-an-address", false},
	}
	for _, tt := range tests {
		err := p.control(tt.network, tt.addr, nil)
		switch {
		case tt.allow && err != nil:
			t.Errorf("control(%s, %s) = %v, want nil", tt.network, tt.addr, err)
		case !tt.allow && !errors.Is(err, ErrRefused):
			t.Errorf("control(%s, %s) = %v, want ErrRefused", tt.network, tt.addr, err)
		}
	}
}
