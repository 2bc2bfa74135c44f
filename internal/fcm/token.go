package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// Scope is the OAuth 2.0 scope an access token for FCM must have.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// maxRefreshMargin is how long before its expiry at most a token is
// renewed; a short-lived token is renewed after four fifths of its life.
const maxRefreshMargin = 5 * time.Minute

// accessToken is a token and when (Deps.Now) it is due for renewal.
type accessToken struct {
	value string
	due   time.Time
	// authorization is the Authorization header's value, "Bearer
	// <value>", made once for every request that uses the token.
	authorization []string
}

// tokenFetchError is a token endpoint's refusal (status 4xx or 5xx), or the
// request's failure (status 0).
type tokenFetchError struct {
	status int
	err    error
}

func (e *tokenFetchError) Error() string { return "access token: " + e.err.Error() }
func (e *tokenFetchError) Unwrap() error { return e.err }

// flight is one fetch of a token; done is closed when tok or err is set.
type flight struct {
	done chan struct{}
	tok  *accessToken
	err  error
}

// tokenCache keeps the access token. The current token is read without a
// lock; mu guards only inflight, so that one caller fetches at a time and
// the others wait for its result.
type tokenCache struct {
	// Set at construction.
	conf *jwt.Config
	hc   *http.Client // for the token endpoint, with a timeout (jwt does not take a request context)
	now  func() time.Time

	cur atomic.Pointer[accessToken]

	mu       sync.Mutex
	inflight *flight // guarded by mu; nil when no fetch runs
	grants   atomic.Int64
}

func newTokenCache(c *Credentials, hc *http.Client, timeout time.Duration, now func() time.Time) *tokenCache {
	thc := *hc
	if thc.Timeout == 0 || thc.Timeout > timeout {
		thc.Timeout = timeout
	}
	return &tokenCache{
		conf: &jwt.Config{Email: c.ClientEmail, PrivateKey: c.keyPEM, PrivateKeyID: c.PrivateKeyID,
			Scopes: []string{Scope}, TokenURL: c.TokenURI},
		hc:  &thc,
		now: now,
	}
}

// get returns a token that is not due, fetching one if needed; a caller
// that finds a fetch under way waits for it (or for its ctx).
func (t *tokenCache) get(ctx context.Context) (*accessToken, error) {
	if tok := t.cur.Load(); tok != nil && t.now().Before(tok.due) {
		return tok, nil
	}
	t.mu.Lock()
	if tok := t.cur.Load(); tok != nil && t.now().Before(tok.due) {
		t.mu.Unlock()
		return tok, nil
	}
	f := t.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		t.inflight = f
		t.mu.Unlock()
		f.tok, f.err = t.fetch()
		t.mu.Lock()
		if f.err == nil {
			t.cur.Store(f.tok)
		}
		t.inflight = nil
		t.mu.Unlock()
		close(f.done)
	} else {
		t.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, &tokenFetchError{err: ctx.Err()}
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return f.tok, nil
}

// invalidate drops the token value if it is still the current one (a 401
// for an older token changes nothing).
func (t *tokenCache) invalidate(value string) {
	if tok := t.cur.Load(); tok != nil && tok.value == value {
		t.cur.CompareAndSwap(tok, nil)
	}
}

// fetch asks the token endpoint for a new token (RFC 7523 JWT bearer
// grant, signed by x/oauth2/jwt).
func (t *tokenCache) fetch() (*accessToken, error) {
	start := t.now()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, t.hc)
	tok, err := t.conf.TokenSource(ctx).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return nil, &tokenFetchError{status: re.Response.StatusCode,
				err: fmt.Errorf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)}
		}
		return nil, &tokenFetchError{err: err}
	}
	if tok.AccessToken == "" {
		return nil, &tokenFetchError{status: http.StatusOK, err: errors.New("token endpoint answered without access_token")}
	}
	t.grants.Add(1)
	// The lifetime is expires_in, counted from before the request on the
	// injected clock (x/oauth2 counts Expiry on the wall clock).
	life := time.Hour
	if s, ok := expiresIn(tok); ok {
		life = s
	} else if !tok.Expiry.IsZero() {
		life = time.Until(tok.Expiry)
	}
	margin := min(maxRefreshMargin, life/5)
	return &accessToken{value: tok.AccessToken, due: start.Add(life - margin),
		authorization: []string{"Bearer " + tok.AccessToken}}, nil
}

// expiresIn reads the answer's expires_in, a JSON number.
func expiresIn(tok *oauth2.Token) (time.Duration, bool) {
	var secs float64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = v
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		secs = f
	default:
		return 0, false
	}
	if secs <= 0 {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}
