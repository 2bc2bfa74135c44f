package pushsink

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

func TestVerifyVAPIDHeaderForms(t *testing.T) {
	snd := newSender(t)
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	jwt := vapidJWT(t, snd.priv, map[string]any{"aud": "https://push.example.net:8443", "exp": exp, "sub": "https://news.example.com/contact"})

	for _, tc := range []struct {
		name, header string
		err          error
	}{
		{"canonical", "vapid t=" + jwt + ", k=" + snd.pub, nil},
		{"quoted, reordered, case", `VAPID k="` + snd.pub + `",t="` + jwt + `"`, nil},
		{"padded k", "vapid t=" + jwt + ", k=" + snd.pub + "=", nil},
		{"empty", "", ErrNoVAPID},
		{"old WebPush scheme", "WebPush " + jwt, ErrNoVAPID},
		{"bearer", "Bearer " + jwt, ErrNoVAPID},
		{"no k", "vapid t=" + jwt, ErrVAPID},
		{"k not a point", "vapid t=" + jwt + ", k=AAAA", ErrVAPID},
		{"not a JWS", "vapid t=abc, k=" + snd.pub, ErrVAPID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, gotExp, k, err := VerifyVAPID(tc.header, "https://push.example.net:8443", now)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && (sub != "https://news.example.com/contact" || gotExp.Unix() != exp || k == "") {
				t.Fatalf("sub %q exp %v k %q", sub, gotExp, k)
			}
		})
	}

	// The clock is the caller's: the same token is expired 2h later.
	if _, _, _, err := VerifyVAPID("vapid t="+jwt+", k="+snd.pub, "https://push.example.net:8443", now.Add(2*time.Hour)); !errors.Is(err, ErrVAPID) {
		t.Fatalf("2h later: %v, want ErrVAPID", err)
	}
}

// TestVAPIDCacheChecksEveryRequest: a header verified once is not verified
// again, but every request still has its exp checked against the clock and
// its aud against its own origin.
func TestVAPIDCacheChecksEveryRequest(t *testing.T) {
	snd := newSender(t)
	t0 := time.Now()
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	sink := New(Options{VAPIDPublicKey: snd.pub, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	other := httptest.NewServer(sink) // the same push service at another origin
	t.Cleanup(other.Close)
	sub := subscribe(t, sink, srv.URL)
	header := "vapid t=" + vapidJWT(t, snd.priv, map[string]any{"aud": srv.URL, "exp": t0.Add(time.Hour).Unix(), "sub": "mailto:ops@example.com"}) + ", k=" + snd.pub

	for _, step := range []struct {
		name   string
		at     time.Time
		host   string
		status int
	}{
		{"first", t0, srv.Listener.Addr().String(), 201},
		{"again, from the cache", t0.Add(time.Minute), srv.Listener.Addr().String(), 201},
		{"after exp", t0.Add(2 * time.Hour), srv.Listener.Addr().String(), 403},
		{"another origin", t0, other.Listener.Addr().String(), 403},
		{"before exp again", t0.Add(30 * time.Minute), srv.Listener.Addr().String(), 201},
	} {
		clock.Store(step.at.UnixNano())
		res, err := snd.send(t.Context(), sub, "cached", webpush.Options{}, func(r *http.Request) {
			r.Header.Set("Authorization", header)
			r.URL.Host, r.Host = step.host, step.host
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.status != step.status {
			t.Fatalf("%s: answer %d %q, want %d", step.name, res.status, res.body, step.status)
		}
		if msgs := sink.Messages(sub.ID()); step.status != 201 && !errors.Is(msgs[len(msgs)-1].Err, ErrVAPID) {
			t.Fatalf("%s: recorded %v, want ErrVAPID", step.name, msgs[len(msgs)-1].Err)
		}
	}
}
