package bench

import (
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Timeouts of the tool's own network operations.
const (
	dialTimeout    = 10 * time.Second
	connectTimeout = 15 * time.Second // TCP connect, upgrade and welcome frame
	requestTimeout = 15 * time.Second // one API request
)

// newClient returns an HTTP client whose connections come from src (or
// from an address the kernel picks, if src is not valid). On Linux, with a
// source address the socket is bound with IP_BIND_ADDRESS_NO_PORT
// (dial_linux.go), so the port is chosen at connect time for the whole
// (source, destination) pair: each source address then has the whole
// ephemeral range (about 28,000 ports) towards the server's port, instead
// of sharing it with every bind. Elsewhere the bind picks the port.
func newClient(src netip.Addr) *http.Client {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: -1}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		d.Control = bindNoPort
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			DisableCompression:    true,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: requestTimeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// closeIdle closes the idle connections of clients.
func closeIdle(clients []*http.Client) {
	for _, c := range clients {
		c.CloseIdleConnections()
	}
}
