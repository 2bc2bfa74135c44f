package pushpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ErrRefused is wrapped by every error of Client that comes from the policy:
// a request URL that fails CheckEndpoint, or a dial to a non-public address.
var ErrRefused = errors.New("push endpoint refused by policy")

// Timeouts and pool sizes of the transport behind Client. Only the whole
// request timeout is configurable (Options.Timeout).
const (
	DefaultTimeout        = 15 * time.Second
	DialTimeout           = 5 * time.Second
	TLSHandshakeTimeout   = 5 * time.Second
	ResponseHeaderTimeout = 10 * time.Second
	IdleConnTimeout       = 90 * time.Second
	MaxIdleConnsPerHost   = 256
	MaxConnsPerHost       = 0 // no limit
)

// resolveTimeout bounds the DNS look-up of a host name in
// InsecureTestEndpoints at New time.
const resolveTimeout = 5 * time.Second

// DefaultAllowedHosts returns the hosts of the push services of Chrome and
// Edge (FCM), Firefox (Mozilla autopush), Safari (Apple) and Windows (WNS).
// It returns a new slice on every call.
func DefaultAllowedHosts() []string {
	return []string{
		"fcm.googleapis.com",
		"android.googleapis.com",
		"updates.push.services.mozilla.com",
		"web.push.apple.com",
		"*.push.apple.com",
		"*.notify.windows.com",
	}
}

// Options configures a Policy. The zero value is the production policy.
type Options struct {
	// AllowedHosts are the push-service hosts endpoints may point at. An
	// entry "example.com" matches the host exactly or as a dot-suffix
	// ("x.example.com"); "*.example.com" matches only dot-suffixes, never
	// "example.com" itself nor "xexample.com". Entries are DNS names without
	// scheme, port, path or user info; they are lower-cased and a trailing
	// dot is dropped. New returns an error naming a bad entry. Empty means
	// DefaultAllowedHosts().
	AllowedHosts []string

	// InsecureTestEndpoints are "host:port" pairs ("127.0.0.1:41234",
	// "localhost:8089", "[::1]:9000") that endpoints may use over plain http
	// or https, on any port, even on loopback or private addresses. An
	// endpoint matches only with exactly this host and port (the scheme's
	// default port when the URL has none). Hosts are resolved once, in New:
	// IP literals as they are, "localhost" as 127.0.0.1 and ::1, any other
	// name through DNS. ONLY for tests and local benchmarks. Empty by default.
	InsecureTestEndpoints []string

	// AnyPublicHost lets URLs name any DNS host instead of only
	// AllowedHosts (which is then ignored): for URLs partners give, such
	// as webhooks and WebSub callbacks. Every other rule stays: https on
	// port 443, a DNS name (not an IP address, not "localhost" or a name
	// under it), and at dial time a publicly routable address only.
	AnyPublicHost bool

	// Timeout bounds one whole push request: dial, TLS handshake, request
	// and response headers (http.Client.Timeout). Zero means DefaultTimeout
	// (15 s); it must not be negative.
	Timeout time.Duration
}

// Policy decides which push endpoints Newsflash may talk to and owns the one
// HTTP client that talks to them. Build it with New.
type Policy struct {
	// All fields are set in New and never change.
	exact    []string // "example.com": the host itself or a dot-suffix
	suffixes []string // "*.example.com" stored as "example.com": dot-suffixes only

	testHosts map[string]struct{}         // canonical "host:port" of InsecureTestEndpoints
	testDials map[netip.AddrPort]struct{} // the addresses those resolve to

	anyHost bool // Options.AnyPublicHost
	anyPort bool // tests only: lift the port-443 rule so the dial hook can be reached

	dialer    *net.Dialer
	transport *http.Transport
	client    *http.Client
}

// New validates the options and builds the policy and its client.
func New(o Options) (*Policy, error) {
	return newPolicy(o, false)
}

