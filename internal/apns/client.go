package apns

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultEndpoint = "https://api.push.apple.com"
	DefaultConns    = 2
	DefaultTimeout  = 15 * time.Second
)

// DevelopmentEndpoint is APNs for development builds of the app (their
// device tokens are unknown to DefaultEndpoint).
const DevelopmentEndpoint = "https://api.sandbox.push.apple.com"

const (
	// pingAfter is how long a connection may be silent before a ping checks
	// it; pingTimeout how long the answer may take before it is closed.
	pingAfter   = time.Minute
	pingTimeout = 15 * time.Second
	// warnEvery spaces warnings about the provider token, which would
	// otherwise come once per device.
	warnEvery = time.Minute
)

// Deps are what a Client uses apart from its settings.
type Deps struct {
	// HTTPClient supplies the TLS settings (root CAs, proxy): its
	// *http.Transport is cloned once per connection, with the HTTP/2
	// settings described in the package comment. Another RoundTripper is
	// used as it is (Options.Conns does not apply). Its Timeout is not
	// used (Options.Timeout is). Nil: the system's roots.
	HTTPClient *http.Client
	Logger     *slog.Logger     // nil: discard
	Now        func() time.Time // nil: time.Now
}

// Options configure a Client. Key, KeyID, TeamID and Topic are required.
type Options struct {
	// Endpoint is the APNs server, an absolute https URL. Default
	// DefaultEndpoint; DevelopmentEndpoint for development builds.
	Endpoint string
	Key      *ecdsa.PrivateKey // the .p8 signing key (LoadKey)
	KeyID    string            // the key's 10-character id (the JWT's kid)
	TeamID   string            // the 10-character team id (the JWT's iss)
	Topic    string            // the app's bundle id (apns-topic)
	// Conns is how many HTTP/2 connections requests are spread over.
	// Default DefaultConns; negative: one transport that opens a further
	// connection whenever the open ones have no stream to spare.
	Conns int
	// Timeout bounds each request, its answer included. Default
	// DefaultTimeout; negative: none (the caller's context only).
	Timeout time.Duration
}

// OptionError is a bad Options field, named as in Options.
type OptionError struct {
	Option  string
	Problem string
}

func (e *OptionError) Error() string { return "apns: " + e.Option + ": " + e.Problem }

// Client sends notifications to APNs. It is safe for concurrent use.
type Client struct {
	// Set at construction.
	endpoint string // without a trailing slash
	topic    []string
	timeout  time.Duration
	clients  []*http.Client
	sign     *signer
	log      *slog.Logger
	now      func() time.Time

	next     atomic.Uint64 // which client the next request goes to
	lastWarn atomic.Int64  // unix nanoseconds of the last provider-token warning
}

// New checks the options and makes a client. It opens no connection: the
// first Send does.
func New(deps Deps, opts Options) (*Client, error) {
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	endpoint, err := checkEndpoint(opts.Endpoint)
	if err != nil {
		return nil, &OptionError{"Endpoint", err.Error()}
	}
	if opts.Key == nil {
		return nil, &OptionError{"Key", "missing"}
	}
	if opts.Key.Curve != elliptic.P256() {
		return nil, &OptionError{"Key", "not a P-256 key"}
	}
	if !appleID(opts.KeyID) {
		return nil, &OptionError{"KeyID", "want the key's 10-character id (letters and digits)"}
	}
	if !appleID(opts.TeamID) {
		return nil, &OptionError{"TeamID", "want the 10-character team id (letters and digits)"}
	}
	if opts.Topic == "" || strings.ContainsFunc(opts.Topic, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, &OptionError{"Topic", "want the app's bundle id"}
	}
	if opts.Conns == 0 {
		opts.Conns = DefaultConns
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Client{
		endpoint: endpoint,
		topic:    []string{opts.Topic},
		timeout:  opts.Timeout,
		clients:  httpClients(deps.HTTPClient, opts.Conns),
		sign:     newSigner(opts.Key, opts.KeyID, opts.TeamID, deps.Now),
		log:      deps.Logger,
		now:      deps.Now,
	}, nil
}

func checkEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "", errors.New("want an absolute https URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return "", errors.New("want only a scheme, host and port")
	}
	return "https://" + u.Host, nil
}

