package deploy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// perAddressLimits are the serve flags that limit each client address.
// Behind a proxy they count clients only if Newsflash trusts the proxy's
// X-Forwarded-For; the examples do, and keep them at their defaults.
var perAddressLimits = []string{"readers-per-address", "connections-per-address", "reader-connects-per-second", "api-requests-per-second", "auth-failures-per-minute", "push-subscribe-per-hour"}

// privateRanges are the loopback and private networks: what the server's
// default --metrics-allow admits.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
}

// isPrivate reports whether the whole prefix lies in a private range.
func isPrivate(p netip.Prefix) bool {
	return slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return r.Bits() <= p.Bits() && r.Contains(p.Addr()) })
}

// prefixes parses a list of addresses and CIDRs (what names the setting
// it comes from), as the server does: an address stands for itself alone.
func prefixes(t *testing.T, where, what, value string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				t.Errorf("%s: %s entry %q is neither an address nor a CIDR", where, what, s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// checkClientAddresses checks the settings that decide who a client is
// behind the examples' proxies, and returns the trusted proxies: at least
// one, none that is every address (any client could then name itself in
// X-Forwarded-For); the limits per address at their defaults, since they
// now count clients, not the proxy; and --metrics-allow, if set, private.
func checkClientAddresses(t *testing.T, where string, get func(flag string) string, flags map[string]serveFlag) []netip.Prefix {
	t.Helper()
	if _, ok := flags["trusted-proxies"]; !ok {
		t.Fatalf("newsflash serve has no --trusted-proxies (renamed?)")
	}
	trusted := prefixes(t, where, "--trusted-proxies", get("trusted-proxies"))
	if len(trusted) == 0 {
		t.Errorf("%s: no --trusted-proxies: behind the proxy every client has the proxy's address, and they share its limits", where)
	}
	for _, p := range trusted {
		if p.Bits() == 0 {
			t.Errorf("%s: --trusted-proxies %s trusts every address: any client could name itself in X-Forwarded-For", where, p)
		}
	}
	for _, name := range perAddressLimits {
		f, ok := flags[name]
		if !ok {
			t.Errorf("newsflash serve has no --%s (renamed?)", name)
			continue
		}
		if v := get(name); v != f.Default {
			t.Errorf("%s: --%s is %s, not its default %s: with the proxy trusted the limit counts each client, and needs no raising", where, name, v, f.Default)
		}
	}
	for _, p := range prefixes(t, where, "--metrics-allow", get("metrics-allow")) {
		if !isPrivate(p) {
			t.Errorf("%s: --metrics-allow %s is not a private network: metrics would be served to the public", where, p)
		}
	}
	return trusted
}