func newPolicy(o Options, anyPort bool) (*Policy, error) {
	if o.Timeout < 0 {
		return nil, fmt.Errorf("pushpolicy: timeout %v is negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	hosts := o.AllowedHosts
	if len(hosts) == 0 {
		hosts = DefaultAllowedHosts()
	}
	p := &Policy{
		testHosts: make(map[string]struct{}),
		testDials: make(map[netip.AddrPort]struct{}),
		anyHost:   o.AnyPublicHost,
		anyPort:   anyPort,
	}
	for _, h := range hosts {
		name, wildcard, err := parseAllowedHost(h)
		if err != nil {
			return nil, fmt.Errorf("pushpolicy: allowed host %q: %w", h, err)
		}
		if wildcard {
			p.suffixes = append(p.suffixes, name)
		} else {
			p.exact = append(p.exact, name)
		}
	}
	for _, e := range o.InsecureTestEndpoints {
		if err := p.addTestEndpoint(e); err != nil {
			return nil, fmt.Errorf("pushpolicy: insecure test endpoint %q: %w", e, err)
		}
	}
	p.buildClient(o.Timeout)
	return p, nil
}

// parseAllowedHost validates one AllowedHosts entry and returns the DNS name
// and whether it was a "*." wildcard.
func parseAllowedHost(h string) (name string, wildcard bool, err error) {
	name = strings.TrimSuffix(strings.ToLower(h), ".")
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		name, wildcard = rest, true
	}
	switch {
	case name == "":
		return "", false, errors.New("is empty")
	case strings.Contains(name, "://"):
		return "", false, errors.New("must be a host name, not a URL")
	case strings.ContainsAny(name, "/?#"):
		return "", false, errors.New("must be a host name without a path")
	case strings.Contains(name, "@"):
		return "", false, errors.New("must be a host name without user info")
	case strings.Contains(name, "*"):
		return "", false, errors.New(`a wildcard is allowed only as a leading "*."`)
	case strings.Contains(name, ":") && !isIPv6(name):
		return "", false, errors.New("must be a host name without a port")
	case isIPHost(name):
		return "", false, errors.New("must be a DNS name, not an IP address")
	case !isDNSName(name):
		return "", false, errors.New("is not a valid DNS name (letters, digits, hyphens and dots)")
	}
	return name, wildcard, nil
}

// addTestEndpoint records an InsecureTestEndpoints entry and resolves its
// host to the addresses the dialer will let through.
func (p *Policy) addTestEndpoint(e string) error {
	host, port, err := net.SplitHostPort(e)
	if err != nil {
		return errors.New(`must be "host:port"`)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	host = canonicalHost(host)
	if host == "" {
		return errors.New("host is empty")
	}
	var addrs []netip.Addr
	switch a, err := netip.ParseAddr(host); {
	case err == nil:
		addrs = []netip.Addr{a}
	case host == "localhost":
		addrs = []netip.Addr{netip.IPv6Loopback(), netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	case isDNSName(host) && !isIPHost(host):
		ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", host, err)
		}
	default:
		return fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
	}
	p.testHosts[net.JoinHostPort(host, port)] = struct{}{}
	for _, a := range addrs {
		p.testDials[netip.AddrPortFrom(plainAddr(a), uint16(n))] = struct{}{}
	}
	return nil
}

// allowed reports whether a canonical host name is matched by the allow list.
func (p *Policy) allowed(host string) bool {
	for _, name := range p.exact {
		if host == name || strings.HasSuffix(host, "."+name) {
			return true
		}
	}
	for _, name := range p.suffixes {
		if strings.HasSuffix(host, "."+name) {
			return true
		}
	}
	return false
}

// isTestEndpoint reports whether scheme, canonical host and port name an
// InsecureTestEndpoints entry. An empty port is the scheme's default.
func (p *Policy) isTestEndpoint(scheme, host, port string) bool {
	if len(p.testHosts) == 0 {
		return false
	}
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	if scheme != "http" && scheme != "https" {
		return false
	}
	_, ok := p.testHosts[net.JoinHostPort(host, port)]
	return ok
}

// canonicalHost lower-cases a host, drops one trailing dot and writes an IP
// literal in its standard form, so that equal hosts compare equal.
func canonicalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.String()
	}
	return h
}

// isDNSName reports whether s is a lower-case DNS name of letters, digits
// and hyphens: labels of 1 to 63 bytes that neither start nor end with a
// hyphen, 253 bytes at most.
func isDNSName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isIPv6(s string) bool {
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil && a.Is6()
}

// isIPHost reports whether a host is an IP address in any form a resolver
// might accept: an IPv6 literal, a dotted quad, or a name whose last label
// is a number ("2130706433", "127.1", "0x7f.1"), which the WHATWG URL
// standard and C's inet_aton read as IPv4. No top-level domain is numeric.
func isIPHost(host string) bool {
	if strings.Contains(host, ":") {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
