package apns_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/news"
)

// TestSendHeadersAndBody checks, for each kind and priority, every header
// and the whole body the stand-in accepted.
func TestSendHeadersAndBody(t *testing.T) {
	const id = "01HZX3K9Q2M4N5P6R7S8"
	tests := []struct {
		kind, priority string
		header         map[string]string // "" value: the header is absent
		body           string
	}{
		{news.EventItem, news.PriorityFlash,
			map[string]string{"Apns-Push-Type": "alert", "Apns-Priority": "10", "Apns-Collapse-Id": id},
			`{"aps":{"alert":{"title":"Breaking","body":"Parliament dissolved; elections in June"},"sound":"default","interruption-level":"time-sensitive"},
			  "newsflash":{"type":"item","id":"` + id + `","seq":42,"version":2,"url":"https://news.example/a/1","lang":"en"}}`},
		{news.EventItem, news.PriorityUrgent,
			map[string]string{"Apns-Push-Type": "alert", "Apns-Priority": "10", "Apns-Collapse-Id": id},
			`{"aps":{"alert":{"title":"Breaking","body":"Parliament dissolved; elections in June"},"sound":"default","interruption-level":"active"},
			  "newsflash":{"type":"item","id":"` + id + `","seq":42,"version":2,"url":"https://news.example/a/1","lang":"en"}}`},
		{news.EventItem, news.PriorityBreaking,
			map[string]string{"Apns-Push-Type": "alert", "Apns-Priority": "5", "Apns-Collapse-Id": id},
			`{"aps":{"alert":{"title":"Breaking","body":"Parliament dissolved; elections in June"},"interruption-level":"active"},
			  "newsflash":{"type":"item","id":"` + id + `","seq":42,"version":2,"url":"https://news.example/a/1","lang":"en"}}`},
		{news.EventUpdate, news.PriorityFlash, // a correction replaces: same collapse id
			map[string]string{"Apns-Push-Type": "alert", "Apns-Priority": "10", "Apns-Collapse-Id": id},
			`{"aps":{"alert":{"title":"Breaking","body":"Parliament dissolved; elections in June"},"sound":"default","interruption-level":"time-sensitive"},
			  "newsflash":{"type":"update","id":"` + id + `","seq":42,"version":2,"url":"https://news.example/a/1","lang":"en"}}`},
		{news.EventUpdate, news.PriorityBreaking,
			map[string]string{"Apns-Push-Type": "alert", "Apns-Priority": "5", "Apns-Collapse-Id": id},
			`{"aps":{"alert":{"title":"Breaking","body":"Parliament dissolved; elections in June"},"interruption-level":"active"},
			  "newsflash":{"type":"update","id":"` + id + `","seq":42,"version":2,"url":"https://news.example/a/1","lang":"en"}}`},
		{news.EventRetract, news.PriorityFlash,
			map[string]string{"Apns-Push-Type": "background", "Apns-Priority": "5", "Apns-Collapse-Id": ""},
			`{"aps":{"content-available":1},"newsflash":{"type":"retract","id":"` + id + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.priority, func(t *testing.T) {
			f := setup(t, nil)
			m := message(device(1), tt.kind, tt.priority)
			f.mustSend(t, m)
			notes := f.srv.Notifications()
			if len(notes) != 1 {
				t.Fatalf("stand-in kept %d notifications, want 1", len(notes))
			}
			n := notes[0]
			if n.DeviceToken != device(1) {
				t.Errorf("device token %q, want %q", n.DeviceToken, device(1))
			}
			want := map[string]string{
				"Apns-Topic":      apnstest.Topic,
				"Apns-Expiration": strconv.FormatInt(f.clock.Now().Add(m.TTL).Unix(), 10),
				"Apns-Id":         "",
			}
			for k, v := range tt.header {
				want[k] = v
			}
			for k, v := range want {
				if got := n.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			var got, exp any
			if err := json.Unmarshal(n.Body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.body), &exp); err != nil {
				t.Fatal(err)
			}
			if g, e := mustJSON(t, got), mustJSON(t, exp); g != e {
				t.Errorf("body\n got %s\nwant %s", g, e)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSendWithoutTTL leaves apns-expiration out of a retraction without a
// TTL (APNs then keeps it by its own policy).
func TestSendWithoutTTL(t *testing.T) {
	f := setup(t, nil)
	m := message(device(1), news.EventRetract, news.PriorityFlash)
	m.TTL = 0
	f.mustSend(t, m)
	if h := f.srv.Notifications()[0].Header; h.Get("Apns-Expiration") != "" {
		t.Errorf("apns-expiration %q, want none", h.Get("Apns-Expiration"))
	}
}

// TestSendAnswers plays back every answer of issue 14 §4 (and others) and
// checks how it is sorted.
func TestSendAnswers(t *testing.T) {
	tests := []struct {
		name       string
		answer     apnstest.Answer
		want       apns.Outcome
		retryAfter time.Duration
	}{
		{"unregistered", apnstest.Answer{Status: 410, Reason: "Unregistered"}, apns.Remove, 0},
		{"expired device token", apnstest.Answer{Status: 410, Reason: "ExpiredToken"}, apns.Remove, 0},
		{"bad device token", apnstest.Answer{Status: 400, Reason: "BadDeviceToken"}, apns.Remove, 0},
		{"not for topic", apnstest.Answer{Status: 400, Reason: "DeviceTokenNotForTopic"}, apns.Remove, 0},
		{"too many requests", apnstest.Answer{Status: 429, Reason: "TooManyRequests"}, apns.Retry, 0},
		{"too many requests, retry-after", apnstest.Answer{Status: 429, Reason: "TooManyRequests", RetryAfter: "30"}, apns.Retry, 30 * time.Second},
		{"too many token updates", apnstest.Answer{Status: 429, Reason: "TooManyProviderTokenUpdates"}, apns.Retry, 0},
		{"internal error", apnstest.Answer{Status: 500, Reason: "InternalServerError"}, apns.Retry, 0},
		{"unavailable, retry-after", apnstest.Answer{Status: 503, Reason: "ServiceUnavailable", RetryAfter: "120"}, apns.Retry, 2 * time.Minute},
		{"shutdown", apnstest.Answer{Status: 503, Reason: "Shutdown"}, apns.Retry, 0},
		{"invalid provider token", apnstest.Answer{Status: 403, Reason: "InvalidProviderToken"}, apns.Retry, 0},
		{"missing provider token", apnstest.Answer{Status: 403, Reason: "MissingProviderToken"}, apns.Retry, 0},
		{"forbidden", apnstest.Answer{Status: 403, Reason: "Forbidden"}, apns.Failed, 0},
		{"payload too large", apnstest.Answer{Status: 413, Reason: "PayloadTooLarge"}, apns.Failed, 0},
		{"bad collapse id", apnstest.Answer{Status: 400, Reason: "BadCollapseId"}, apns.Failed, 0},
		{"bad topic", apnstest.Answer{Status: 400, Reason: "BadTopic"}, apns.Failed, 0},
		{"method not allowed", apnstest.Answer{Status: 405, Reason: "MethodNotAllowed"}, apns.Failed, 0},
	}
	f := setup(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := device(100 + i)
			f.srv.Queue(dev, tt.answer)
			r := f.client.Send(context.Background(), message(dev, news.EventItem, news.PriorityUrgent))
			want := apns.Result{Outcome: tt.want, RetryAfter: tt.retryAfter, Status: tt.answer.Status, Reason: tt.answer.Reason}
			if r != want {
				t.Errorf("got %+v, want %+v", r, want)
			}
			// The answer was used up: the next send goes through.
			f.mustSend(t, message(dev, news.EventItem, news.PriorityUrgent))
		})
	}
}

// TestSendRealRefusals sorts answers the stand-in gives by its own checks,
// not by a script.
func TestSendRealRefusals(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*apns.Options, *apns.Message)
		want   apns.Result
	}{
		{"device token not hex", func(_ *apns.Options, m *apns.Message) { m.Token = strings.Repeat("zz", 32) },
			apns.Result{Outcome: apns.Remove, Status: 400, Reason: "BadDeviceToken"}},
		{"device token too short", func(_ *apns.Options, m *apns.Message) { m.Token = "abcd" },
			apns.Result{Outcome: apns.Remove, Status: 400, Reason: "BadDeviceToken"}},
		{"other topic", func(o *apns.Options, _ *apns.Message) { o.Topic = "org.example.other" },
			apns.Result{Outcome: apns.Failed, Status: 400, Reason: "BadTopic"}},
		{"other key id", func(o *apns.Options, _ *apns.Message) { o.KeyID = "OTHERKEY01" },
			apns.Result{Outcome: apns.Retry, Status: 403, Reason: "InvalidProviderToken"}},
		{"other team", func(o *apns.Options, _ *apns.Message) { o.TeamID = "OTHERTEAM1" },
			apns.Result{Outcome: apns.Retry, Status: 403, Reason: "InvalidProviderToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(device(1), news.EventItem, news.PriorityFlash)
			f := setup(t, func(o *apns.Options) { tt.mutate(o, &m) })
			if r := f.client.Send(context.Background(), m); r != tt.want {
				t.Errorf("got %+v, want %+v", r, tt.want)
			}
			if len(f.srv.Notifications()) != 0 {
				t.Error("the stand-in accepted the notification")
			}
		})
	}
}

// TestSendOtherKey: a token signed with another key is refused as invalid.
func TestSendOtherKey(t *testing.T) {
	other := apnstest.New(t)
	f := setup(t, func(o *apns.Options) { o.Key = other.Key() })
	r := f.client.Send(context.Background(), message(device(1), news.EventItem, news.PriorityFlash))
	if want := (apns.Result{Outcome: apns.Retry, Status: 403, Reason: "InvalidProviderToken"}); r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if !strings.Contains(f.log.String(), "provider token refused") {
		t.Errorf("no warning logged: %q", f.log.String())
	}
}

// TestSendBadMessage: a message the client cannot encode fails without a
// request.
func TestSendBadMessage(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*apns.Message)
	}{
		{"no item", func(m *apns.Message) { m.Item = nil }},
		{"no item id", func(m *apns.Message) { m.Item.ID = "" }},
		{"unknown kind", func(m *apns.Message) { m.Kind = "delete" }},
		{"no title", func(m *apns.Message) { m.Title = "" }},
	}
	f := setup(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(device(1), news.EventItem, news.PriorityFlash)
			tt.mutate(&m)
			if r := f.client.Send(context.Background(), m); r.Outcome != apns.Failed || r.Status != 0 {
				t.Errorf("got %+v, want failed without a request", r)
			}
		})
	}
	if f.srv.Accepted() != 0 || len(f.srv.Rejections()) != 0 {
		t.Error("a request was made")
	}
}

