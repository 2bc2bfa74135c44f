package apnstest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"newsflash/internal/apns/apnstest"
)

const dev = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// signed makes a provider token.
func signed(t *testing.T, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(claims))
	tok.Header = header
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goodToken(t *testing.T, srv *apnstest.Server, iat time.Time) string {
	return signed(t, srv.Key(), map[string]any{"alg": "ES256", "kid": apnstest.KeyID},
		map[string]any{"iss": apnstest.TeamID, "iat": iat.Unix()})
}

// req is a request as the client makes it, for a test to spoil.
type req struct {
	method, path string
	header       http.Header
	body         string
}

func alertReq(bearer string) req {
	return req{
		method: http.MethodPost,
		path:   "/3/device/" + dev,
		header: http.Header{
			"Authorization":    {"bearer " + bearer},
			"Apns-Topic":       {apnstest.Topic},
			"Apns-Push-Type":   {"alert"},
			"Apns-Priority":    {"10"},
			"Apns-Expiration":  {"1900000000"},
			"Apns-Collapse-Id": {"ITEM1"},
		},
		body: `{"aps":{"alert":{"title":"Flash","body":"Text"},"sound":"default","interruption-level":"time-sensitive"},` +
			`"newsflash":{"type":"item","id":"ITEM1","seq":7,"version":1,"url":"https://news.example/1","lang":"en"}}`,
	}
}

func retractReq(bearer string) req {
	return req{
		method: http.MethodPost,
		path:   "/3/device/" + dev,
		header: http.Header{
			"Authorization":  {"bearer " + bearer},
			"Apns-Topic":     {apnstest.Topic},
			"Apns-Push-Type": {"background"},
			"Apns-Priority":  {"5"},
		},
		body: `{"aps":{"content-available":1},"newsflash":{"type":"retract","id":"ITEM1"}}`,
	}
}

type answer struct {
	status    int
	reason    string
	timestamp int64
	apnsID    string
	retry     string
}

