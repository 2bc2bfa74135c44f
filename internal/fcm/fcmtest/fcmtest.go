// Package fcmtest is a local stand-in for FCM's HTTP v1 API and Google's
// OAuth 2.0 token endpoint, for tests and benchmarks: it speaks the real
// protocol over TLS with HTTP/2, checks the signed assertion and every
// field of a message as Newsflash sends it, records what it accepts, and
// plays back scripted error answers per device token.
//
// Use: s := New(Options{}); defer s.Close(); a client takes s.URL() as its
// endpoint and s.Credentials() (or the file of s.CredentialsFile(dir)), and
// trusts the server through s.Client() / s.CertPool(), or, in a child
// process, SSL_CERT_FILE naming the file of s.WriteCA(path). Scripts:
// FailNext(token, answers...), Always(token, answer), Reset(token), with the
// answers of answers.go (Unregistered(), QuotaExceeded("30"), …) or any
// ErrorBody; FailNextGrants for the token endpoint; RevokeTokens and
// SetExpiresIn for renewal; SetDelay for slow answers. Records: Messages,
// MessagesTo, Accepted, Attempts, Grants.
//
// Goroutines: the httptest server's (its listener and one per connection);
// Close stops them. Concurrency: a *Server is safe for concurrent use; one
// mutex (Server.mu) guards its tokens, scripts and records.
package fcmtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"newsflash/internal/fcm"
)

// Defaults of Options.
const (
	DefaultProjectID   = "newsflash-test"
	DefaultClientEmail = "newsflash@newsflash-test.iam.gserviceaccount.com"
	DefaultExpiresIn   = time.Hour
)

// TokenPath and the send path's pattern, as Google's.
const (
	TokenPath = "/token"
	sendPath  = "/v1/projects/{project}/messages:send"
)

// Options configure a Server; a zero field means its default.
type Options struct {
	// ProjectID the credentials are for. Default DefaultProjectID.
	ProjectID string
	// ClientEmail of the service account. Default DefaultClientEmail.
	ClientEmail string
	// ExpiresIn of the access tokens issued. Default DefaultExpiresIn.
	ExpiresIn time.Duration
	// Now is the clock tokens and assertions are checked with. Default
	// time.Now.
	Now func() time.Time
	// Discard keeps only the count of accepted messages, not the messages
	// (for benchmarks).
	Discard bool
}

// Answer is a scripted answer to a send.
type Answer struct {
	Status int
	// Body is the answer's JSON, usually ErrorBody's.
	Body string
	// RetryAfter, if set, is sent as the Retry-After header.
	RetryAfter string
}

// Message is an accepted message, decoded.
type Message struct {
	Token        string
	Notification *Notification
	Data         map[string]string
	Android      Android
}

type Notification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type Android struct {
	CollapseKey  string               `json:"collapse_key,omitempty"`
	Priority     string               `json:"priority"`
	TTL          string               `json:"ttl,omitempty"`
	Notification *AndroidNotification `json:"notification,omitempty"`
}

type AndroidNotification struct {
	Tag       string `json:"tag"`
	ChannelID string `json:"channel_id"`
}

// Server is the stand-in.
type Server struct {
	// Set at construction.
	srv   *httptest.Server
	key   *rsa.PrivateKey
	keyID string
	opts  Options

	mu        sync.Mutex
	expiresIn time.Duration
	tokens    map[string]time.Time // access token → expiry
	grants    int
	grantFail []Answer
	delay     time.Duration
	next      map[string][]Answer // device token → answers, first first
	always    map[string]Answer
	attempts  map[string]int // device token → sends that reached the script
	accepted  int
	messages  []Message
}