// TestSendNoAnswer: a stand-in that is gone means retry, and the reason
// does not carry the device token.
func TestSendNoAnswer(t *testing.T) {
	f := setup(t, nil)
	f.srv.Close()
	r := f.client.Send(context.Background(), message(device(7), news.EventItem, news.PriorityFlash))
	if r.Outcome != apns.Retry || r.Status != 0 || r.Reason == "" {
		t.Errorf("got %+v, want retry without a status", r)
	}
	if strings.Contains(r.Reason, device(7)) {
		t.Errorf("reason %q has the device token", r.Reason)
	}
}

// TestSendShortensText: a body over 4,096 bytes loses a long url, then
// text, which ends in an ellipsis; the stand-in accepts it.
func TestSendShortensText(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		url     string
		wantURL bool
		wantCut bool
	}{
		{"fits", strings.Repeat("é", 600), "https://news.example/" + strings.Repeat("a", 2000), true, false},
		{"long url goes", strings.Repeat("📰", 600), "https://news.example/" + strings.Repeat("a", 2000), false, false},
		{"text shortened", strings.Repeat("📰", 1100), "https://news.example/a/1", true, true},
		{"escaped text shortened", strings.Repeat(`"<>`, 1000), "https://news.example/a/1", true, true},
	}
	f := setup(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(device(i+1), news.EventItem, news.PriorityFlash)
			m.Item.Text, m.Item.URL = tt.text, tt.url
			f.mustSend(t, m)
			n := f.srv.Notifications()[i]
			if len(n.Body) > apns.MaxPayload {
				t.Fatalf("body of %d bytes", len(n.Body))
			}
			body := n.Payload.APS.Alert.Body
			if cut := body != tt.text; cut != tt.wantCut {
				t.Errorf("text shortened: %v, want %v", cut, tt.wantCut)
			}
			if tt.wantCut {
				if !strings.HasSuffix(body, "…") || !strings.HasPrefix(tt.text, strings.TrimSuffix(body, "…")) || !utf8.ValidString(body) {
					t.Errorf("shortened text %q is not a prefix and an ellipsis", body)
				}
				if len(n.Body) < apns.MaxPayload-len(`,"receipt":""`)-apns.MaxReceipt-16 { // room for a receipt
					t.Errorf("body of %d bytes: shortened more than needed", len(n.Body))
				}
			}
			if hasURL := n.Payload.Newsflash.URL != nil; hasURL != tt.wantURL {
				t.Errorf("url kept: %v, want %v", hasURL, tt.wantURL)
			}
		})
	}
}

