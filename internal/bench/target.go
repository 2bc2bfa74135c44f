package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// lookupFunc resolves a host name (net.DefaultResolver.LookupNetIP).
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func defaultLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// isLoopback reports whether a is in 127.0.0.0/8 or is ::1 (an IPv4
// address mapped into IPv6 counts as the IPv4 address).
func isLoopback(a netip.Addr) bool {
	return a.Unmap().IsLoopback()
}

// resolveTarget checks that raw is an http URL whose host is, or resolves
// only to, loopback addresses, and returns the base URL with the host
// replaced by the address to use (so that a later look-up cannot send the
// load elsewhere) and that address.
func resolveTarget(ctx context.Context, raw string, lookup lookupFunc) (string, netip.AddrPort, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", netip.AddrPort{}, fmt.Errorf("--url %q: %v", raw, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return "", netip.AddrPort{}, fmt.Errorf("--url %q: want http://host:port of a Newsflash server on this machine", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", netip.AddrPort{}, fmt.Errorf("--url %q: want only http://host:port (and a path prefix)", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	var pn uint16
	if _, err := fmt.Sscanf(port, "%d", &pn); err != nil || pn == 0 {
		return "", netip.AddrPort{}, fmt.Errorf("--url %q: bad port %q", raw, port)
	}
	addrs := []netip.Addr(nil)
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if addrs, err = lookup(ctx, host); err != nil {
			return "", netip.AddrPort{}, fmt.Errorf("--url %q: resolve %s: %v", raw, host, err)
		}
		if len(addrs) == 0 {
			return "", netip.AddrPort{}, fmt.Errorf("--url %q: %s has no address", raw, host)
		}
	}
	var pick netip.Addr
	for _, a := range addrs {
		if !isLoopback(a) {
			return "", netip.AddrPort{}, fmt.Errorf("--url %q: %s is %s, not a loopback address (127.0.0.0/8 or ::1); bench loads only this machine", raw, host, a)
		}
		if !pick.IsValid() || (a.Unmap().Is4() && !pick.Is4()) {
			pick = a.Unmap() // prefer IPv4: the source addresses are
		}
	}
	ap := netip.AddrPortFrom(pick, pn)
	base := "http://" + ap.String() + strings.TrimRight(u.EscapedPath(), "/")
	return base, ap, nil
}

// parseSources checks the source addresses readers bind to: loopback, of
// the target's family, no repeats. An empty list means one unbound source
// (the kernel picks the address).
func parseSources(ips []string, target netip.Addr) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("--src-ips: %q is not an IP address", s)
		}
		a = a.Unmap()
		if !isLoopback(a) {
			return nil, fmt.Errorf("--src-ips: %s is not a loopback address (127.0.0.0/8 or ::1)", a)
		}
		if a.Is4() != target.Is4() {
			return nil, fmt.Errorf("--src-ips: %s is not of the same family as the server address %s", a, target)
		}
		if seen[a] {
			return nil, fmt.Errorf("--src-ips: %s is given twice", a)
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}
