package fcm_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
)

// clock is a settable clock for the client (the stand-in keeps the wall
// clock: x/oauth2 stamps the assertion with it).
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestTokenCached checks that sends share one access token until it is
// due, and that it is renewed then: four fifths into a short life, five
// minutes before the end of a long one.
func TestTokenCached(t *testing.T) {
	cases := []struct {
		life        time.Duration
		keep, renew time.Duration // still cached at keep, renewed at renew
	}{
		{time.Hour, 54*time.Minute + 59*time.Second, 55 * time.Minute},
		{10 * time.Minute, 7*time.Minute + 59*time.Second, 8 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.life.String(), func(t *testing.T) {
			s := standIn(t)
			s.SetExpiresIn(tc.life)
			clk := newClock()
			c := client(t, s, clk.now)
			tok := deviceToken(1)
			for range 5 {
				if r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash)); r.Outcome != fcm.Sent {
					t.Fatalf("Send = %+v", r)
				}
			}
			if s.Grants() != 1 {
				t.Fatalf("grants after 5 sends = %d, want 1", s.Grants())
			}
			clk.advance(tc.keep)
			send(t, c, message(tok, fcm.KindItem, news.PriorityFlash))
			if s.Grants() != 1 {
				t.Fatalf("grants at %s = %d, want 1", tc.keep, s.Grants())
			}
			clk.advance(tc.renew - tc.keep)
			if r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash)); r.Outcome != fcm.Sent {
				t.Fatalf("Send = %+v", r)
			}
			if s.Grants() != 2 || c.Grants() != 2 {
				t.Fatalf("grants at %s = %d (client %d), want 2", tc.renew, s.Grants(), c.Grants())
			}
		})
	}
}

// TestTokenInvalidatedOn401 checks that a token FCM no longer accepts is
// replaced, and the send made, within one Send.
func TestTokenInvalidatedOn401(t *testing.T) {
	s := standIn(t)
	c := client(t, s, nil)
	tok := deviceToken(1)
	send(t, c, message(tok, fcm.KindItem, news.PriorityFlash))
	s.RevokeTokens()
	if r := send(t, c, message(tok, fcm.KindUpdate, news.PriorityFlash)); r.Outcome != fcm.Sent {
		t.Fatalf("Send after revocation = %+v, want sent", r)
	}
	if s.Grants() != 2 || s.Attempts(tok) != 2 || s.Accepted() != 2 {
		t.Errorf("grants %d attempts %d accepted %d, want 2 2 2 (the 401 is not an attempt that reached the script)",
			s.Grants(), s.Attempts(tok), s.Accepted())
	}
}

// TestTokenConcurrentRefresh checks that many sends without a token
// share one fetch: one grant, every send made.
func TestTokenConcurrentRefresh(t *testing.T) {
	s := standIn(t)
	clk := newClock()
	c := client(t, s, clk.now)
	const n = 64
	run := func() {
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]fcm.Result, n)
		for i := range n {
			wg.Go(func() {
				<-start
				results[i] = c.Send(context.Background(), message(deviceToken(i), fcm.KindItem, news.PriorityUrgent))
			})
		}
		close(start)
		wg.Wait()
		for i, r := range results {
			if r.Outcome != fcm.Sent {
				t.Fatalf("send %d = %+v", i, r)
			}
		}
	}
	run()
	if s.Grants() != 1 {
		t.Errorf("grants after %d concurrent first sends = %d, want 1", n, s.Grants())
	}
	clk.advance(2 * time.Hour) // every send finds the token due
	run()
	if s.Grants() != 2 {
		t.Errorf("grants after %d concurrent sends with a due token = %d, want 2", n, s.Grants())
	}
	if s.Accepted() != 2*n {
		t.Errorf("accepted %d, want %d", s.Accepted(), 2*n)
	}
}

// TestTokenEndpointRefuses checks what a send becomes when no token can
// be had: failed when the credentials are refused, retried when the
// endpoint fails, and never a fault of the device (status 0).
func TestTokenEndpointRefuses(t *testing.T) {
	cases := []struct {
		name    string
		answer  fcmtest.Answer
		outcome fcm.Outcome
	}{
		{"invalid_grant", fcmtest.Answer{Status: 400, Body: `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`}, fcm.Failed},
		{"unauthorized_client", fcmtest.Answer{Status: 401, Body: `{"error":"unauthorized_client"}`}, fcm.Failed},
		{"rate limited", fcmtest.Answer{Status: 429, Body: `{"error":"rate_limit_exceeded"}`}, fcm.Retry},
		{"unavailable", fcmtest.Answer{Status: 503, Body: `<html>busy</html>`}, fcm.Retry},
		{"no access_token", fcmtest.Answer{Status: 200, Body: `{"token_type":"Bearer","expires_in":3600}`}, fcm.Retry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := standIn(t)
			c := client(t, s, nil)
			tok := deviceToken(1)
			s.FailNextGrants(tc.answer)
			r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash))
			if r.Outcome != tc.outcome || r.Status != 0 || !strings.HasPrefix(r.Reason, "access token: ") {
				t.Errorf("Send = %+v, want %s with status 0", r, tc.outcome)
			}
			if s.Attempts(tok) != 0 {
				t.Errorf("a send reached FCM without a token")
			}
			if r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash)); r.Outcome != fcm.Sent {
				t.Errorf("Send once the endpoint grants = %+v", r)
			}
		})
	}
}

// TestTokenWaiterCancelled checks that a send waiting for another's fetch
// gives up with its context.
func TestTokenWaiterCancelled(t *testing.T) {
	s := standIn(t)
	fetching, release := make(chan struct{}), make(chan struct{})
	hc := s.Client()
	inner := hc.Transport
	hc.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == fcmtest.TokenPath {
			close(fetching)
			<-release
		}
		return inner.RoundTrip(r)
	})
	c, err := fcm.New(fcm.Deps{HTTPClient: hc}, fcm.Options{Endpoint: s.URL(), Credentials: s.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan fcm.Result)
	go func() {
		first <- c.Send(context.Background(), message(deviceToken(1), fcm.KindItem, news.PriorityFlash))
	}()
	<-fetching
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := c.Send(ctx, message(deviceToken(2), fcm.KindItem, news.PriorityFlash))
	close(release)
	if r.Outcome != fcm.Retry || !strings.Contains(r.Reason, "context canceled") {
		t.Errorf("waiting Send = %+v, want retry on its cancelled context", r)
	}
	if r := <-first; r.Outcome != fcm.Sent {
		t.Errorf("fetching Send = %+v", r)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
