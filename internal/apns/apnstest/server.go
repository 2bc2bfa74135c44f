package apnstest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The ids and topic the stand-in expects.
const (
	KeyID  = "APNSTEST01"
	TeamID = "NEWSFLASH1"
	Topic  = "org.newsflash.app"
)

// Limits of the provider token the stand-in enforces, as APNs does.
const (
	TokenLifetime = time.Hour // older: 403 ExpiredProviderToken
	// TokenMinRenewal: a connection moving to a token first seen sooner
	// than this after its current one was is answered 429
	// TooManyProviderTokenUpdates.
	TokenMinRenewal = 20 * time.Minute
)

// MaxStreams is how many requests one connection may have in flight.
const MaxStreams = 1000

// Answer is a scripted answer for a device token.
type Answer struct {
	Status     int
	Reason     string
	RetryAfter string // the Retry-After header, when not empty
}

// Notification is an accepted request.
type Notification struct {
	DeviceToken string
	Header      http.Header // the apns-* headers (authorization is left out)
	Body        []byte
	Payload     Payload
	Conn        int       // which connection (1, 2, …) it came on
	At          time.Time // by the stand-in's clock
}

// Rejection is a request the stand-in refused by its own checks (not a
// scripted answer), with what was wrong, to explain a failing test.
type Rejection struct {
	Status int
	Reason string
	Detail string
}

// Server is a running stand-in.
type Server struct {
	// URL is its base URL (https://127.0.0.1:port), the client's endpoint.
	URL string

	// Set at construction.
	key  *ecdsa.PrivateKey
	ca   *authority
	srv  *http.Server
	done chan struct{} // closed when the accept loop returns

	connSeq  atomic.Int64
	open     atomic.Int64
	live     sync.Map // net.Conn → struct{}: the open connections, for DropConns
	accepted atomic.Int64

	mu         sync.Mutex
	now        func() time.Time
	queued     map[string][]Answer
	always     map[string]Answer
	record     bool
	delay      time.Duration
	notes      []Notification
	rejections []Rejection
	tokens     map[string]*seenToken // valid provider tokens seen
	changes    int                   // provider-token changes on a connection
}

// conn is what the stand-in knows of one connection: the provider token it
// uses (APNs ties a token to a connection).
type conn struct {
	id int
	mu sync.Mutex
	// Guarded by mu.
	cur, prev *seenToken // the newest valid token used on it, and the one before
}

// seenToken is a valid provider token.
type seenToken struct {
	raw      string
	iat      time.Time
	first    time.Time // when any connection first used it, by the stand-in's clock
	accepted bool      // a connection took it
}

type connKey struct{}

// Start starts a stand-in on a loopback port with a fresh signing key and
// certificate authority.
func Start() (*Server, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("apnstest: listen: %w", err)
	}
	s := &Server{
		URL:    "https://" + ln.Addr().String(),
		key:    key,
		ca:     ca,
		done:   make(chan struct{}),
		now:    time.Now,
		queued: map[string][]Answer{},
		always: map[string]Answer{},
		record: true,
		tokens: map[string]*seenToken{},
	}
	s.srv = &http.Server{
		Handler: s,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{ca.cert},
			NextProtos:   []string{"h2"}, // HTTP/1.1 is refused in the handshake
			MinVersion:   tls.VersionTLS12,
		},
		Protocols: new(http.Protocols),
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: MaxStreams},
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &conn{id: int(s.connSeq.Add(1))})
		},
		ConnState: func(nc net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.open.Add(1)
				s.live.Store(nc, struct{}{})
			case http.StateClosed, http.StateHijacked:
				s.open.Add(-1)
				s.live.Delete(nc)
			}
		},
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.srv.Protocols.SetHTTP2(true)
	go func() {
		defer close(s.done)
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// New starts a stand-in for a test, and closes it when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the stand-in, closing every connection.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.done
}

// Key returns the signing key the stand-in checks provider tokens against.
func (s *Server) Key() *ecdsa.PrivateKey { return s.key }

// KeyFile writes Key to dir as Apple's .p8 file (PEM, PKCS #8) and returns
// its path.
func (s *Server) KeyFile(dir string) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "AuthKey_"+KeyID+".p8")
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// SetClock sets the clock the stand-in judges provider tokens by (nil:
// time.Now).
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	now := s.now
	s.mu.Unlock()
	return now()
}

// FailNext makes the next valid request for the device token get this
// answer (after those already queued for it).
func (s *Server) FailNext(token string, status int, reason string) {
	s.Queue(token, Answer{Status: status, Reason: reason})
}

// Queue is FailNext with a whole Answer.
func (s *Server) Queue(token string, a Answer) {
	s.mu.Lock()
	s.queued[token] = append(s.queued[token], a)
	s.mu.Unlock()
}

// Always makes every valid request for the device token get this answer
// once the queued ones are used; status 0 stops it.
func (s *Server) Always(token string, status int, reason string) {
	s.mu.Lock()
	if status == 0 {
		delete(s.always, token)
	} else {
		s.always[token] = Answer{Status: status, Reason: reason}
	}
	s.mu.Unlock()
}

// SetDelay makes every valid request wait d before it is answered (or
// until the request ends), so that a test can have sends under way when
// something fails. The request is accepted and recorded as it arrives,
// before the wait. Zero answers at once.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// SetRecord sets whether accepted notifications are kept for
// Notifications (default true; a benchmark turns it off).
func (s *Server) SetRecord(on bool) {
	s.mu.Lock()
	s.record = on
	s.mu.Unlock()
}

// Notifications returns the accepted notifications kept so far, oldest
// first.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.notes...)
}

// Rejections returns the requests the stand-in's checks refused.
func (s *Server) Rejections() []Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Rejection(nil), s.rejections...)
}

// Accepted is how many notifications were accepted (200).
func (s *Server) Accepted() int { return int(s.accepted.Load()) }

// Conns is how many connections were accepted so far.
func (s *Server) Conns() int { return int(s.connSeq.Load()) }

// DropConns closes every open connection without a word (no GOAWAY), as
// a network failure or a restarted APNs server would.
func (s *Server) DropConns() {
	s.live.Range(func(nc, _ any) bool {
		_ = nc.(net.Conn).Close()
		return true
	})
}

// OpenConns is how many connections are open.
func (s *Server) OpenConns() int { return int(s.open.Load()) }

// ProviderTokens is how many distinct valid provider tokens were used.
func (s *Server) ProviderTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tokens {
		if t.accepted {
			n++
		}
	}
	return n
}

// TokenChanges is how many times a connection moved to a new provider
// token.
func (s *Server) TokenChanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes
}

// scripted returns the answer scripted for a device token, if any.
func (s *Server) scripted(token string) (Answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queued[token]; len(q) > 0 {
		if len(q) == 1 {
			delete(s.queued, token)
		} else {
			s.queued[token] = q[1:]
		}
		return q[0], true
	}
	a, ok := s.always[token]
	return a, ok
}
