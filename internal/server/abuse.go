package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/limit"
)

// Limits bound what one client address (an IPv6 /64) may do. Zero is the
// default; a negative value turns a limit off. Past a limit the answer is
// 429 with Retry-After; other addresses are not affected.
type Limits struct {
	// ReaderConnects is how many WebSocket and SSE connection attempts per
	// second one address may make, in bursts of twice that. Default
	// DefaultReaderConnects.
	ReaderConnects int
	// APIRequests is how many public API requests per second one address
	// may make, in bursts of twice that; requests with a valid editor token
	// are not counted. Default DefaultAPIRequests.
	APIRequests int
	// AuthFailures is how many invalid editor tokens per minute one address
	// may present; past it every invalid token from there gets 429 until
	// the limit allows another. A valid token is never refused by it, so
	// that editors sharing an address (an office NAT, a proxy that is not
	// trusted) are not locked out by someone else's failures. Default
	// DefaultAuthFailures.
	AuthFailures int
	// ConnectionsPerAddress is how many TCP connections one address may
	// have open at once; past it a new connection is closed as soon as it
	// is accepted, unanswered. Connections from TrustedProxies are not
	// counted: a proxy carries many clients. It must be above
	// Live.ReadersPerAddress, since each reader holds a connection.
	// Default DefaultConnectionsPerAddress.
	ConnectionsPerAddress int
}

func (l *Limits) setDefaults() {
	for _, d := range []struct {
		v   *int
		def int
	}{{&l.ReaderConnects, DefaultReaderConnects}, {&l.APIRequests, DefaultAPIRequests},
		{&l.AuthFailures, DefaultAuthFailures}, {&l.ConnectionsPerAddress, DefaultConnectionsPerAddress}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
}

// Defaults of Limits.
const (
	DefaultReaderConnects = 20 // per second
	DefaultAPIRequests    = 20 // per second
	DefaultAuthFailures   = 10 // per minute
	// DefaultConnectionsPerAddress is how many TCP connections one address
	// may have open: its readers (live.DefaultReadersPerAddress) and room
	// for its API requests and page loads.
	DefaultConnectionsPerAddress = 256
)

// abuse holds the limiters of an instance.
type abuse struct {
	connects, api, failures *limit.Rate
}

func newAbuse(l Limits) *abuse {
	return &abuse{
		connects: limit.NewRate(l.ReaderConnects, time.Second, 2*l.ReaderConnects, 0),
		api:      limit.NewRate(l.APIRequests, time.Second, 2*l.APIRequests, 0),
		failures: limit.NewRate(l.AuthFailures, time.Minute, l.AuthFailures, 0),
	}
}

func tooMany(code, message string, wait time.Duration) error {
	return &httperr.Error{Status: http.StatusTooManyRequests, Code: code, Message: message, RetryAfter: httperr.Seconds(wait)}
}

// readerConnects limits WebSocket and SSE connection attempts.
func (s *Server) readerConnects() gin.HandlerFunc {
	return func(c *gin.Context) {
		if ok, wait := s.abuse.connects.Allow(limit.Key(c.ClientIP()), time.Now()); !ok {
			httperr.Abort(c, tooMany("too_many_connects", "too many connection attempts from this address; wait and reconnect", wait))
			return
		}
		c.Next()
	}
}

// apiRequests limits the public API; editors with a valid token are not
// counted, and invalid tokens are counted by authFailures as well.
func (s *Server) apiRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		if tok := bearer(c); tok != "" {
			if _, ok := s.editors.Lookup(tok); ok {
				c.Next()
				return
			}
		}
		if ok, wait := s.abuse.api.Allow(limit.Key(c.ClientIP()), time.Now()); !ok {
			httperr.Abort(c, tooMany("too_many_requests", "too many requests from this address; slow down", wait))
			return
		}
		c.Next()
	}
}

// authFailures counts answers of 401 to requests that carried a token, and
// past an address's limit refuses every further invalid token from there.
// A valid token always passes: only failures are throttled, so editors who
// share an address with a failing client keep working. Past the limit the
// token is checked with Lookup, which takes the same time whatever the
// token, and an invalid one gets 429 instead of 401. That a valid token
// still works past the limit is what tells it apart there, as it does
// below the limit: guessing is kept hopeless by the tokens' 256 random bits
// (NewToken), and the limit keeps failing clients cheap and visible.
func (s *Server) authFailures() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") == "" {
			c.Next()
			return
		}
		key, now := limit.Key(c.ClientIP()), time.Now()
		if blocked, wait := s.abuse.failures.Blocked(key, now); blocked {
			if _, ok := s.editors.Lookup(bearer(c)); !ok {
				httperr.Abort(c, tooMany("too_many_failures", "too many invalid editor tokens from this address; wait before trying again", wait))
				return
			}
		}
		c.Next()
		if c.Writer.Status() == http.StatusUnauthorized {
			s.abuse.failures.Allow(key, now)
		}
	}
}

// bearer is the token of an "Authorization: Bearer" header, or "".
func bearer(c *gin.Context) string {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// securityHeaders go on every answer: nothing is sniffed as something
// else or framed. Answers that are not the site's own files (the API, health
// and errors) also get a CSP that allows nothing and take no referrer along;
// the files keep theirs (web.Assets sets the pages' CSP, and a CSP on sw.js
// would bind the service worker: its fetches and notification icons).
func securityHeaders(assets map[string]bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if !assets[c.Request.URL.Path] {
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		c.Next()
	}
}

// countRefusals counts the answers of the abuse limits, by error code.
func (s *Server) countRefusals() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		st := c.Writer.Status()
		if st != http.StatusTooManyRequests && st != http.StatusServiceUnavailable {
			return
		}
		for _, e := range c.Errors {
			var he *httperr.Error
			if errors.As(e.Err, &he) && (he.Status == http.StatusTooManyRequests || he.Code == "server_full") {
				s.metrics.Refused.WithLabelValues(he.Code).Inc()
				return
			}
		}
	}
}
