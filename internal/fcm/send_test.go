package fcm_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
)

// TestSendAnswers plays every answer of issue 14 §4 and checks what Send
// makes of it.
func TestSendAnswers(t *testing.T) {
	s := standIn(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c := client(t, s, func() time.Time { return now })
	cases := []struct {
		name       string
		answers    []fcmtest.Answer // FailNext, in order
		outcome    fcm.Outcome
		status     int
		reason     string
		retryAfter time.Duration
		attempts   int
	}{
		{"accepted", nil, fcm.Sent, 200, "", 0, 1},
		{"unregistered", []fcmtest.Answer{fcmtest.Unregistered()}, fcm.Remove, 404, "UNREGISTERED", 0, 1},
		{"sender id mismatch", []fcmtest.Answer{fcmtest.SenderIDMismatch()}, fcm.Remove, 403, "SENDER_ID_MISMATCH", 0, 1},
		{"invalid token (FcmError only)", []fcmtest.Answer{fcmtest.InvalidToken()}, fcm.Remove, 400, "INVALID_ARGUMENT", 0, 1},
		{"invalid token (field violation)", []fcmtest.Answer{fcmtest.InvalidTokenField()}, fcm.Remove, 400, "INVALID_ARGUMENT", 0, 1},
		{"invalid data field", []fcmtest.Answer{fcmtest.InvalidArgument("message.data[0].value")}, fcm.Failed, 400, "INVALID_ARGUMENT", 0, 1},
		{"quota exceeded, seconds", []fcmtest.Answer{fcmtest.QuotaExceeded("17")}, fcm.Retry, 429, "QUOTA_EXCEEDED", 17 * time.Second, 1},
		{"quota exceeded, no retry-after", []fcmtest.Answer{fcmtest.QuotaExceeded("")}, fcm.Retry, 429, "QUOTA_EXCEEDED", 0, 1},
		{"unavailable, HTTP date", []fcmtest.Answer{fcmtest.Unavailable(now.Add(90 * time.Second).Format(http.TimeFormat))}, fcm.Retry, 503, "UNAVAILABLE", 90 * time.Second, 1},
		{"unavailable, date past", []fcmtest.Answer{fcmtest.Unavailable(now.Add(-time.Hour).Format(http.TimeFormat))}, fcm.Retry, 503, "UNAVAILABLE", 0, 1},
		{"unavailable, retry-after garbage", []fcmtest.Answer{fcmtest.Unavailable("soon")}, fcm.Retry, 503, "UNAVAILABLE", 0, 1},
		{"retry-after capped at a day", []fcmtest.Answer{fcmtest.Unavailable("99999999999999")}, fcm.Retry, 503, "UNAVAILABLE", 24 * time.Hour, 1},
		{"internal", []fcmtest.Answer{fcmtest.Internal()}, fcm.Retry, 500, "INTERNAL", 0, 1},
		{"bad gateway page", []fcmtest.Answer{{Status: 502, Body: "<html>Error 502</html>"}}, fcm.Retry, 502, "BAD_GATEWAY", 0, 1},
		{"404 without UNREGISTERED keeps the device", []fcmtest.Answer{{Status: 404, Body: "<html>Not Found</html>"}}, fcm.Failed, 404, "NOT_FOUND", 0, 1},
		{"403 permission denied keeps the device", []fcmtest.Answer{{Status: 403, Body: fcmtest.ErrorBody(403, "PERMISSION_DENIED", "denied")}}, fcm.Failed, 403, "PERMISSION_DENIED", 0, 1},
		{"other 4xx", []fcmtest.Answer{{Status: 413, Body: fcmtest.ErrorBody(413, "INVALID_ARGUMENT", "too big")}}, fcm.Failed, 413, "INVALID_ARGUMENT", 0, 1},
		{"401 once: renewed and sent", []fcmtest.Answer{fcmtest.Unauthenticated()}, fcm.Sent, 200, "", 0, 2},
		{"401 twice: failed", []fcmtest.Answer{fcmtest.Unauthenticated(), fcmtest.Unauthenticated()}, fcm.Failed, 401, "UNAUTHENTICATED", 0, 2},
		{"third-party auth: failed, no renewal", []fcmtest.Answer{fcmtest.ThirdPartyAuth()}, fcm.Failed, 401, "THIRD_PARTY_AUTH_ERROR", 0, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := deviceToken(i)
			s.FailNext(tok, tc.answers...)
			r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash))
			if r.Outcome != tc.outcome || r.Status != tc.status || r.Reason != tc.reason || r.RetryAfter != tc.retryAfter {
				t.Errorf("Send = %+v (%s), want outcome %s status %d reason %q retry-after %s",
					r, r.Outcome, tc.outcome, tc.status, tc.reason, tc.retryAfter)
			}
			if got := s.Attempts(tok); got != tc.attempts {
				t.Errorf("stand-in got %d attempts, want %d", got, tc.attempts)
			}
			if sent := len(s.MessagesTo(tok)); (sent == 1) != (tc.outcome == fcm.Sent) {
				t.Errorf("stand-in accepted %d messages for outcome %s", sent, r.Outcome)
			}
		})
	}
}

