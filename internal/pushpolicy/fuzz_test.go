package pushpolicy

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"newsflash/internal/news"
)

// Fuzz targets of the endpoint policy. Run one with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzCheckEndpoint$' -fuzztime 1m ./internal/pushpolicy
//
// Crashers land in testdata/fuzz/<target>/ and are committed as
// regressions; plain go test runs them with the seeds below.

// fuzzTestEndpoints are the InsecureTestEndpoints of the test policy, and
// fuzzTestAddrs the canonical host:port pairs they open.
var (
	fuzzTestEndpoints = []string{"127.0.0.1:41234", "localhost:8089", "[::1]:9000"}
	fuzzTestAddrs     = map[string]bool{"127.0.0.1:41234": true, "localhost:8089": true, "[::1]:9000": true}
)

// FuzzCheckEndpoint checks subscription endpoints against the production
// policy and one with test endpoints, and redacts them. Properties:
//   - a refusal is a ValidationError on subscription.endpoint with one of
//     the two documented codes;
//   - an endpoint the production policy accepts is printable ASCII within
//     the limit, https on port 443, without user info or fragment, whose
//     host is a DNS name (never an IP address in any form, never
//     localhost) matched by the allow list; net/http reads it as the same
//     host and port, and the client's RoundTripper lets it through;
//   - the test policy accepts all that and, beyond it, only its exact test
//     host:port pairs (over http or https);
//   - Redact keeps scheme and host and at most a short prefix of the last
//     path segment: never a whole segment, the query, user info or fragment.
func FuzzCheckEndpoint(f *testing.F) {
	fcm := "https://fcm.googleapis.com/fcm/send/"
	for _, s := range []string{
		fcm + "dGhpcyBpcyBhIHRva2Vu:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8",
		"https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
		"https://web.push.apple.com/QGxJ3a",
		"https://wns2-par02p.notify.windows.com/w/?token=BQYAAADsecret",
		"https://FCM.GOOGLEAPIS.COM.:443/fcm/send/x",
		"https://fcm.googleapis.com:/x",
		"https://fcm.googleapis.com:0443/x",
		"http://fcm.googleapis.com/x",
		"https://fcm.googleapis.com.evil.com/x",
		"https://evilfcm.googleapis.com.evil/x",
		"https://fcm.googleapis.com@evil.com/x",
		"https://evil.com\\@fcm.googleapis.com/x",
		"https://evil.com#@fcm.googleapis.com/x",
		"https://user:pass@fcm.googleapis.com/x",
		"https://fcm%2Egoogleapis.com/x",
		"https://127.0.0.1/x",
		"https://2130706433/x",
		"https://0x7f.1/x",
		"https://127.1/x",
		"https://[::1]/x",
		"https://[::ffff:127.0.0.1]/x",
		"https://[fe80::1%25eth0]/x",
		"https://169.254.169.254/latest/meta-data/",
		"https://localhost/x",
		"https://x.localhost/x",
		"http://127.0.0.1:41234/push/abc",
		"https://127.0.0.1:41234/push/abc",
		"http://127.0.0.1:41235/push/abc",
		"http://127.000.000.001:41234/push/abc",
		"http://localhost:8089/push",
		"http://LOCALHOST.:8089/push",
		"http://[::1]:9000/push",
		"http://[0:0:0:0:0:0:0:1]:9000/push",
		"http://[::ffff:7f00:1]:41234/push",
		"wss://fcm.googleapis.com/x",
		"https:fcm.googleapis.com/x",
		"//fcm.googleapis.com/x",
		"/fcm/send/x",
		"",
		"https://fcm.googleapis.com/\x00secret",
		"https://fcm.googleapis.com/\u202esecret",
		"https://fcm.googleapis.com/a b",
		fcm + strings.Repeat("a", MaxEndpointBytes-len(fcm)),
		fcm + strings.Repeat("a", MaxEndpointBytes+1-len(fcm)),
		fcm + "%2F..%2F..%2Fadmin",
		fcm + "abc/",
		"https://a.push.apple.com",
		"https://push.apple.com/x",
	} {
		f.Add(s)
	}
	prod, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	test, err := New(Options{InsecureTestEndpoints: fuzzTestEndpoints})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		prodErr := prod.CheckEndpoint(raw)
		testErr := test.CheckEndpoint(raw)
		for _, err := range []error{prodErr, testErr} {
			if err == nil {
				continue
			}
			var ve *news.ValidationError
			if !errors.As(err, &ve) || ve.Field != Field || (ve.Code != CodeInvalidEndpoint && ve.Code != CodeNotAllowed) || ve.Message == "" {
				t.Fatalf("CheckEndpoint(%q) = %#v", raw, err)
			}
		}
		if prodErr == nil {
			checkPublicEndpoint(t, prod, raw)
			if testErr != nil {
				t.Fatalf("CheckEndpoint(%q): production accepts, test policy refuses: %v", raw, testErr)
			}
		}
		if testErr == nil && prodErr != nil {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" {
				t.Fatalf("test policy accepts %q (%v)", raw, err)
			}
			port := u.Port()
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
			}
			if hp := net.JoinHostPort(canonicalHost(u.Hostname()), port); !fuzzTestAddrs[hp] {
				t.Fatalf("test policy accepts %q for %s, not a test endpoint", raw, hp)
			}
		}
		checkRedact(t, raw)
		// The endpoint as the last path segment of a real one, the secret
		// part Redact must never give away.
		secret := url.PathEscape(raw)
		if out := Redact("https://fcm.googleapis.com/fcm/send/" + secret); secret != "" &&
			strings.Contains(strings.TrimPrefix(out, "https://fcm.googleapis.com/"), secret) {
			t.Fatalf("Redact keeps the secret segment %q: %q", secret, out)
		}
	})
}

