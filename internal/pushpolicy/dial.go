package pushpolicy

import (
	"fmt"
	"net/netip"
	"syscall"
)

// control is the net.Dialer Control hook of Client. The dialer calls it for
// every address it tries, after DNS resolution and before connect, so no
// packet leaves for a refused address and a host name that resolves (or
// rebinds) to an internal address is caught here.
func (p *Policy) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: dial %s %s: only TCP is allowed", ErrRefused, network, address)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dial %s: %v", ErrRefused, address, err)
	}
	ap = netip.AddrPortFrom(plainAddr(ap.Addr()), ap.Port())
	if _, ok := p.testDials[ap]; ok {
		return nil
	}
	if why := nonPublic(ap.Addr()); why != "" {
		return fmt.Errorf("%w: dial %s: %s address", ErrRefused, address, why)
	}
	return nil
}

// plainAddr drops the IPv6 zone and unmaps IPv4-mapped IPv6 addresses, so
// ::ffff:127.0.0.1 is judged as 127.0.0.1.
func plainAddr(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

type blockedRange struct {
	prefix netip.Prefix
	why    string
}

// blocked lists the ranges push sends must never reach: the IANA special-
// purpose ranges that are not globally reachable. IPv4-mapped addresses are
// unmapped first; NAT64 and 6to4 addresses are judged by the IPv4 address
// they embed (see nonPublic).
var blocked = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast"},

	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// nonPublic returns why an address must not be dialled, or "" when it may.
func nonPublic(a netip.Addr) string {
	a = plainAddr(a)
	if !a.IsValid() {
		return "invalid"
	}
	for _, r := range blocked {
		if r.prefix.Contains(a) {
			return r.why
		}
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		if why := nonPublic(netip.AddrFrom4([4]byte(b[12:16]))); why != "" {
			return "NAT64 of " + why
		}
	case sixToFour.Contains(a):
		if why := nonPublic(netip.AddrFrom4([4]byte(b[2:6]))); why != "" {
			return "6to4 of " + why
		}
	}
	return ""
}