// appleID reports whether s looks like an Apple key or team id.
func appleID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// httpClients makes one client per connection (one for conns < 0, which
// opens connections as needed).
func httpClients(hc *http.Client, conns int) []*http.Client {
	var base *http.Transport
	switch {
	case hc == nil || hc.Transport == nil:
		base = http.DefaultTransport.(*http.Transport)
	default:
		t, ok := hc.Transport.(*http.Transport)
		if !ok {
			c := *hc
			c.Timeout = 0
			c.CheckRedirect = noRedirect
			return []*http.Client{&c}
		}
		base = t
	}
	n := max(conns, 1)
	out := make([]*http.Client, n)
	for i := range out {
		t := base.Clone()
		t.Protocols = new(http.Protocols)
		t.Protocols.SetHTTP2(true) // HTTP/2 over TLS only
		t.ForceAttemptHTTP2 = true
		t.IdleConnTimeout = 0 // keep connections: Apple counts churn as abuse
		if t.TLSClientConfig != nil {
			// A clone shares the slice: configuring HTTP/2 appends to it.
			t.TLSClientConfig.NextProtos = nil
		}
		if conns > 0 {
			// One dial at a time: without it, requests made before the
			// first connection is up each dial one (all but one then
			// closed), which APNs would see as churn.
			t.MaxConnsPerHost = 1
		}
		t.HTTP2 = &http.HTTP2Config{
			// One connection per transport: wait for a stream rather than
			// open another connection.
			StrictMaxConcurrentRequests: conns > 0,
			SendPingTimeout:             pingAfter,
			PingTimeout:                 pingTimeout,
		}
		out[i] = &http.Client{Transport: t, CheckRedirect: noRedirect}
	}
	return out
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Close closes the client's idle connections. Sends in flight finish.
func (c *Client) Close() {
	for _, hc := range c.clients {
		hc.CloseIdleConnections()
	}
}

// Header values shared by requests; nothing writes to them.
var (
	pushTypeAlert      = []string{"alert"}
	pushTypeBackground = []string{"background"}
	priority10         = []string{"10"}
	priority5          = []string{"5"}
)

// Notification is a Message encoded once for any number of devices: its
// apns-* header values and its body, which the device token does not
// change. Nothing writes to it once made, so sends share it.
type Notification struct {
	err        error    // a message that cannot be sent; the rest is unset
	pushType   []string // apns-push-type
	priority   []string // apns-priority
	expiration []string // apns-expiration; nil for none
	collapseID []string // apns-collapse-id; nil for none
	body       []byte
	receipts   bool // an alert: a send's receipt goes in its body
}

// Prepare encodes m for SendNotification; m.Token is not used. The
// expiration (m.TTL) counts from now. A message that cannot be encoded
// makes a Notification that every send fails with the reason.
func (c *Client) Prepare(m Message) *Notification {
	m.Receipt = ""
	r, err := encode(m, c.now())
	if err != nil {
		return &Notification{err: err}
	}
	n := &Notification{pushType: pushTypeBackground, priority: priority5, body: r.body}
	if r.pushType == "alert" {
		n.pushType, n.receipts = pushTypeAlert, true
	}
	if r.priority == "10" {
		n.priority = priority10
	}
	if r.expiration != "" {
		n.expiration = []string{r.expiration}
	}
	if r.collapseID != "" {
		n.collapseID = []string{r.collapseID}
	}
	return n
}

// Send posts one notification and sorts the answer: Prepare and
// SendNotification.
func (c *Client) Send(ctx context.Context, m Message) Result {
	return c.SendNotification(ctx, m.Token, m.Receipt, c.Prepare(m))
}

// SendNotification posts n to one device, with the device's receipt (""
// for none; see Message.Receipt), and sorts the answer. A 403
// ExpiredProviderToken renews the provider token (if it is at least
// MinRenewal old) and sends once more.
func (c *Client) SendNotification(ctx context.Context, device, receipt string, n *Notification) Result {
	if n.err != nil {
		return Result{Outcome: Failed, Reason: n.err.Error()}
	}
	if len(receipt) > MaxReceipt {
		return Result{Outcome: Failed, Reason: errBadMessage.Error() + ": receipt longer than MaxReceipt"}
	}
	body := n.body
	if n.receipts {
		body = withReceipt(body, receipt)
	}
	tok, err := c.sign.token()
	if err != nil {
		return Result{Outcome: Retry, Reason: err.Error()}
	}
	res := c.post(ctx, device, n, body, tok)
	if res.Status != http.StatusForbidden || res.Reason != ReasonExpiredProviderToken {
		c.warnProvider(res)
		return res
	}
	fresh, err := c.sign.expired(tok)
	switch {
	case err != nil:
		return Result{Outcome: Retry, Reason: err.Error()}
	case fresh == nil:
		c.warn("apns: provider token called expired but younger than the minimum renewal age: kept (is the clock right?)",
			"age", c.now().Sub(tok.iat).Round(time.Second), "min_renewal", MinRenewal)
		return res // Retry (classify)
	}
	res = c.post(ctx, device, n, body, fresh)
	c.warnProvider(res)
	return res
}

// post makes one request with the given token.
func (c *Client) post(ctx context.Context, device string, n *Notification, body []byte, tok *providerToken) Result {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/3/device/"+url.PathEscape(device), bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Failed, Reason: "bad request: device token"}
	}
	// Canonical names set directly, with values made once: the slices
	// Header.Set would make per request.
	h := hreq.Header
	h["Authorization"] = tok.authorization
	h["Apns-Topic"] = c.topic
	h["Apns-Push-Type"] = n.pushType
	h["Apns-Priority"] = n.priority
	if n.expiration != nil {
		h["Apns-Expiration"] = n.expiration
	}
	if n.collapseID != nil {
		h["Apns-Collapse-Id"] = n.collapseID
	}
	hc := c.clients[int(c.next.Add(1)%uint64(len(c.clients)))]
	resp, err := hc.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text has the URL, so the device token
			err = ue.Err
		}
		return Result{Outcome: Retry, Reason: "no answer: " + err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return Result{Outcome: Sent, Status: http.StatusOK}
	}
	var answer struct {
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&answer)
	return classify(resp.StatusCode, answer.Reason, parseRetryAfter(resp.Header.Get("Retry-After"), c.now()))
}

// warnProvider logs answers about the provider token (at most once per
// warnEvery): they concern every device, and the operator must act.
func (c *Client) warnProvider(r Result) {
	if providerProblem(r.Status, r.Reason) {
		c.warn("apns: provider token refused", "status", r.Status, "reason", r.Reason, "key_id", c.sign.kid, "team_id", c.sign.iss)
	}
}

func (c *Client) warn(msg string, args ...any) {
	now := c.now().UnixNano()
	last := c.lastWarn.Load()
	if now-last < int64(warnEvery) && last != 0 || !c.lastWarn.CompareAndSwap(last, now) {
		return
	}
	c.log.Warn(msg, args...)
}
