package apns_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/news"
)

// TestProviderTokenReusedThenRenewed: one token serves every send until it
// is RenewAfter old; then one new token replaces it.
func TestProviderTokenReusedThenRenewed(t *testing.T) {
	f := setup(t, nil)
	for i := range 5 {
		f.mustSend(t, message(device(i), news.EventItem, news.PriorityFlash))
	}
	f.clock.Advance(apns.RenewAfter - time.Second)
	f.mustSend(t, message(device(1), news.EventItem, news.PriorityFlash))
	if got := f.srv.ProviderTokens(); got != 1 {
		t.Fatalf("%d provider tokens before %s, want 1", got, apns.RenewAfter)
	}
	f.clock.Advance(time.Second)
	for i := range 5 {
		f.mustSend(t, message(device(i), news.EventItem, news.PriorityFlash))
	}
	if got := f.srv.ProviderTokens(); got != 2 {
		t.Errorf("%d provider tokens after %s, want 2", got, apns.RenewAfter)
	}
	if got := f.srv.TokenChanges(); got < 1 {
		t.Errorf("%d token changes on a connection, want at least 1", got)
	}
}

// TestExpiredProviderTokenRenewedOnce: a 403 ExpiredProviderToken renews a
// token at least MinRenewal old and sends again, once.
func TestExpiredProviderTokenRenewedOnce(t *testing.T) {
	f := setup(t, nil)
	dev := device(1)
	f.mustSend(t, message(dev, news.EventItem, news.PriorityFlash))
	f.clock.Advance(apns.MinRenewal)

	f.srv.FailNext(dev, 403, apns.ReasonExpiredProviderToken)
	if r := f.client.Send(context.Background(), message(dev, news.EventItem, news.PriorityFlash)); r.Outcome != apns.Sent {
		t.Fatalf("after one expired answer: %+v, want sent", r)
	}
	if got := f.srv.ProviderTokens(); got != 2 {
		t.Errorf("%d provider tokens, want 2", got)
	}

	// Twice in a row: renewed (the new token is old enough by now), tried
	// once more, then given back to the caller as retry.
	f.clock.Advance(apns.MinRenewal)
	f.srv.FailNext(dev, 403, apns.ReasonExpiredProviderToken)
	f.srv.FailNext(dev, 403, apns.ReasonExpiredProviderToken)
	r := f.client.Send(context.Background(), message(dev, news.EventItem, news.PriorityFlash))
	if want := (apns.Result{Outcome: apns.Retry, Status: 403, Reason: apns.ReasonExpiredProviderToken}); r != want {
		t.Errorf("after two expired answers: %+v, want %+v", r, want)
	}
	if got := f.srv.ProviderTokens(); got != 3 {
		t.Errorf("%d provider tokens, want 3 (one renewal per send)", got)
	}
	f.mustSend(t, message(dev, news.EventItem, news.PriorityFlash))
	if got := f.srv.ProviderTokens(); got != 3 {
		t.Errorf("%d provider tokens after the next send, want 3", got)
	}
}

// TestExpiredProviderTokenTooYoung: a token younger than MinRenewal is not
// renewed (APNs would refuse the new one); the send is to be retried and
// the odd answer is logged.
func TestExpiredProviderTokenTooYoung(t *testing.T) {
	f := setup(t, nil)
	dev := device(1)
	f.mustSend(t, message(dev, news.EventItem, news.PriorityFlash))
	f.clock.Advance(apns.MinRenewal - time.Second)
	f.srv.FailNext(dev, 403, apns.ReasonExpiredProviderToken)
	r := f.client.Send(context.Background(), message(dev, news.EventItem, news.PriorityFlash))
	if want := (apns.Result{Outcome: apns.Retry, Status: 403, Reason: apns.ReasonExpiredProviderToken}); r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if got := f.srv.ProviderTokens(); got != 1 {
		t.Errorf("%d provider tokens, want 1", got)
	}
	if !strings.Contains(f.log.String(), "younger than the minimum renewal age") {
		t.Errorf("not logged: %q", f.log.String())
	}
}

// TestExpiredProviderTokenOneRenewal: many sends refused as expired at once
// (by the stand-in, whose clock is ahead) make one new token between them.
func TestExpiredProviderTokenOneRenewal(t *testing.T) {
	f := setup(t, nil)
	f.mustSend(t, message(device(0), news.EventItem, news.PriorityFlash))
	f.clock.Advance(apns.MinRenewal + 5*time.Minute) // too young to renew unasked
	ahead := newClock()
	ahead.t = f.clock.Now().Add(apnstest.TokenLifetime - apns.MinRenewal) // the token is over an hour old
	f.srv.SetClock(ahead.Now)
	const n = 50
	done := make(chan apns.Result, n)
	for i := range n {
		go func() {
			done <- f.client.Send(context.Background(), message(device(i), news.EventItem, news.PriorityFlash))
		}()
	}
	for range n {
		if r := <-done; r.Outcome != apns.Sent {
			t.Errorf("send: %+v", r)
		}
	}
	if got := f.srv.ProviderTokens(); got != 2 {
		t.Errorf("%d provider tokens, want 2", got)
	}
	if got := f.srv.Accepted(); got != n+1 {
		t.Errorf("accepted %d, want %d", got, n+1)
	}
}

// TestStandInExpiresOldTokens: the stand-in itself refuses a token over an
// hour old; the client, whose token is young by its own clock, is told to
// retry rather than renew.
func TestStandInExpiresOldTokens(t *testing.T) {
	f := setup(t, nil)
	f.mustSend(t, message(device(1), news.EventItem, news.PriorityFlash))
	skewed := newClock()
	skewed.t = f.clock.Now().Add(time.Hour + time.Minute)
	f.srv.SetClock(skewed.Now)
	r := f.client.Send(context.Background(), message(device(1), news.EventItem, news.PriorityFlash))
	if want := (apns.Result{Outcome: apns.Retry, Status: 403, Reason: apns.ReasonExpiredProviderToken}); r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
}
