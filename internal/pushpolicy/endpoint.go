package pushpolicy

import (
	"fmt"
	"net/url"
	"strings"

	"newsflash/internal/news"
)

// MaxEndpointBytes is the longest endpoint CheckEndpoint accepts.
const MaxEndpointBytes = 1024

// Field is the ValidationError field of every CheckEndpoint error.
const Field = "subscription.endpoint"

// Codes of the *news.ValidationError values CheckEndpoint returns.
const (
	CodeInvalidEndpoint = "invalid_endpoint"
	CodeNotAllowed      = "endpoint_not_allowed"
)

// CheckEndpoint validates a subscription endpoint at subscribe time. It
// returns nil or a *news.ValidationError with Field "subscription.endpoint"
// and Code:
//
//   - "invalid_endpoint": not an absolute URL, longer than MaxEndpointBytes,
//     spaces, control or non-ASCII characters, user info, a fragment, a
//     scheme other than https, a port other than none or 443, no host, or a
//     host that is an IP address;
//   - "endpoint_not_allowed": a well-formed endpoint whose host the allow
//     list does not match.
//
// The host is compared as parsed (url.Parse, Hostname, lower-cased, one
// trailing dot removed), never as a prefix of the string. An endpoint whose
// host and port are exactly an InsecureTestEndpoints entry may use http or
// https, any port and an IP address or loopback name.
func (p *Policy) CheckEndpoint(raw string) error {
	if raw == "" {
		return invalid("endpoint is required")
	}
	if len(raw) > MaxEndpointBytes {
		return invalid("endpoint is %d bytes long; the limit is %d", len(raw), MaxEndpointBytes)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return invalid("endpoint must be printable ASCII without spaces or control characters")
		}
	}
	if strings.Contains(raw, "#") {
		return invalid("endpoint must not have a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("endpoint is not a valid URL")
	}
	return p.checkURL(u)
}

// checkURL applies the rules that decide where a request goes: absolute
// URL, no user info or fragment, scheme, port, host and allow list. The
// RoundTripper of Client runs it on every request URL; CheckEndpoint runs it
// after its checks of the raw string.
func (p *Policy) checkURL(u *url.URL) error {
	if u == nil || !u.IsAbs() || u.Opaque != "" {
		return invalid("endpoint must be an absolute https URL")
	}
	if u.User != nil {
		return invalid("endpoint must not contain a user name or password")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return invalid("endpoint must not have a fragment")
	}
	host := canonicalHost(u.Hostname())
	if host == "" {
		return invalid("endpoint has no host")
	}
	port := u.Port()
	if p.isTestEndpoint(u.Scheme, host, port) {
		return nil
	}
	if u.Scheme != "https" {
		return invalid("endpoint must use https, not %q", u.Scheme)
	}
	if port != "" && port != "443" && !p.anyPort {
		return invalid("endpoint must use the https port 443, not %s", port)
	}
	if isIPHost(host) {
		return invalid("endpoint host must be a DNS name, not an IP address")
	}
	if !isDNSName(host) {
		return invalid("endpoint host %q is not a valid DNS name", host)
	}
	if p.anyHost {
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return invalid("endpoint host %q is a loopback name", host)
		}
		return nil
	}
	if !p.allowed(host) {
		return &news.ValidationError{
			Code:    CodeNotAllowed,
			Field:   Field,
			Message: fmt.Sprintf("endpoint host %q is not a known push service", host),
		}
	}
	return nil
}

func invalid(format string, args ...any) *news.ValidationError {
	return &news.ValidationError{Code: CodeInvalidEndpoint, Field: Field, Message: fmt.Sprintf(format, args...)}
}
