package pushpolicy

import (
	"errors"
	"strings"
	"testing"

	"newsflash/internal/news"
)

// wantCode checks that err is nil when code is "", or else a
// *news.ValidationError on Field with that code.
func wantCode(t *testing.T, raw string, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Errorf("CheckEndpoint(%q) = %v, want nil", raw, err)
		}
		return
	}
	var ve *news.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("CheckEndpoint(%q) = %v, want a *news.ValidationError with code %s", raw, err, code)
		return
	}
	if ve.Code != code || ve.Field != Field {
		t.Errorf("CheckEndpoint(%q) = code %q field %q (%s), want code %q field %q", raw, ve.Code, ve.Field, ve.Message, code, Field)
	}
}

func TestCheckEndpointDefaults(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	const ok, bad, denied = "", CodeInvalidEndpoint, CodeNotAllowed
	long := "https://fcm.googleapis.com/fcm/send/"
	tests := []struct {
		name, raw, code string
	}{
		// One real-looking endpoint per default push service.
		{"fcm", "https://fcm.googleapis.com/fcm/send/abc", ok},
		{"fcm legacy android host", "https://android.googleapis.com/gcm/send/abc", ok},
		{"mozilla", "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk", ok},
		{"apple web.push", "https://web.push.apple.com/QGxJ3a", ok},
		{"apple wildcard", "https://api.push.apple.com/x", ok},
		{"wns wildcard with query token", "https://wns2-par02p.notify.windows.com/w/?token=x", ok},
		{"explicit port 443", "https://fcm.googleapis.com:443/fcm/send/abc", ok},
		{"upper case and trailing dot", "https://FCM.GOOGLEAPIS.COM./fcm/send/x", ok},
		{"dot-suffix of an exact entry", "https://eu.fcm.googleapis.com/fcm/send/x", ok},
		{"exactly 1024 bytes", long + strings.Repeat("a", MaxEndpointBytes-len(long)), ok},

		// Shapes that must never pass, however the allow list is written.
		{"1025 bytes", long + strings.Repeat("a", MaxEndpointBytes+1-len(long)), bad},
		{"empty", "", bad},
		{"relative", "/fcm/send/abc", bad},
		{"no scheme", "//fcm.googleapis.com/fcm/send/abc", bad},
		{"opaque", "https:fcm.googleapis.com/fcm/send/abc", bad},
		{"http", "http://fcm.googleapis.com/", bad},
		{"other scheme", "wss://fcm.googleapis.com/", bad},
		{"port 8443", "https://fcm.googleapis.com:8443/", bad},
		{"port 80", "https://fcm.googleapis.com:80/", bad},
		{"userinfo makes evil.com the host", "https://fcm.googleapis.com@evil.com/", bad},
		{"userinfo on an allowed host", "https://user:pw@fcm.googleapis.com/fcm/send/x", bad},
		{"backslash userinfo trick", `https://fcm.googleapis.com\@evil.com/`, bad},
		{"fragment", "https://fcm.googleapis.com/fcm/send/x#frag", bad},
		{"empty fragment", "https://fcm.googleapis.com/fcm/send/x#", bad},
		{"no host", "https:///fcm/send/x", bad},
		{"only a port", "https://:443/fcm/send/x", bad},
		{"IPv4 with allowed-looking path", "https://10.0.0.1/.windows.com/", bad},
		{"IPv4 loopback", "https://127.0.0.1/", bad},
		{"IPv6 loopback", "https://[::1]/", bad},
		{"IPv4-mapped IPv6", "https://[::ffff:127.0.0.1]/", bad},
		{"metadata service", "https://169.254.169.254/latest/meta-data/", bad},
		{"decimal IPv4", "https://2130706433/", bad},
		{"short IPv4", "https://127.1/", bad},
		{"hex IPv4", "https://0x7f.0.0.1/", bad},
		{"percent-encoded IPv4", "https://%31%32%37.0.0.1/", bad},
		{"space", "https://fcm.googleapis.com/fcm/send/a b", bad},
		{"tab", "https://fcm.googleapis.com/fcm/send/a\tb", bad},
		{"newline", "https://fcm.googleapis.com/fcm/send/a\nb", bad},
		{"NUL", "https://fcm.googleapis.com\x00.evil.com/", bad},
		{"DEL", "https://fcm.googleapis.com/\x7f", bad},
		{"non-ASCII host", "https://fcm.googleapis.cöm/", bad},
		{"non-ASCII path", "https://fcm.googleapis.com/fcm/send/ä", bad},
		{"two trailing dots", "https://fcm.googleapis.com../x", bad},
		{"underscore host", "https://fcm_googleapis.com/x", bad},

		// Well-formed, but not a push service.
		{"allowed host as a prefix", "https://notify.windows.com.evil.com/", denied},
		{"allowed host as a plain suffix", "https://evilnotify.windows.com/", denied},
		{"wildcard base itself", "https://notify.windows.com/w/", denied},
		{"exact entry as a plain suffix", "https://evilfcm.googleapis.com/x", denied},
		{"parent of an exact entry", "https://googleapis.com/x", denied},
		{"localhost", "https://localhost/x", denied},
		{"other host", "https://example.com/push", denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.raw, p.CheckEndpoint(tt.raw), tt.code)
		})
	}
}

