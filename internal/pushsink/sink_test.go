package pushsink

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// sender is an application server: webpush-go v1.4.0, an implementation
// independent of this package, with one VAPID key pair.
type sender struct {
	pub, priv string
	client    *http.Client
}

func newSender(t *testing.T) sender {
	t.Helper()
	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	return sender{pub: pub, priv: priv, client: &http.Client{Timeout: 30 * time.Second}}
}

// doFunc is a webpush.HTTPClient that lets a test change the request
// webpush-go built before it goes over the wire.
type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

type result struct {
	status int
	header http.Header
	body   string
}

// send pushes msg to sub with webpush-go, passing the request through
// tamper (if not nil) on its way to the sink.
func (s sender) send(ctx context.Context, sub Subscription, msg string, opts webpush.Options, tamper func(*http.Request)) (result, error) {
	opts.Subscriber = cmpOr(opts.Subscriber, "ops@example.com")
	opts.VAPIDPublicKey = cmpOr(opts.VAPIDPublicKey, s.pub)
	opts.VAPIDPrivateKey = cmpOr(opts.VAPIDPrivateKey, s.priv)
	if opts.TTL == 0 {
		opts.TTL = 60
	}
	opts.HTTPClient = s.client
	if tamper != nil {
		opts.HTTPClient = doFunc(func(r *http.Request) (*http.Response, error) {
			tamper(r)
			return s.client.Do(r)
		})
	}
	ws := &webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}}
	p := []byte(msg)
	// webpush-go appends the padding to the slice it is given.
	resp, err := webpush.SendNotificationWithContext(ctx, p[:len(p):len(p)], ws, &opts)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}, err
}