func do(t *testing.T, c *http.Client, srv *apnstest.Server, r req) answer {
	t.Helper()
	hr, err := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header = r.header
	res, err := c.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, apnsID: res.Header.Get("Apns-Id"), retry: res.Header.Get("Retry-After")}
	if res.StatusCode != http.StatusOK {
		var body struct {
			Reason    string `json:"reason"`
			Timestamp int64  `json:"timestamp"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("answer %d %q: %v", res.StatusCode, b, err)
		}
		a.reason, a.timestamp = body.Reason, body.Timestamp
	} else if len(b) != 0 {
		t.Errorf("200 with a body %q", b)
	}
	return a
}

// TestChecks spoils one thing at a time in a good request and expects
// APNs' answer.
func TestChecks(t *testing.T) {
	srv := apnstest.New(t)
	c := srv.Client()
	now := time.Now()
	good := goodToken(t, srv, now)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := func(name, v string) func(*req) { return func(r *req) { r.header.Set(name, v) } }
	del := func(name string) func(*req) { return func(r *req) { r.header.Del(name) } }
	body := func(old, new string) func(*req) {
		return func(r *req) {
			if !strings.Contains(r.body, old) {
				t.Fatalf("body %s has no %s", r.body, old)
			}
			r.body = strings.Replace(r.body, old, new, 1)
		}
	}
	tests := []struct {
		name   string
		base   func(string) req
		spoil  func(*req)
		status int
		reason string
	}{
		{"good alert", alertReq, func(*req) {}, 200, ""},
		{"good retraction", retractReq, func(*req) {}, 200, ""},
		{"good breaking alert", alertReq, func(r *req) {
			r.header.Set("Apns-Priority", "5")
			r.body = strings.Replace(strings.Replace(r.body, `"sound":"default",`, "", 1), "time-sensitive", "active", 1)
		}, 200, ""},
		{"good apns-id", alertReq, set("Apns-Id", "123e4567-e89b-12d3-a456-426614174000"), 200, ""},
		{"GET", alertReq, func(r *req) { r.method = http.MethodGet }, 405, "MethodNotAllowed"},
		{"bad path", alertReq, func(r *req) { r.path = "/2/device/" + dev }, 404, "BadPath"},
		{"no device token", alertReq, func(r *req) { r.path = "/3/device/" }, 400, "MissingDeviceToken"},
		{"device token not hex", alertReq, func(r *req) { r.path = "/3/device/" + strings.Repeat("g", 64) }, 400, "BadDeviceToken"},
		{"device token short", alertReq, func(r *req) { r.path = "/3/device/abcdef" }, 400, "BadDeviceToken"},
		{"no authorization", alertReq, del("Authorization"), 403, "MissingProviderToken"},
		{"not bearer", alertReq, set("Authorization", "basic xyz"), 403, "InvalidProviderToken"},
		{"garbage token", alertReq, set("Authorization", "bearer a.b.c"), 403, "InvalidProviderToken"},
		{"other key", alertReq, set("Authorization", "bearer "+signed(t, other, map[string]any{"alg": "ES256", "kid": apnstest.KeyID},
			map[string]any{"iss": apnstest.TeamID, "iat": now.Unix()})), 403, "InvalidProviderToken"},
		{"other kid", alertReq, set("Authorization", "bearer "+signed(t, srv.Key(), map[string]any{"alg": "ES256", "kid": "OTHERKEY00"},
			map[string]any{"iss": apnstest.TeamID, "iat": now.Unix()})), 403, "InvalidProviderToken"},
		{"other iss", alertReq, set("Authorization", "bearer "+signed(t, srv.Key(), map[string]any{"alg": "ES256", "kid": apnstest.KeyID},
			map[string]any{"iss": "OTHERTEAM0", "iat": now.Unix()})), 403, "InvalidProviderToken"},
		{"no iat", alertReq, set("Authorization", "bearer "+signed(t, srv.Key(), map[string]any{"alg": "ES256", "kid": apnstest.KeyID},
			map[string]any{"iss": apnstest.TeamID})), 403, "InvalidProviderToken"},
		{"extra claim", alertReq, set("Authorization", "bearer "+signed(t, srv.Key(), map[string]any{"alg": "ES256", "kid": apnstest.KeyID},
			map[string]any{"iss": apnstest.TeamID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})), 403, "InvalidProviderToken"},
		{"iat in the future", alertReq, set("Authorization", "bearer "+goodToken(t, srv, now.Add(time.Hour))), 403, "InvalidProviderToken"},
		{"iat over an hour ago", alertReq, set("Authorization", "bearer "+goodToken(t, srv, now.Add(-time.Hour-time.Minute))), 403, "ExpiredProviderToken"},
		{"two authorizations", alertReq, func(r *req) { r.header.Add("Authorization", "bearer "+good) }, 400, "DuplicateHeaders"},
		{"no topic", alertReq, del("Apns-Topic"), 400, "MissingTopic"},
		{"other topic", alertReq, set("Apns-Topic", "org.example.other"), 400, "BadTopic"},
		{"no push type", alertReq, del("Apns-Push-Type"), 400, "InvalidPushType"},
		{"voip push type", alertReq, set("Apns-Push-Type", "voip"), 400, "InvalidPushType"},
		{"priority 1", alertReq, set("Apns-Priority", "1"), 400, "BadPriority"},
		{"no priority", alertReq, del("Apns-Priority"), 400, "BadPriority"},
		{"background priority 10", retractReq, set("Apns-Priority", "10"), 400, "BadPriority"},
		{"no expiration", alertReq, del("Apns-Expiration"), 400, "BadExpirationDate"},
		{"bad expiration", alertReq, set("Apns-Expiration", "tomorrow"), 400, "BadExpirationDate"},
		{"no collapse id", alertReq, del("Apns-Collapse-Id"), 400, "BadCollapseId"},
		{"long collapse id", alertReq, set("Apns-Collapse-Id", strings.Repeat("x", 65)), 400, "BadCollapseId"},
		{"collapse id not the item", alertReq, set("Apns-Collapse-Id", "ITEM2"), 400, "BadCollapseId"},
		{"collapse id on a retraction", retractReq, set("Apns-Collapse-Id", "ITEM1"), 400, "BadCollapseId"},
		{"bad apns-id", alertReq, set("Apns-Id", "42"), 400, "BadMessageId"},
		{"unknown apns header", alertReq, set("Apns-Foo", "1"), 400, "BadRequest"},
		{"no body", alertReq, func(r *req) { r.body = "" }, 400, "PayloadEmpty"},
		{"body over 4096 bytes", alertReq, body(`"Text"`, `"`+strings.Repeat("x", 4000)+`"`), 413, "PayloadTooLarge"},
		{"not JSON", alertReq, func(r *req) { r.body = "{" }, 400, "BadPayload"},
		{"unknown key", alertReq, body(`"lang":"en"`, `"lang":"en","x":1`), 400, "BadPayload"},
		{"no title", alertReq, body(`"title":"Flash",`, ""), 400, "BadPayload"},
		{"empty body text", alertReq, body(`"body":"Text"`, `"body":""`), 400, "BadPayload"},
		{"no sound at priority 10", alertReq, body(`"sound":"default",`, ""), 400, "BadPayload"},
		{"sound at priority 5", alertReq, func(r *req) {
			r.header.Set("Apns-Priority", "5")
			r.body = strings.Replace(r.body, "time-sensitive", "active", 1)
		}, 400, "BadPayload"},
		{"other sound", alertReq, body(`"sound":"default"`, `"sound":"bell.caf"`), 400, "BadPayload"},
		{"time-sensitive at priority 5", alertReq, func(r *req) {
			r.header.Set("Apns-Priority", "5")
			r.body = strings.Replace(r.body, `"sound":"default",`, "", 1)
		}, 400, "BadPayload"},
		{"critical", alertReq, body("time-sensitive", "critical"), 400, "BadPayload"},
		{"no interruption level", alertReq, body(`,"interruption-level":"time-sensitive"`, ""), 400, "BadPayload"},
		{"content-available on an alert", alertReq, body(`"sound":"default"`, `"sound":"default","content-available":1`), 400, "BadPayload"},
		{"unknown type", alertReq, body(`"type":"item"`, `"type":"retract"`), 400, "BadPayload"},
		{"no seq", alertReq, body(`"seq":7,`, ""), 400, "BadPayload"},
		{"no version", alertReq, body(`"version":1,`, ""), 400, "BadPayload"},
		{"no lang", alertReq, body(`,"lang":"en"`, ""), 400, "BadPayload"},
		{"empty url", alertReq, body(`"https://news.example/1"`, `""`), 400, "BadPayload"},
		{"no newsflash", alertReq, func(r *req) { r.body = `{"aps":{"alert":{"title":"a","body":"b"}}}` }, 400, "BadPayload"},
		{"alert on a retraction", retractReq, body(`"content-available":1`, `"content-available":1,"alert":{"title":"a","body":"b"}`), 400, "BadPayload"},
		{"content-available 0", retractReq, body(`"content-available":1`, `"content-available":0`), 400, "BadPayload"},
		{"item type on a background push", retractReq, body(`"retract"`, `"item"`), 400, "BadPayload"},
		{"seq on a retraction", retractReq, body(`"id":"ITEM1"`, `"id":"ITEM1","seq":3`), 400, "BadPayload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Accepted()
			r := tt.base(good)
			tt.spoil(&r)
			a := do(t, c, srv, r)
			if a.status != tt.status || a.reason != tt.reason {
				t.Errorf("answer %d %q, want %d %q (refusals %+v)", a.status, a.reason, tt.status, tt.reason, srv.Rejections())
			}
			if a.apnsID == "" || r.header.Get("Apns-Id") != "" && a.apnsID != r.header.Get("Apns-Id") {
				t.Errorf("apns-id %q, want the request's or a new one", a.apnsID)
			}
			if accepted := srv.Accepted() - before; accepted != 0 && tt.status != 200 || accepted != 1 && tt.status == 200 {
				t.Errorf("accepted %d", accepted)
			}
		})
	}
}

// TestScriptedAnswers: FailNext answers once, Queue with Retry-After, 410
// with a timestamp, Always until stopped.
func TestScriptedAnswers(t *testing.T) {
	srv := apnstest.New(t)
	c := srv.Client()
	now := time.Unix(1_900_000_000, 0)
	srv.SetClock(func() time.Time { return now })
	good := goodToken(t, srv, now)
	srv.FailNext(dev, 410, "Unregistered")
	srv.Queue(dev, apnstest.Answer{Status: 429, Reason: "TooManyRequests", RetryAfter: "60"})
	a := do(t, c, srv, alertReq(good))
	if a.status != 410 || a.reason != "Unregistered" || a.timestamp != now.UnixMilli() {
		t.Errorf("first: %+v, want 410 Unregistered at %d", a, now.UnixMilli())
	}
	if a = do(t, c, srv, alertReq(good)); a.status != 429 || a.reason != "TooManyRequests" || a.retry != "60" {
		t.Errorf("second: %+v, want 429 with Retry-After 60", a)
	}
	if a = do(t, c, srv, alertReq(good)); a.status != 200 {
		t.Errorf("third: %+v, want 200", a)
	}
	srv.Always(dev, 500, "InternalServerError")
	for range 3 {
		if a = do(t, c, srv, alertReq(good)); a.status != 500 || a.reason != "InternalServerError" {
			t.Errorf("always: %+v, want 500", a)
		}
	}
	srv.Always(dev, 0, "")
	if a = do(t, c, srv, retractReq(good)); a.status != 200 {
		t.Errorf("after always stopped: %+v, want 200", a)
	}
	// A spoilt request gets its real answer before any script.
	srv.FailNext(dev, 500, "InternalServerError")
	bad := alertReq(good)
	bad.header.Del("Apns-Topic")
	if a = do(t, c, srv, bad); a.status != 400 {
		t.Errorf("spoilt: %+v, want 400", a)
	}
	notes := srv.Notifications()
	if len(notes) != 2 || notes[0].DeviceToken != dev || notes[0].Payload.Newsflash.ID != "ITEM1" ||
		notes[0].Header.Get("Apns-Priority") != "10" || notes[0].Header.Get("Authorization") != "" ||
		notes[1].Payload.Newsflash.Type != "retract" || !notes[0].At.Equal(now) {
		t.Errorf("notifications %+v", notes)
	}
}

// TestTokenRenewals: a connection may move to a new token 20 minutes after
// its current one was first used, by the stand-in's clock, and keeps
// accepting the previous one.
func TestTokenRenewals(t *testing.T) {
	srv := apnstest.New(t)
	c := srv.Client()
	now := time.Now()
	srv.SetClock(func() time.Time { return now })
	t1 := goodToken(t, srv, now)
	if a := do(t, c, srv, alertReq(t1)); a.status != 200 {
		t.Fatalf("first token: %+v", a)
	}
	now = now.Add(apnstest.TokenMinRenewal - time.Second)
	t2 := goodToken(t, srv, now)
	if a := do(t, c, srv, alertReq(t2)); a.status != 429 || a.reason != "TooManyProviderTokenUpdates" {
		t.Errorf("early renewal: %+v, want 429 TooManyProviderTokenUpdates", a)
	}
	now = now.Add(2 * time.Second)
	t3 := goodToken(t, srv, now)
	if a := do(t, c, srv, alertReq(t3)); a.status != 200 {
		t.Errorf("renewal after 20 min: %+v", a)
	}
	if a := do(t, c, srv, alertReq(t1)); a.status != 200 {
		t.Errorf("previous token: %+v", a)
	}
	now = now.Add(apnstest.TokenLifetime - apnstest.TokenMinRenewal + time.Second)
	if a := do(t, c, srv, alertReq(t1)); a.status != 403 || a.reason != "ExpiredProviderToken" {
		t.Errorf("token over an hour old: %+v, want 403 ExpiredProviderToken", a)
	}
	if got := srv.ProviderTokens(); got != 2 {
		t.Errorf("%d provider tokens, want 2", got)
	}
	if got := srv.TokenChanges(); got != 1 {
		t.Errorf("%d token changes, want 1", got)
	}
	if got := srv.Conns(); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}

// TestHTTP2Only: an HTTP/1.1 client is refused.
func TestHTTP2Only(t *testing.T) {
	srv := apnstest.New(t)
	h1 := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: srv.CertPool()},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
	}}
	r := alertReq(goodToken(t, srv, time.Now()))
	hr, _ := http.NewRequest(r.method, srv.URL+r.path, bytes.NewReader([]byte(r.body)))
	hr.Header = r.header
	res, err := h1.Do(hr)
	if err == nil {
		res.Body.Close()
		t.Fatalf("HTTP/1.1 answered %d (%s)", res.StatusCode, res.Proto)
	}
	if srv.Accepted() != 0 {
		t.Error("accepted over HTTP/1.1")
	}
	// And the client it hands out speaks HTTP/2.
	if a := do(t, srv.Client(), srv, r); a.status != 200 {
		t.Errorf("HTTP/2: %+v", a)
	}
	if n := srv.Notifications(); len(n) != 1 {
		t.Fatalf("%d notifications", len(n))
	}
	if got := srv.Conns(); got != 2 {
		t.Errorf("%d connections, want 2 (one refused)", got)
	}
}

// TestDelay: with SetDelay a valid request is accepted and recorded as it
// arrives and answered only after the wait, or never if the client gives
// up first (as a sender killed mid-send does).
func TestDelay(t *testing.T) {
	srv := apnstest.New(t)
	c := srv.Client()
	good := goodToken(t, srv, time.Now())
	srv.SetDelay(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	r := alertReq(good)
	hr, _ := http.NewRequestWithContext(ctx, r.method, srv.URL+r.path, strings.NewReader(r.body))
	hr.Header = r.header
	done := make(chan error, 1)
	go func() {
		res, err := c.Do(hr)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	for srv.Accepted() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a delayed request the client gave up: %v, want context.Canceled", err)
	}
	if n := srv.Notifications(); len(n) != 1 || n[0].Payload.Newsflash.ID != "ITEM1" {
		t.Errorf("recorded %+v, want the request given up", n)
	}
	srv.SetDelay(0)
	if a := do(t, c, srv, alertReq(good)); a.status != 200 || srv.Accepted() != 2 {
		t.Errorf("without delay: %+v, accepted %d", a, srv.Accepted())
	}
}
