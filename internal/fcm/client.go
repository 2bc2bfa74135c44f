package fcm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Options.
const (
	// DefaultEndpoint is FCM's API.
	DefaultEndpoint = "https://fcm.googleapis.com"
	// DefaultTimeout bounds one request to FCM or to the token endpoint.
	DefaultTimeout = 10 * time.Second
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 10

// Deps are what a Client is given; all are optional.
type Deps struct {
	// HTTPClient sends the requests. Default: a client of its own that
	// verifies TLS with the system's roots (SSL_CERT_FILE on Linux), speaks
	// HTTP/2 and keeps its connections open.
	HTTPClient *http.Client
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (token renewal, Retry-After dates). Default
	// time.Now.
	Now func() time.Time
}

// Options configure a Client. A zero field means its default.
type Options struct {
	// Endpoint is FCM's base URL, an absolute https URL. Default
	// DefaultEndpoint.
	Endpoint string
	// Credentials of the service account; required.
	Credentials *Credentials
	// Timeout of one request. Default DefaultTimeout; negative: none
	// but the caller's context (the token endpoint then has none).
	Timeout time.Duration
}

// Client sends messages to FCM for one project.
type Client struct {
	// Set at construction.
	hc      *http.Client
	log     *slog.Logger
	now     func() time.Time
	sendURL string
	timeout time.Duration // 0: none
	ownHC   bool          // hc is the default client, made by New

	tokens *tokenCache
}

// New checks opts and makes a Client. It starts nothing.
func New(deps Deps, opts Options) (*Client, error) {
	if opts.Credentials == nil || opts.Credentials.key == nil {
		return nil, errors.New("fcm: no credentials")
	}
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	if err := checkHTTPS(opts.Endpoint); err != nil {
		return nil, fmt.Errorf("fcm endpoint: %w", err)
	}
	if u, _ := url.Parse(opts.Endpoint); u.RawQuery != "" {
		return nil, fmt.Errorf("fcm endpoint: %q has a query", opts.Endpoint)
	}
	switch {
	case opts.Timeout == 0:
		opts.Timeout = DefaultTimeout
	case opts.Timeout < 0:
		opts.Timeout = 0
	}
	own := deps.HTTPClient == nil
	if own {
		deps.HTTPClient = defaultHTTPClient()
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	c := &Client{
		hc:      deps.HTTPClient,
		log:     deps.Logger,
		now:     deps.Now,
		sendURL: strings.TrimRight(opts.Endpoint, "/") + "/v1/projects/" + url.PathEscape(opts.Credentials.ProjectID) + "/messages:send",
		timeout: opts.Timeout,
		ownHC:   own,
	}
	c.tokens = newTokenCache(opts.Credentials, deps.HTTPClient, opts.Timeout, deps.Now)
	return c, nil
}

// defaultHTTPClient verifies with the system's roots, prefers HTTP/2 and
// keeps connections long: FCM multiplexes many sends on each, and a new
// TLS connection per burst would cost far more than the sends.
func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	tr.MaxIdleConnsPerHost = 16
	tr.IdleConnTimeout = 5 * time.Minute
	// Ping a connection that has been silent, to notice one that died
	// rather than wait for a request's timeout.
	tr.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second}
	return &http.Client{Transport: tr}
}

// Close closes the idle connections of the client's own HTTP client (an
// injected one is its owner's), ending their goroutines. Sends after Close
// open new connections.
func (c *Client) Close() {
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
}

// Grants is how many access tokens the client has obtained.
func (c *Client) Grants() int64 { return c.tokens.grants.Load() }

// Send sends m and says what came of it: Prepare and SendPrepared.
func (c *Client) Send(ctx context.Context, m Message) Result {
	if m.Token == "" {
		return Result{Outcome: Failed, Reason: "invalid message: " + errNoMessage.Error()}
	}
	return c.SendPrepared(ctx, m.Token, m.Receipt, Prepare(m))
}

// SendPrepared sends p to one device, with the device's receipt (""
// for none; see Message.Receipt), and says what came of it. A 401 drops
// the access token and tries once more with a new one. It never returns a
// token in the Result.
func (c *Client) SendPrepared(ctx context.Context, token, receipt string, p *Prepared) Result {
	if p.err != nil {
		return Result{Outcome: Failed, Reason: "invalid message: " + p.err.Error()}
	}
	if token == "" {
		return Result{Outcome: Failed, Reason: "invalid message: " + errNoMessage.Error()}
	}
	if len(receipt) > MaxReceipt {
		return Result{Outcome: Failed, Reason: "invalid message: receipt longer than MaxReceipt"}
	}
	body := p.body(token, receipt)
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.get(ctx)
		if err != nil {
			return tokenResult(err)
		}
		r, unauthorised := c.post(ctx, tok, body)
		if !unauthorised {
			return r
		}
		if attempt > 0 {
			// A token fetched for this retry and refused again: keep it,
			// so that a project whose tokens FCM refuses costs one new
			// token per Send, not two.
			return r
		}
		c.tokens.invalidate(tok.value)
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.Debug("fcm refused the access token; renewing it")
		}
	}
}

// contentType is the Content-Type of every send; nothing writes to it.
var contentType = []string{"application/json; charset=UTF-8"}

// post makes one request; unauthorised reports a 401 (Result Failed).
func (c *Client) post(ctx context.Context, token *accessToken, body []byte) (r Result, unauthorised bool) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.sendURL, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Failed, Reason: err.Error()}, false
	}
	// Canonical names set directly, with values made once per token: the
	// slices Header.Set would make per request.
	req.Header["Content-Type"] = contentType
	req.Header["Authorization"] = token.authorization
	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{Outcome: Retry, Reason: transportReason(err)}, false
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Accepted: the answer (the message's name) says nothing more, and
		// is read only to keep the stream's flow control going; an answer
		// cut short changes nothing, FCM has the message.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return Result{Outcome: Sent, Status: resp.StatusCode}, false
	}
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode == http.StatusUnauthorized {
		// Failed, whether or not the access token is at fault: a refused
		// token is renewed by Send, the project's APNs or web credentials
		// (THIRD_PARTY_AUTH_ERROR) are not ours to renew.
		r := classify(resp.StatusCode, resp.Header, ans, c.now())
		r.Outcome = Failed
		return r, r.Reason != codeThirdPartyAuth
	}
	return classify(resp.StatusCode, resp.Header, ans, c.now()), false
}

// transportReason describes a failed request without the URL (which says
// nothing new) and never with a header.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "transport: " + err.Error()
}

// tokenResult is the Result of a send that got no access token: a
// refusal by the token endpoint (4xx: the credentials are wrong or
// revoked) fails; anything else may pass and is retried. Status stays 0:
// FCM was not asked, the device is not at fault.
func tokenResult(err error) Result {
	var te *tokenFetchError
	if errors.As(err, &te) && te.status >= 400 && te.status < 500 && te.status != http.StatusTooManyRequests {
		return Result{Outcome: Failed, Reason: err.Error()}
	}
	return Result{Outcome: Retry, Reason: err.Error()}
}