// checkPublicEndpoint checks an endpoint the production policy accepted.
func checkPublicEndpoint(t *testing.T, p *Policy, raw string) {
	t.Helper()
	if len(raw) > MaxEndpointBytes {
		t.Fatalf("accepted %d bytes", len(raw))
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			t.Fatalf("accepted %q with byte %#x", raw, raw[i])
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		t.Fatalf("accepted %q: %v", raw, err)
	}
	if port := u.Port(); port != "" && port != "443" {
		t.Fatalf("accepted %q on port %s", raw, port)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if _, err := netip.ParseAddr(host); err == nil || numericLabel(host) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		t.Fatalf("accepted %q: host %q is an address", raw, host)
	}
	if !onDefaultList(host) {
		t.Fatalf("accepted %q: host %q is not on the default allow list", raw, host)
	}
	// net/http sends it to the same host and port, and the client's own
	// check lets it through.
	req, err := http.NewRequest(http.MethodPost, raw, nil)
	if err != nil {
		t.Fatalf("accepted %q, net/http refuses it: %v", raw, err)
	}
	if h := strings.TrimSuffix(strings.ToLower(req.URL.Hostname()), "."); h != host || (req.URL.Port() != "" && req.URL.Port() != "443") {
		t.Fatalf("accepted %q for host %q, net/http would dial %q", raw, host, req.URL.Host)
	}
	if err := p.checkURL(req.URL); err != nil {
		t.Fatalf("accepted %q, the RoundTripper refuses it: %v", raw, err)
	}
}

