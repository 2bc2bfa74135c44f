package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"newsflash/internal/limit"
)

// connLimit caps the TCP connections open from one client address (an IPv6
// /64, as limit.Key has it). It wraps the listener: a connection over the
// cap is closed as soon as it is accepted, before net/http sees it, so it
// costs no goroutine and no buffers. Connections from a trusted proxy are
// not counted: a proxy carries many clients, whose requests the other
// limits tell apart by X-Forwarded-For.
//
// The count of a connection is given back when it is closed, whoever closes
// it: net/http, or the reader hub for a hijacked WebSocket.
type connLimit struct {
	net.Listener
	conns   *limit.Conns
	exempt  []netip.Prefix
	refused func(key string) // counts a connection closed over the cap
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := l.keyOf(c.RemoteAddr())
		if !ok {
			return c, nil
		}
		if !l.conns.Acquire(key) {
			_ = c.Close()
			l.refused(key)
			continue
		}
		return &countedConn{Conn: c, release: func() { l.conns.Release(key) }}, nil
	}
}

// keyOf is the address a connection counts against; ok is false for
// connections that are not counted (trusted proxies, addresses that are not
// IP).
func (l *connLimit) keyOf(addr net.Addr) (key string, ok bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return "", false
	}
	a := ap.Addr().Unmap()
	for _, p := range l.exempt {
		if p.Contains(a) {
			return "", false
		}
	}
	return limit.Key(a.String()), true
}

// countedConn gives its place back once, on its first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite keeps the half-close of the TCP connection, which net/http uses
// to let a client read an error (such as 413) before the connection goes.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// prefixes parses addresses and CIDRs (what names the setting in errors).
func prefixes(what string, list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%s: %q is neither an address nor a CIDR", what, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
