package bench

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestResolveTarget(t *testing.T) {
	hosts := map[string][]string{
		"localhost":     {"::1", "127.0.0.1"},
		"loop6.test":    {"::1"},
		"mixed.test":    {"127.0.0.1", "203.0.113.7"},
		"public.test":   {"203.0.113.7"},
		"nothing.test":  {},
		"rebound.test":  {"10.0.0.1"},
		"mapped.test":   {"::ffff:127.0.0.9"},
		"private6.test": {"fd00::1"},
	}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		as, ok := hosts[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, a := range as {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
	tests := []struct {
		url      string
		wantBase string
		wantErr  string // part of the error; "" for none
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", ""},
		{"http://127.1.2.3:9000/prefix/", "http://127.1.2.3:9000/prefix", ""},
		{"http://127.0.0.1", "http://127.0.0.1:80", ""},
		{"http://[::1]:8080", "http://[::1]:8080", ""},
		{"http://localhost:8080", "http://127.0.0.1:8080", ""},
		{"http://loop6.test:8080", "http://[::1]:8080", ""},
		{"http://mapped.test:1", "http://127.0.0.9:1", ""},
		{"http://[::ffff:127.0.0.1]:8080", "http://127.0.0.1:8080", ""},
		{"http://10.0.0.1:8080", "", "not a loopback address"},
		{"http://0.0.0.0:8080", "", "not a loopback address"},
		{"http://[::]:8080", "", "not a loopback address"},
		{"http://192.0.2.1:8080", "", "not a loopback address"},
		{"http://public.test:8080", "", "not a loopback address"},
		{"http://mixed.test:8080", "", "203.0.113.7, not a loopback address"},
		{"http://rebound.test:8080", "", "not a loopback address"},
		{"http://private6.test:8080", "", "not a loopback address"},
		{"http://nothing.test:8080", "", "has no address"},
		{"http://unknown.test:8080", "", "resolve unknown.test"},
		{"https://127.0.0.1:8443", "", "want http://host:port"},
		{"ws://127.0.0.1:8080", "", "want http://host:port"},
		{"127.0.0.1:8080", "", "--url"},
		{"http://user:pw@127.0.0.1:8080", "", "want only http://host:port"},
		{"http://127.0.0.1:8080/?x=1", "", "want only http://host:port"},
		{"http://127.0.0.1:0", "", "bad port"},
		{"http://127.0.0.1:http", "", "invalid port"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			base, ap, err := resolveTarget(context.Background(), tt.url, lookup)
			if tt.wantBase == "" {
				if err == nil {
					t.Fatalf("resolveTarget(%q) = %q, want an error", tt.url, base)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveTarget(%q): %v", tt.url, err)
			}
			if base != tt.wantBase {
				t.Errorf("base = %q, want %q", base, tt.wantBase)
			}
			if !isLoopback(ap.Addr()) {
				t.Errorf("address %s is not loopback", ap)
			}
		})
	}
}

func TestParseSources(t *testing.T) {
	v4, v6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	tests := []struct {
		ips     []string
		target  netip.Addr
		want    int
		wantErr string
	}{
		{nil, v4, 0, ""},
		{DefaultSrcIPs, v4, 3, ""},
		{[]string{"127.0.0.2", " 127.255.0.1 "}, v4, 2, ""},
		{[]string{"::1"}, v6, 1, ""},
		{[]string{"127.0.0.2"}, v6, 0, "same family"},
		{[]string{"::1"}, v4, 0, "same family"},
		{[]string{"10.0.0.2"}, v4, 0, "not a loopback"},
		{[]string{"127.0.0.2", "127.0.0.2"}, v4, 0, "twice"},
		{[]string{"localhost"}, v4, 0, "not an IP address"},
	}
	for _, tt := range tests {
		got, err := parseSources(tt.ips, tt.target)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseSources(%q, %s) error %v, want %q", tt.ips, tt.target, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != tt.want {
			t.Errorf("parseSources(%q, %s) = %v, %v; want %d addresses", tt.ips, tt.target, got, err, tt.want)
		}
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:8080", "http://[2001:db8::1]:80", "https://127.0.0.1:8443"} {
		_, err := Run(context.Background(), Config{URL: u, Scenario: ScenarioIdle})
		if !errors.Is(err, ErrUsage) {
			t.Errorf("Run with --url %s: %v, want ErrUsage", u, err)
		}
	}
}