// TestSendAlways401 checks that a token refused however often costs one
// renewal per Send, not a loop.
func TestSendAlways401(t *testing.T) {
	s := standIn(t)
	c := client(t, s, nil)
	tok := deviceToken(1)
	s.Always(tok, fcmtest.Unauthenticated())
	for range 2 {
		if r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash)); r.Outcome != fcm.Failed || r.Status != 401 {
			t.Fatalf("Send = %+v, want failed 401", r)
		}
	}
	if got := s.Attempts(tok); got != 4 {
		t.Errorf("attempts = %d, want 4 (two per Send)", got)
	}
	if got := s.Grants(); got != 3 {
		t.Errorf("grants = %d, want 3 (the first, one renewal per Send)", got)
	}
	s.Reset(tok)
	if r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash)); r.Outcome != fcm.Sent {
		t.Errorf("Send after Reset = %+v, want sent", r)
	}
}

// TestMessageJSON checks the message of each kind and priority as the
// stand-in accepted it (after its strict checks).
func TestMessageJSON(t *testing.T) {
	s := standIn(t)
	c := client(t, s, nil)
	cases := []struct {
		kind, priority string
		android        string
	}{
		{fcm.KindItem, news.PriorityFlash, "HIGH"},
		{fcm.KindItem, news.PriorityUrgent, "HIGH"},
		{fcm.KindItem, news.PriorityBreaking, "NORMAL"},
		{fcm.KindUpdate, news.PriorityFlash, "HIGH"},
		{fcm.KindUpdate, news.PriorityBreaking, "NORMAL"},
		{fcm.KindRetract, news.PriorityBreaking, "HIGH"},
		{fcm.KindRetract, news.PriorityFlash, "HIGH"},
	}
	for i, tc := range cases {
		t.Run(tc.kind+"/"+tc.priority, func(t *testing.T) {
			tok := deviceToken(i)
			m := message(tok, tc.kind, tc.priority)
			m.TTL = 90*time.Minute + 500*time.Millisecond
			if r := send(t, c, m); r.Outcome != fcm.Sent {
				t.Fatalf("Send = %+v", r)
			}
			got := s.MessagesTo(tok)
			if len(got) != 1 {
				t.Fatalf("stand-in has %d messages", len(got))
			}
			g, it := got[0], m.Item
			if g.Android.Priority != tc.android || g.Android.TTL != "5400s" {
				t.Errorf("android priority %q ttl %q, want %q 5400s", g.Android.Priority, g.Android.TTL, tc.android)
			}
			if tc.kind == fcm.KindRetract {
				if g.Notification != nil || g.Android.Notification != nil || g.Android.CollapseKey != "" ||
					len(g.Data) != 2 || g.Data["type"] != "retract" || g.Data["id"] != it.ID {
					t.Errorf("retract = %+v, want data-only {type, id}", g)
				}
				return
			}
			want := map[string]string{"type": tc.kind, "id": it.ID, "seq": "42", "version": "2",
				"url": it.URL, "lang": "en", "priority": tc.priority}
			if len(g.Data) != len(want) {
				t.Errorf("data = %v, want %v", g.Data, want)
			}
			for k, v := range want {
				if g.Data[k] != v {
					t.Errorf("data[%s] = %q, want %q", k, g.Data[k], v)
				}
			}
			if g.Notification == nil || g.Notification.Title != "Flash" || g.Notification.Body != it.Text {
				t.Errorf("notification = %+v", g.Notification)
			}
			if g.Android.CollapseKey != it.ID || g.Android.Notification == nil ||
				g.Android.Notification.Tag != it.ID || g.Android.Notification.ChannelID != "newsflash_"+tc.priority {
				t.Errorf("android = %+v %+v", g.Android, g.Android.Notification)
			}
		})
	}
}