// New starts a stand-in with a fresh RSA key. Close stops it.
func New(opts Options) *Server {
	if opts.ProjectID == "" {
		opts.ProjectID = DefaultProjectID
	}
	if opts.ClientEmail == "" {
		opts.ClientEmail = DefaultClientEmail
	}
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = DefaultExpiresIn
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("fcmtest: " + err.Error())
	}
	id := make([]byte, 20)
	rand.Read(id)
	s := &Server{key: key, keyID: hex.EncodeToString(id), opts: opts, expiresIn: opts.ExpiresIn,
		tokens: map[string]time.Time{}, next: map[string][]Answer{}, always: map[string]Answer{}, attempts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, s.serveToken)
	mux.HandleFunc(sendPath, s.serveSend)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.EnableHTTP2 = true
	// Refused handshakes (a client that does not trust it) are a test's
	// business, not log noise.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL: the Options.Endpoint of a client.
func (s *Server) URL() string { return s.srv.URL }

// TokenURI is the token endpoint's URL.
func (s *Server) TokenURI() string { return s.srv.URL + TokenPath }

// ProjectID is the project the credentials are for.
func (s *Server) ProjectID() string { return s.opts.ProjectID }

// Client is an HTTP client that trusts the server and speaks HTTP/2.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertPool holds the server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// WriteCA writes the server's certificate as PEM to path, for a child
// process's SSL_CERT_FILE (honoured on Linux).
func (s *Server) WriteCA(path string) error {
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	return os.WriteFile(path, b, 0o644)
}

// CredentialsJSON is a service-account key file for the server: its key,
// and token_uri at its token endpoint.
func (s *Server) CredentialsJSON() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		panic("fcmtest: " + err.Error())
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  s.opts.ProjectID,
		"private_key_id":              s.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                s.opts.ClientEmail,
		"client_id":                   "100000000000000000000",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.TokenURI(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return b
}

// Credentials are CredentialsJSON, parsed.
func (s *Server) Credentials() *fcm.Credentials {
	c, err := fcm.ParseCredentials(s.CredentialsJSON())
	if err != nil {
		panic("fcmtest: " + err.Error())
	}
	return c
}

// CredentialsFile writes CredentialsJSON to a file in dir (mode 0600) and
// returns its path.
func (s *Server) CredentialsFile(dir string) (string, error) {
	p := filepath.Join(dir, "fcm-service-account.json")
	return p, os.WriteFile(p, s.CredentialsJSON(), 0o600)
}

// SetExpiresIn sets the lifetime of the access tokens issued from now on.
func (s *Server) SetExpiresIn(d time.Duration) {
	s.mu.Lock()
	s.expiresIn = d
	s.mu.Unlock()
}

// Grants is how many access tokens were issued.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

// RevokeTokens makes every access token issued so far invalid: the next
// send with one is answered 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}

// FailNextGrants makes the next requests to the token endpoint answer
// these, one each, before it grants again.
func (s *Server) FailNextGrants(a ...Answer) {
	s.mu.Lock()
	s.grantFail = append(s.grantFail, a...)
	s.mu.Unlock()
}

// FailNext makes the next sends to a device token answer these, one each
// (after the checks of a well-formed, authorised request).
func (s *Server) FailNext(token string, a ...Answer) {
	s.mu.Lock()
	s.next[token] = append(s.next[token], a...)
	s.mu.Unlock()
}

// Always makes every send to a device token answer a, once FailNext's
// answers are used up.
func (s *Server) Always(token string, a Answer) {
	s.mu.Lock()
	s.always[token] = a
	s.mu.Unlock()
}

// Reset forgets the scripts of a device token.
func (s *Server) Reset(token string) {
	s.mu.Lock()
	delete(s.next, token)
	delete(s.always, token)
	s.mu.Unlock()
}

// SetDelay makes every well-formed, authorised send wait d before it is
// answered (or until its request ends), so that a test can have sends
// under way when something fails. The send counts as it arrives, before
// the wait. Zero answers at once.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Attempts is how many well-formed, authorised sends to a device token
// arrived, whatever they were answered.
func (s *Server) Attempts(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[token]
}

// Accepted is how many messages were answered 200.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Messages are the accepted messages, oldest first (none with
// Options.Discard).
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// MessagesTo are the accepted messages to a device token.
func (s *Server) MessagesTo(token string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Token == token {
			out = append(out, m)
		}
	}
	return out
}