func TestCheckEndpointCustomHosts(t *testing.T) {
	p, err := New(Options{AllowedHosts: []string{"Push.Example.com.", "*.wp.example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw, code string
	}{
		{"https://push.example.com/sub/abc", ""},
		{"https://eu.push.example.com/sub/abc", ""},
		{"https://a.wp.example.net/sub/abc", ""},
		{"https://a.b.wp.example.net/sub/abc", ""},
		{"https://wp.example.net/sub/abc", CodeNotAllowed},
		{"https://xpush.example.com/sub/abc", CodeNotAllowed},
		{"https://push.example.com.evil.org/sub/abc", CodeNotAllowed},
		// The custom list replaces the defaults.
		{"https://fcm.googleapis.com/fcm/send/abc", CodeNotAllowed},
		{"https://web.push.apple.com/QGx", CodeNotAllowed},
		{"http://push.example.com/sub/abc", CodeInvalidEndpoint},
	}
	for _, tt := range tests {
		wantCode(t, tt.raw, p.CheckEndpoint(tt.raw), tt.code)
	}
}

func TestCheckEndpointInsecureTestEndpoints(t *testing.T) {
	p, err := New(Options{InsecureTestEndpoints: []string{"127.0.0.1:41234", "LocalHost:8089", "[::1]:9000", "192.0.2.7:80"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw, code string
	}{
		{"http://127.0.0.1:41234/push/abc", ""},
		{"https://127.0.0.1:41234/push/abc", ""},
		{"http://localhost:8089/push/abc", ""},
		{"http://LOCALHOST.:8089/push/abc", ""},
		{"http://[::1]:9000/push/abc", ""},
		{"http://[0:0::1]:9000/push/abc", ""},
		{"http://192.0.2.7/push/abc", ""}, // default port of http
		// Only the exact host:port pairs are opened.
		{"http://127.0.0.1:41235/push/abc", CodeInvalidEndpoint},
		{"http://localhost:41234/push/abc", CodeInvalidEndpoint},
		{"http://127.0.0.1:8089/push/abc", CodeInvalidEndpoint},
		{"http://localhost/push/abc", CodeInvalidEndpoint},
		{"https://192.0.2.7/push/abc", CodeInvalidEndpoint}, // 443, not 80
		{"ftp://127.0.0.1:41234/push/abc", CodeInvalidEndpoint},
		{"http://127.0.0.1:41234@evil.com/push/abc", CodeInvalidEndpoint},
		{"http://127.0.0.1:41234/push/abc#x", CodeInvalidEndpoint},
		// The defaults still apply to everything else.
		{"https://fcm.googleapis.com/fcm/send/abc", ""},
	}
	for _, tt := range tests {
		wantCode(t, tt.raw, p.CheckEndpoint(tt.raw), tt.code)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	hosts := []string{
		"",
		".",
		"https://fcm.googleapis.com",
		"fcm.googleapis.com:443",
		"fcm.googleapis.com/fcm/send",
		"fcm.googleapis.com?x",
		"user@fcm.googleapis.com",
		"10.0.0.1",
		"127.1",
		"::1",
		"[::1]",
		"*",
		"*.",
		"*.*.example.com",
		"a.*.example.com",
		"*example.com",
		"example.*",
		"fcm googleapis.com",
		"-bad.example.com",
		"bad-.example.com",
		"under_score.example.com",
		"a..example.com",
		"exämple.com",
		strings.Repeat("a", 64) + ".com",
	}
	for _, h := range hosts {
		_, err := New(Options{AllowedHosts: []string{"fcm.googleapis.com", h}})
		if err == nil {
			t.Errorf("New(AllowedHosts %q) = nil error", h)
			continue
		}
		if !strings.Contains(err.Error(), `"`+h+`"`) {
			t.Errorf("New(AllowedHosts %q) error %q does not name the entry", h, err)
		}
	}

	endpoints := []string{"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http", ":8080", "bad host:80", "http://127.0.0.1:80"}
	for _, e := range endpoints {
		_, err := New(Options{InsecureTestEndpoints: []string{e}})
		if err == nil {
			t.Errorf("New(InsecureTestEndpoints %q) = nil error", e)
			continue
		}
		if !strings.Contains(err.Error(), `"`+e+`"`) {
			t.Errorf("New(InsecureTestEndpoints %q) error %q does not name the entry", e, err)
		}
	}

	if _, err := New(Options{Timeout: -1}); err == nil {
		t.Error("New(Timeout -1) = nil error")
	}
}

func TestDefaultAllowedHostsIsACopy(t *testing.T) {
	a := DefaultAllowedHosts()
	a[0] = "evil.com"
	if b := DefaultAllowedHosts(); b[0] == "evil.com" {
		t.Fatal("DefaultAllowedHosts shares its slice")
	}
}

func TestCheckEndpointAnyPublicHost(t *testing.T) {
	p, err := New(Options{AnyPublicHost: true, AllowedHosts: []string{"fcm.googleapis.com"}})
	if err != nil {
		t.Fatal(err)
	}
	const ok, bad = "", CodeInvalidEndpoint
	for _, tc := range []struct{ raw, code string }{
		{"https://hooks.example.org/newsflash", ok},
		{"https://partner.example.com:443/in?key=1", ok},
		{"https://fcm.googleapis.com/x", ok},
		{"http://hooks.example.org/", bad},
		{"https://hooks.example.org:8443/", bad},
		{"https://10.0.0.1/", bad},
		{"https://127.0.0.1/", bad},
		{"https://[::1]/", bad},
		{"https://2130706433/", bad},
		{"https://localhost/", bad},
		{"https://api.localhost/", bad},
		{"https://user:pw@hooks.example.org/", bad},
	} {
		wantCode(t, tc.raw, p.CheckEndpoint(tc.raw), tc.code)
	}
}
