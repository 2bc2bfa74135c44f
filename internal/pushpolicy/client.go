package pushpolicy

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// Client returns the one *http.Client for push sends, shared by all of them
// and built in New. It keeps connections alive (HTTP/2 when the server
// offers it), never uses a proxy (the environment's proxy variables are
// ignored), never follows a redirect (it returns the 3xx response), applies
// the timeouts documented on Options and the constants of this package, and
// refuses with an error wrapping ErrRefused:
//
//   - any request whose URL fails the rules of CheckEndpoint, before dialling;
//   - any connection, after DNS resolution, to an address that is not
//     publicly routable (see dial.go), unless it is an address of an
//     InsecureTestEndpoints entry.
//
// Callers must not modify the returned client.
func (p *Policy) Client() *http.Client {
	return p.client
}

func (p *Policy) buildClient(timeout time.Duration) {
	p.dialer = &net.Dialer{
		Timeout:   DialTimeout,
		KeepAlive: 30 * time.Second,
		Control:   p.control,
	}
	p.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           p.dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		ResponseHeaderTimeout: ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       IdleConnTimeout,
		MaxIdleConns:          0, // no overall limit; MaxIdleConnsPerHost bounds each push service
		MaxIdleConnsPerHost:   MaxIdleConnsPerHost,
		MaxConnsPerHost:       MaxConnsPerHost,
	}
	p.client = &http.Client{
		Transport: &guard{policy: p, next: p.transport},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// guard checks every request URL against the policy before the transport
// sees it, so a refused URL never dials.
type guard struct {
	policy *Policy
	next   *http.Transport
}

var _ http.RoundTripper = (*guard)(nil)

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.policy.checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return g.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// shared transport.
func (g *guard) CloseIdleConnections() {
	g.next.CloseIdleConnections()
}