// numericLabel reports whether the last label of host is a number, decimal
// or hexadecimal: resolvers read such a name as an IPv4 address.
func numericLabel(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		last = h
		return strings.Trim(last, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// onDefaultList matches host against DefaultAllowedHosts as documented.
func onDefaultList(host string) bool {
	for _, e := range DefaultAllowedHosts() {
		if name, ok := strings.CutPrefix(e, "*."); ok {
			if strings.HasSuffix(host, "."+name) {
				return true
			}
		} else if host == e || strings.HasSuffix(host, "."+e) {
			return true
		}
	}
	return false
}

// checkRedact checks that Redact gives scheme://host/, at most a short
// prefix of the last path segment and "…", or "<invalid endpoint>".
func checkRedact(t *testing.T, raw string) {
	t.Helper()
	out := Redact(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if out != "<invalid endpoint>" {
			t.Fatalf("Redact(%q) = %q, want <invalid endpoint>", raw, out)
		}
		return
	}
	prefix := u.Scheme + "://" + u.Host + "/"
	kept, ok := strings.CutPrefix(out, prefix)
	if !ok {
		t.Fatalf("Redact(%q) = %q, want it to start with %q", raw, out, prefix)
	}
	kept, ok = strings.CutSuffix(kept, "…")
	if !ok {
		t.Fatalf("Redact(%q) = %q, want it to end with …", raw, out)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	seg := path[strings.LastIndexByte(path, '/')+1:]
	if !strings.HasPrefix(seg, kept) || len(kept) > redactKeep || (seg != "" && 2*len(kept) > len(seg)) {
		t.Fatalf("Redact(%q) = %q keeps %q of the segment %q", raw, out, kept, seg)
	}
	if strings.ContainsAny(kept, "?#") {
		t.Fatalf("Redact(%q) = %q keeps the query or fragment", raw, out)
	}
}

// FuzzDialControl checks the dial hook, the defence after DNS resolution.
// Properties: an address netip classifies as loopback, private, link-local,
// multicast or unspecified is refused, in every IPv6 form that embeds it
// (IPv4-mapped, IPv4-compatible, NAT64, 6to4) and with a zone; the verdict
// on an IPv4 address and on its mapped, NAT64 and 6to4 forms is the same;
// anything the hook lets through is a TCP address that parses and is
// public; the test policy lets through exactly its test addresses besides.
func FuzzDialControl(f *testing.F) {
	f.Add("tcp4", "93.184.216.34:443", []byte{93, 184, 216, 34})
	f.Add("tcp6", "[2606:2800:220:1:248:1893:25c8:1946]:443", []byte{0x26, 0x06, 0x28, 0, 2, 0x20, 0, 1, 2, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46})
	f.Add("tcp4", "127.0.0.1:41234", []byte{127, 0, 0, 1})
	f.Add("tcp4", "127.0.0.1:41235", []byte{10, 1, 2, 3})
	f.Add("tcp6", "[::1]:9000", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add("tcp6", "[::ffff:169.254.169.254]:80", []byte{169, 254, 169, 254})
	f.Add("tcp6", "[64:ff9b::10.0.0.1]:443", []byte{192, 168, 1, 1})
	f.Add("tcp6", "[2002:7f00:1::]:443", []byte{172, 16, 0, 1})
	f.Add("tcp6", "[fe80::1%eth0]:443", []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add("tcp6", "[fd00::1]:443", []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add("udp", "8.8.8.8:53", []byte{8, 8, 8, 8})
	f.Add("tcp", "8.8.8.8:443", []byte{100, 64, 0, 1})
	f.Add("tcp4", "0.0.0.0:443", []byte{0, 0, 0, 0})
	f.Add("tcp4", "255.255.255.255:443", []byte{255, 255, 255, 255})
	f.Add("tcp6", "[ff02::1]:443", []byte{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add("tcp4", "localhost:443", []byte{})
	f.Add("tcp4", "127.1:443", []byte{1})
	prod, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	test, err := New(Options{InsecureTestEndpoints: fuzzTestEndpoints})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, network, address string, raw []byte) {
		// The hook on whatever the fuzzer gives.
		for _, p := range []*Policy{prod, test} {
			err := p.control(network, address, nil)
			if err != nil {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("control(%q, %q) = %v, not ErrRefused", network, address, err)
				}
				continue
			}
			ap, perr := netip.ParseAddrPort(address)
			if (network != "tcp4" && network != "tcp6") || perr != nil {
				t.Fatalf("control(%q, %q) lets it through (%v)", network, address, perr)
			}
			plain := netip.AddrPortFrom(ap.Addr().WithZone("").Unmap(), ap.Port())
			if p == test && (plain.String() == "127.0.0.1:41234" || plain.String() == "[::1]:8089" || plain.String() == "127.0.0.1:8089" || plain.String() == "[::1]:9000") {
				continue
			}
			if why := classify(ap.Addr()); why != "" {
				t.Fatalf("control(%q, %q) lets a %s address through", network, address, why)
			}
		}

		// Every form of the address given as bytes.
		var a netip.Addr
		switch len(raw) {
		case 4:
			a = netip.AddrFrom4([4]byte(raw))
		case 16:
			a = netip.AddrFrom16([16]byte(raw))
		default:
			return
		}
		forms := []netip.Addr{a, a.WithZone("eth0")}
		if a.Is4() {
			b := a.As4()
			mapped := netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
			nat64 := netip.AddrFrom16([16]byte{0: 0, 1: 0x64, 2: 0xff, 3: 0x9b, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
			sixToFour := netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: b[0], 3: b[1], 4: b[2], 5: b[3], 15: 1})
			compat := netip.AddrFrom16([16]byte{12: b[0], 13: b[1], 14: b[2], 15: b[3]})
			v4 := nonPublic(a)
			for _, e := range []netip.Addr{mapped, nat64, sixToFour} {
				if (nonPublic(e) == "") != (v4 == "") {
					t.Fatalf("nonPublic(%v) = %q but nonPublic(%v) = %q", a, v4, e, nonPublic(e))
				}
			}
			forms = append(forms, mapped, nat64, sixToFour, compat, mapped.WithZone("eth0"))
			if v4 == "" {
				forms = forms[:2]
			}
		}
		bad := classify(a) != "" || nonPublic(a) != ""
		for _, e := range forms {
			addr := netip.AddrPortFrom(e, 443).String()
			err := prod.control(network6(e), addr, nil)
			if bad && err == nil {
				t.Fatalf("control(%s) lets a non-public address through (%s)", addr, classify(a)+nonPublic(a))
			}
			if !bad && e == a && err != nil {
				t.Fatalf("control(%s) refuses a public address: %v", addr, err)
			}
		}
	})
}

// classify names what netip says an address is, when it must not be
// dialled, or returns "".
func classify(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsInterfaceLocalMulticast(), a.IsMulticast():
		return "multicast"
	case a.IsUnspecified():
		return "unspecified"
	}
	return ""
}

func network6(a netip.Addr) string {
	if a.Is4() {
		return "tcp4"
	}
	return "tcp6"
}