// TestFewConnections: 1,000 concurrent sends go over the configured number
// of connections, and later sends reuse them.
func TestFewConnections(t *testing.T) {
	for _, conns := range []int{1, 2, 4} {
		t.Run(strconv.Itoa(conns), func(t *testing.T) {
			f := setup(t, func(o *apns.Options) { o.Conns = conns })
			f.srv.SetRecord(false)
			var wg sync.WaitGroup
			errs := make(chan apns.Result, 1000)
			for i := range 1000 {
				wg.Go(func() {
					if r := f.client.Send(context.Background(), message(device(i), news.EventItem, news.PriorityFlash)); r.Outcome != apns.Sent {
						errs <- r
					}
				})
			}
			wg.Wait()
			close(errs)
			for r := range errs {
				t.Fatalf("send: %+v", r)
			}
			f.mustSend(t, message(device(1), news.EventUpdate, news.PriorityFlash))
			if got := f.srv.Accepted(); got != 1001 {
				t.Errorf("accepted %d, want 1001", got)
			}
			if got := f.srv.Conns(); got > conns {
				t.Errorf("%d connections, want at most %d", got, conns)
			}
			if got := f.srv.ProviderTokens(); got != 1 {
				t.Errorf("%d provider tokens, want 1 shared by all connections", got)
			}
		})
	}
}