func (s sender) mustSend(t *testing.T, sub Subscription, msg string, opts webpush.Options) result {
	t.Helper()
	res, err := s.send(t.Context(), sub, msg, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func startSink(t *testing.T, opts Options) (*Sink, *httptest.Server) {
	t.Helper()
	sink := New(opts)
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	return sink, srv
}

func subscribe(t *testing.T, sink *Sink, base string) Subscription {
	t.Helper()
	sub, err := sink.Subscribe(base)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestRoundTripWithWebpushGo(t *testing.T) {
	snd := newSender(t)
	sink, srv := startSink(t, Options{VAPIDPublicKey: snd.pub})
	sub := subscribe(t, sink, srv.URL)
	if !strings.HasPrefix(sub.Endpoint, srv.URL+"/push/") || sub.ID() == "" {
		t.Fatalf("endpoint %q, id %q", sub.Endpoint, sub.ID())
	}
	if raw, _ := json.Marshal(sub); !bytes.Contains(raw, []byte(`"keys":{"p256dh":"`)) {
		t.Fatalf("subscription JSON %s is not PushSubscription.toJSON()'s shape", raw)
	}

	msgs := []struct {
		text string
		opts webpush.Options
	}{
		{`{"id":"it-1","headline":"Breaking: water is wet"}`, webpush.Options{TTL: 60, Topic: "breaking", Urgency: webpush.UrgencyHigh, RecordSize: 3070}},
		// The default record size makes a body of exactly 4096 bytes.
		{strings.Repeat("é", 1000), webpush.Options{TTL: 5, Urgency: webpush.UrgencyLow}},
	}
	for _, m := range msgs {
		res := snd.mustSend(t, sub, m.text, m.opts)
		if res.status != http.StatusCreated || res.header.Get("Location") == "" {
			t.Fatalf("answer %d %q (Location %q), want 201 with a Location", res.status, res.body, res.header.Get("Location"))
		}
	}

	got := sink.Messages(sub.ID())
	if len(got) != len(msgs) {
		t.Fatalf("%d messages, want %d: %+v", len(got), len(msgs), got)
	}
	for i, m := range got {
		want := msgs[i]
		if m.Err != nil || m.Status != http.StatusCreated || m.SubID != sub.ID() {
			t.Errorf("message %d: err %v, status %d, sub %q", i, m.Err, m.Status, m.SubID)
		}
		if string(m.Payload) != want.text {
			t.Errorf("message %d: payload %q, want %q", i, m.Payload, want.text)
		}
		if m.TTL != fmt.Sprint(want.opts.TTL) || m.Topic != want.opts.Topic || m.Urgency != string(want.opts.Urgency) {
			t.Errorf("message %d: TTL %q Topic %q Urgency %q", i, m.TTL, m.Topic, m.Urgency)
		}
		if m.VAPIDSub != "mailto:ops@example.com" || m.VAPIDAud != srv.URL {
			t.Errorf("message %d: VAPID sub %q aud %q, want mailto:ops@example.com and %s", i, m.VAPIDSub, m.VAPIDAud, srv.URL)
		}
		// webpush-go v1.4.0 always signs exp = now + 12h.
		if d := time.Until(m.VAPIDExp); d < 11*time.Hour || d > 13*time.Hour {
			t.Errorf("message %d: VAPID exp %v ahead, want about 12h", i, d)
		}
		if m.At.IsZero() {
			t.Errorf("message %d: no At", i)
		}
	}
	if a, r := sink.Count(); a != 2 || r != 0 {
		t.Fatalf("Count = %d, %d; want 2, 0", a, r)
	}
}

// vapidJWT signs claims as an application server would, for the claims
// webpush-go will not produce.
func vapidJWT(t *testing.T, privB64 string, claims map[string]any) string {
	t.Helper()
	d, err := base64.RawURLEncoding.DecodeString(privB64)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestRefusals(t *testing.T) {
	snd := newSender(t)
	stranger := newSender(t) // a valid VAPID key, but not the one the sink expects
	sink, srv := startSink(t, Options{VAPIDPublicKey: snd.pub})
	other := subscribe(t, sink, srv.URL)

	// withJWT replaces webpush-go's JWT with one signed over claims.
	withJWT := func(claims map[string]any) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", "vapid t="+vapidJWT(t, snd.priv, claims)+", k="+snd.pub)
		}
	}
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"aud": srv.URL, "exp": time.Now().Add(time.Hour).Unix(), "sub": "mailto:ops@example.com"}
		change(c)
		return c
	}
	withBody := func(b []byte) func(*http.Request) {
		return func(r *http.Request) {
			r.Body, r.ContentLength, r.GetBody = io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
		}
	}
	garbage := make([]byte, 300)
	rand.Read(garbage)

	for _, tc := range []struct {
		name   string
		opts   webpush.Options
		tamper func(sub Subscription) func(*http.Request)
		gone   bool
		status int
		err    error
	}{
		{name: "wrong VAPID key", opts: webpush.Options{VAPIDPublicKey: stranger.pub, VAPIDPrivateKey: stranger.priv},
			status: 403, err: ErrVAPID},
		{name: "bad signature", status: 403, err: ErrVAPID, tamper: func(Subscription) func(*http.Request) {
			return func(r *http.Request) {
				// Keep webpush-go's signature, change what it signed.
				auth := r.Header.Get("Authorization")
				jwt := strings.TrimPrefix(strings.Split(auth, ",")[0], "vapid t=")
				parts := strings.Split(jwt, ".")
				forged := base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"` + srv.URL + `","exp":` + fmt.Sprint(time.Now().Add(time.Hour).Unix()) + `,"sub":"mailto:mallory@example.com"}`))
				r.Header.Set("Authorization", strings.Replace(auth, parts[1], forged, 1))
			}
		}},
		{name: "expired exp", status: 403, err: ErrVAPID, tamper: func(Subscription) func(*http.Request) {
			return withJWT(claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))
		}},
		{name: "exp over 24h ahead", status: 403, err: ErrVAPID, tamper: func(Subscription) func(*http.Request) {
			return withJWT(claims(func(c map[string]any) { c["exp"] = time.Now().Add(25 * time.Hour).Unix() }))
		}},
		{name: "aud of another origin", status: 403, err: ErrVAPID, tamper: func(Subscription) func(*http.Request) {
			return withJWT(claims(func(c map[string]any) { c["aud"] = "https://fcm.googleapis.com" }))
		}},
		{name: "doubled mailto sub", status: 403, err: ErrVAPID, tamper: func(Subscription) func(*http.Request) {
			return withJWT(claims(func(c map[string]any) { c["sub"] = "mailto:mailto:x@example.com" }))
		}},
		// webpush-go v1.4.0 adds "mailto:" itself, so a subscriber already
		// written as a mailto: URI is sent doubled.
		{name: "doubled mailto sub from webpush-go", opts: webpush.Options{Subscriber: "mailto:ops@example.com"},
			status: 403, err: ErrVAPID},
		{name: "sub not a URI", status: 403, err: ErrVAPID, tamper: func(Subscription) func(*http.Request) {
			return withJWT(claims(func(c map[string]any) { c["sub"] = "ops@example.com" }))
		}},
		{name: "no Authorization", status: 401, err: ErrNoVAPID, tamper: func(Subscription) func(*http.Request) {
			return func(r *http.Request) { r.Header.Del("Authorization") }
		}},
		{name: "missing TTL", status: 400, err: ErrHeader, tamper: func(Subscription) func(*http.Request) {
			return func(r *http.Request) { r.Header.Del("TTL") }
		}},
		{name: "negative TTL", status: 400, err: ErrHeader, tamper: func(Subscription) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("TTL", "-1") }
		}},
		{name: "wrong Content-Encoding", status: 400, err: ErrHeader, tamper: func(Subscription) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }
		}},
		{name: "Topic not base64url", opts: webpush.Options{Topic: "news:breaking"}, status: 400, err: ErrHeader},
		{name: "garbage body", status: 400, err: ErrDecrypt, tamper: func(Subscription) func(*http.Request) {
			return withBody(garbage)
		}},
		{name: "body over 4096 bytes", status: 413, err: ErrTooLarge, tamper: func(Subscription) func(*http.Request) {
			return withBody(make([]byte, 4097))
		}},
		{name: "encrypted for another subscription", status: 400, err: ErrDecrypt, tamper: func(sub Subscription) func(*http.Request) {
			return func(r *http.Request) { r.URL.Path = "/push/" + other.ID() }
		}},
		{name: "unknown subscription", status: 404, err: ErrUnknownSubscription, tamper: func(Subscription) func(*http.Request) {
			return func(r *http.Request) { r.URL.Path = "/push/never-issued" }
		}},
		{name: "gone subscription", gone: true, status: 410, err: ErrGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := subscribe(t, sink, srv.URL)
			if tc.gone {
				sink.Gone(sub.ID())
			}
			var tamper func(*http.Request)
			var sentTo string
			if tc.tamper != nil {
				tamper = tc.tamper(sub)
			}
			res, err := snd.send(t.Context(), sub, "should not arrive", tc.opts, func(r *http.Request) {
				if tamper != nil {
					tamper(r)
				}
				sentTo, _ = pushID(r.URL.Path)
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.status != tc.status {
				t.Fatalf("answer %d %q, want %d", res.status, res.body, tc.status)
			}
			got := sink.Messages(sentTo)
			if len(got) == 0 {
				t.Fatalf("nothing recorded for %q", sentTo)
			}
			m := got[len(got)-1]
			if !errors.Is(m.Err, tc.err) || m.Status != tc.status || m.Payload != nil {
				t.Fatalf("recorded err %v, status %d, payload %q; want %v, %d, none", m.Err, m.Status, m.Payload, tc.err, tc.status)
			}
			t.Logf("%d: %v", m.Status, m.Err)
		})
	}
	if a, _ := sink.Count(); a != 0 {
		t.Fatalf("%d requests accepted, want none", a)
	}
}

func TestRespondQueuesAnswers(t *testing.T) {
	snd := newSender(t)
	sink, srv := startSink(t, Options{})
	sub := subscribe(t, sink, srv.URL)
	sink.Respond(sub.ID(), Response{Status: http.StatusTooManyRequests, RetryAfter: "7"})

	first := snd.mustSend(t, sub, "one", webpush.Options{})
	if first.status != http.StatusTooManyRequests || first.header.Get("Retry-After") != "7" {
		t.Fatalf("first answer %d, Retry-After %q; want 429, 7", first.status, first.header.Get("Retry-After"))
	}
	second := snd.mustSend(t, sub, "two", webpush.Options{})
	if second.status != http.StatusCreated || second.header.Get("Retry-After") != "" || second.header.Get("Location") == "" {
		t.Fatalf("second answer %d, headers %v; want 201 with Location", second.status, second.header)
	}
	got := sink.Messages(sub.ID())
	if len(got) != 2 || got[0].Status != 429 || got[1].Status != 201 ||
		string(got[0].Payload) != "one" || string(got[1].Payload) != "two" || got[0].Err != nil || got[1].Err != nil {
		t.Fatalf("messages %+v", got)
	}
}

func TestDelayDoesNotBlockOtherSubscriptions(t *testing.T) {
	snd := newSender(t)
	sink, srv := startSink(t, Options{})
	slow, fast := subscribe(t, sink, srv.URL), subscribe(t, sink, srv.URL)
	sink.Respond(slow.ID(), Response{Delay: time.Hour})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	slowCtx, cancelSlow := context.WithCancel(ctx)
	slowDone := make(chan error, 1)
	go func() {
		_, err := snd.send(slowCtx, slow, "slow", webpush.Options{}, nil)
		slowDone <- err
	}()
	// The slow push is counted before its delay starts.
	if err := sink.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	res, err := snd.send(ctx, fast, "fast", webpush.Options{}, nil)
	if err != nil || res.status != http.StatusCreated {
		t.Fatalf("fast push: %d, %v", res.status, err)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the delayed push was answered early: %v", err)
	default:
	}
	// Ending the request ends the delay (and lets srv.Close return).
	cancelSlow()
	select {
	case err := <-slowDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("slow push ended with %v, want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("slow push did not end after its context was canceled")
	}
}

func TestWait(t *testing.T) {
	snd := newSender(t)
	sink, srv := startSink(t, Options{})
	sub := subscribe(t, sink, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	if err := sink.Wait(ctx, 0); err != nil {
		t.Fatalf("Wait(0) = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- sink.Wait(ctx, 3) }()
	for i := range 3 {
		snd.mustSend(t, sub, fmt.Sprint("m", i), webpush.Options{})
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait(3) after 3 pushes = %v", err)
	}

	waitCtx, cancelWait := context.WithCancel(ctx)
	go func() { done <- sink.Wait(waitCtx, 4) }()
	cancelWait()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
	}
}

func TestDecryptSample(t *testing.T) {
	snd := newSender(t)
	sink, srv := startSink(t, Options{DecryptSample: 10, VAPIDPublicKey: snd.pub})
	sub := subscribe(t, sink, srv.URL)
	for i := range 100 {
		if res := snd.mustSend(t, sub, fmt.Sprint("msg ", i), webpush.Options{}); res.status != http.StatusCreated {
			t.Fatalf("push %d: %d %s", i, res.status, res.body)
		}
	}
	if a, r := sink.Count(); a != 100 || r != 0 {
		t.Fatalf("Count = %d, %d; want 100, 0", a, r)
	}
	if n := sink.Accepted(sub.ID()); n != 100 {
		t.Fatalf("Accepted = %d, want 100", n)
	}
	got := sink.Messages(sub.ID())
	if len(got) != 10 {
		t.Fatalf("%d decrypted messages, want 10", len(got))
	}
	for i, m := range got {
		if want := fmt.Sprint("msg ", i*10); string(m.Payload) != want || m.VAPIDSub == "" {
			t.Errorf("decrypted message %d: %q (sub %q), want %q", i, m.Payload, m.VAPIDSub, want)
		}
	}

	// Skipped requests still have their headers and key checked.
	stranger := newSender(t)
	for range 10 {
		res := stranger.mustSend(t, sub, "x", webpush.Options{})
		if res.status != http.StatusForbidden {
			t.Fatalf("push with a foreign key: %d, want 403", res.status)
		}
	}
}

func TestConcurrentPushes(t *testing.T) {
	snd := newSender(t)
	sink, srv := startSink(t, Options{})
	subs := make([]Subscription, 4)
	for i := range subs {
		subs[i] = subscribe(t, sink, srv.URL)
	}
	const perSub = 25
	var wg sync.WaitGroup
	errs := make(chan error, len(subs)*perSub)
	for _, sub := range subs {
		for i := range perSub {
			wg.Go(func() {
				res, err := snd.send(t.Context(), sub, fmt.Sprint(sub.ID(), "/", i), webpush.Options{}, nil)
				if err == nil && res.status != http.StatusCreated {
					err = fmt.Errorf("status %d: %s", res.status, res.body)
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range subs {
		seen := map[string]bool{}
		for _, m := range sink.Messages(sub.ID()) {
			seen[string(m.Payload)] = true
		}
		for i := range perSub {
			if p := fmt.Sprint(sub.ID(), "/", i); !seen[p] {
				t.Errorf("missing %q", p)
			}
		}
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	snd := newSender(t)
	sink := New(Options{})
	mux := http.NewServeMux()
	mux.Handle("/fcm/", sink)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sub := subscribe(t, sink, srv.URL+"/fcm/")
	if !strings.HasPrefix(sub.Endpoint, srv.URL+"/fcm/push/") {
		t.Fatalf("endpoint %q", sub.Endpoint)
	}
	if res := snd.mustSend(t, sub, "hi", webpush.Options{}); res.status != http.StatusCreated {
		t.Fatalf("answer %d %s", res.status, res.body)
	}
	if m := sink.Messages(sub.ID()); len(m) != 1 || string(m[0].Payload) != "hi" {
		t.Fatalf("messages %+v", m)
	}
	resp, err := http.Get(sub.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET answered %d, want 405", resp.StatusCode)
	}
}