// TestMessageLongText checks that the body is shortened with "…" on a
// character boundary to fit FCM's 4,096 bytes, and that a short item
// without url has none.
func TestMessageLongText(t *testing.T) {
	s := standIn(t)
	c := client(t, s, nil)
	long := message(deviceToken(1), fcm.KindItem, news.PriorityUrgent)
	long.Item.Text = "ب" + strings.Repeat("𝄞", news.MaxTextChars-1) // 2,398 bytes, with a 2,048-byte url too many
	long.Item.URL = "https://news.example/" + strings.Repeat("x", news.MaxURLBytes-21)
	plain := message(deviceToken(2), fcm.KindItem, news.PriorityUrgent)
	plain.Item.URL = ""
	for _, m := range []fcm.Message{long, plain} {
		if r := send(t, c, m); r.Outcome != fcm.Sent {
			t.Fatalf("Send = %+v", r)
		}
	}
	g := s.MessagesTo(long.Token)[0]
	body := g.Notification.Body
	if !strings.HasSuffix(body, "…") || !utf8.ValidString(body) || !strings.HasPrefix(long.Item.Text, strings.TrimSuffix(body, "…")) {
		t.Errorf("body not shortened on a character boundary: %d bytes", len(body))
	}
	size := len(g.Notification.Title) + len(body)
	for k, v := range g.Data {
		size += len(k) + len(v)
	}
	if size > fcm.MaxPayload || size < fcm.MaxPayload-len("receipt")-fcm.MaxReceipt-8 { // room for a receipt
		t.Errorf("payload %d bytes, want just under %d", size, fcm.MaxPayload)
	}
	p := s.MessagesTo(plain.Token)[0]
	if _, ok := p.Data["url"]; ok || p.Notification.Body != plain.Item.Text {
		t.Errorf("short item without url sent as %+v", p)
	}
}

// TestSendInvalidMessage checks that a message Send cannot build fails
// without a request.
func TestSendInvalidMessage(t *testing.T) {
	s := standIn(t)
	c := client(t, s, nil)
	for _, m := range []fcm.Message{
		{Kind: fcm.KindItem, Item: item("flash")},
		{Token: deviceToken(1), Kind: fcm.KindItem},
		{Token: deviceToken(1), Kind: "promote", Item: item("flash")},
	} {
		if r := send(t, c, m); r.Outcome != fcm.Failed || r.Status != 0 || !strings.HasPrefix(r.Reason, "invalid message") {
			t.Errorf("Send(%+v) = %+v, want failed before sending", m, r)
		}
	}
	if s.Grants() != 0 || s.Accepted() != 0 {
		t.Errorf("grants %d accepted %d, want none", s.Grants(), s.Accepted())
	}
}

// TestSendTransportError checks that an unreachable FCM is retried.
func TestSendTransportError(t *testing.T) {
	s := standIn(t)
	c := client(t, s, nil)
	tok := deviceToken(1)
	if r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash)); r.Outcome != fcm.Sent {
		t.Fatalf("Send = %+v", r)
	}
	s.Close()
	r := send(t, c, message(tok, fcm.KindItem, news.PriorityFlash))
	if r.Outcome != fcm.Retry || r.Status != 0 || !strings.HasPrefix(r.Reason, "transport: ") {
		t.Errorf("Send to a closed server = %+v, want retry", r)
	}
}

// TestNewChecksOptions refuses what cannot work.
func TestNewChecksOptions(t *testing.T) {
	s := standIn(t)
	cases := []struct {
		name     string
		endpoint string
		noCreds  bool
		want     string
	}{
		{"http", "http://fcm.example", false, "not an absolute https URL"},
		{"relative", "/fcm", false, "not an absolute https URL"},
		{"no host", "https://", false, "not an absolute https URL"},
		{"user info", "https://u:p@fcm.example", false, "user information"},
		{"query", "https://fcm.example/?a=b", false, "has a query"},
		{"fragment", "https://fcm.example/#x", false, "fragment"},
		{"not a URL", "https://fcm example\x7f", false, "not a URL"},
		{"no credentials", "", true, "no credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := fcm.Options{Endpoint: tc.endpoint, Credentials: s.Credentials()}
			if tc.noCreds {
				opts.Credentials = nil
			}
			_, err := fcm.New(fcm.Deps{}, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := fcm.New(fcm.Deps{}, fcm.Options{Credentials: s.Credentials()}); err != nil {
		t.Errorf("New with the default endpoint: %v", err)
	}
}