// TestHTTPClientWithOtherRoundTripper: a client whose transport is not an
// *http.Transport is used as it is.
func TestHTTPClientWithOtherRoundTripper(t *testing.T) {
	srv := apnstest.New(t)
	var calls int
	var mu sync.Mutex
	rt := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return srv.Client().Transport.RoundTrip(r)
	})
	c, err := apns.New(apns.Deps{HTTPClient: &http.Client{Transport: rt}},
		apns.Options{Endpoint: srv.URL, Key: srv.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Send(context.Background(), message(device(1), news.EventItem, news.PriorityFlash)); r.Outcome != apns.Sent {
		t.Fatalf("send: %+v", r)
	}
	if calls != 1 {
		t.Errorf("round tripper called %d times, want 1", calls)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestReconnects: after APNs drops the connections, sends go through on
// new ones; a send caught on a dropped one is to be retried, and that
// happens at most once per connection.
func TestReconnects(t *testing.T) {
	f := setup(t, nil)
	for i := range 10 {
		f.mustSend(t, message(device(i), news.EventItem, news.PriorityFlash))
	}
	before := f.srv.Conns()
	f.srv.DropConns()
	retries := 0
	for i := range 10 {
		m := message(device(i), news.EventItem, news.PriorityFlash)
		for r := f.client.Send(context.Background(), m); r.Outcome != apns.Sent; r = f.client.Send(context.Background(), m) {
			if r.Outcome != apns.Retry || r.Status != 0 {
				t.Fatalf("send after a drop: %+v, want sent or retry", r)
			}
			if retries++; retries > apns.DefaultConns {
				t.Fatalf("%d sends to be retried after %d connections dropped", retries, apns.DefaultConns)
			}
		}
	}
	if got := f.srv.Conns() - before; got < 1 || got > apns.DefaultConns {
		t.Errorf("%d new connections, want 1 to %d", got, apns.DefaultConns)
	}
}
