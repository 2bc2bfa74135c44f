package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
	"newsflash/internal/push"
	"newsflash/internal/server"
	"newsflash/internal/stream"
)

// receiptKey reads the receipts' MAC key from the keys bucket of the NATS
// at url, as every instance does.
func receiptKey(t *testing.T, url string) []byte {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kv, err := js.KeyValue(ctx, stream.NewLayout("").PushKeysBucket())
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "receipt")
	if err != nil || len(e.Value()) != 32 {
		t.Fatalf("receipt key: %v", err)
	}
	return e.Value()
}

// makeReceipt builds a receipt as the documented format says (version 1,
// item id bytes, platform, nonce, tag), independently of the server's code.
func makeReceipt(key []byte, item string, platform byte, sub string) string {
	id, err := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).DecodeString(item)
	if err != nil || len(id) != 12 {
		panic("not an item id: " + item)
	}
	mac := func(parts ...[]byte) []byte {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)[:12]
	}
	nonce := mac([]byte("nonce"), id, []byte(sub))
	tag := mac([]byte("tag"), id, []byte{platform}, nonce)
	raw := append(append(append(append([]byte{1}, id...), platform), nonce...), tag...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func receiptBody(receipt, event string) string {
	b, _ := json.Marshal(map[string]string{"receipt": receipt, "event": event})
	return string(b)
}

// funnelOf polls GET /api/v1/push/stats?item= until cond holds for the
// item's funnel, and returns it.
func funnelOf(t *testing.T, in *instance, id string, what string, cond func(*push.Funnel) bool) *push.Funnel {
	t.Helper()
	var f *push.Funnel
	waitFor(t, what, func() bool {
		status, _, b := in.do("GET", "/api/v1/push/stats?item="+id, "", nil)
		if status != 200 {
			t.Fatalf("stats: %d %s", status, b)
		}
		var st push.Stats
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		f = nil
		if len(st.Items) == 1 {
			f = st.Items[0].Funnel
		}
		return f != nil && cond(f)
	})
	return f
}

// TestReceiptsFromEveryPlatform: an alert's web, Android and iOS payloads
// each carry a receipt naming the alert and the platform; each (receipt,
// event) counts once even when posted again to the other of two instances
// on one NATS; the funnel of both instances shows them by platform, with
// time_to_sent, time_to_shown and the first hour, and /metrics counts them.
func TestReceiptsFromEveryPlatform(t *testing.T) {
	url := runNATS(t)
	web, fs, as := newPushEnv(t), fcmtest.New(fcmtest.Options{}), apnstest.New(t)
	t.Cleanup(fs.Close)
	opts := options{natsURL: url, mutate: func(c *server.Options) {
		withPush(web)(c)
		c.FCM = fcm.Options{Endpoint: fs.URL(), Credentials: fs.Credentials()}
		c.APNs = apns.Options{Endpoint: as.URL, Key: as.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
		c.MetricsAllow = []string{"127.0.0.1"}
	}, deps: func(d *server.Deps) { d.FCMClient, d.APNsClient = fs.Client(), as.Client() }}
	a, b := start(t, opts), start(t, opts)
	e := &appEnv{in: a, web: web, fcm: fs, apns: as}
	webSub := a.subscribe(web, `{"regions":["mena"]}`)
	at, it := "cT0k:APA91b"+strings.Repeat("Ab3_-", 30), strings.Repeat("0a1b2c3d", 8)
	e.device(t, "android", at, `{"regions":["mena"]}`)
	e.device(t, "ios", it, `{"regions":["mena"]}`)

	alert := a.post(`{"alert":true,"text":"Ceasefire announced","lang":"en","regions":["mena"],"priority":"flash"}`)
	var rw, ra, ri string
	waitFor(t, "the alert on every platform", func() bool {
		w, an, i := e.received(t, webSub, at, it)
		return len(w) == 1 && len(an) == 1 && len(i) == 1
	})
	_, raw := messages(t, web, webSub)
	var wp struct {
		Receipt string `json:"receipt"`
	}
	if err := json.Unmarshal(raw[0].Payload, &wp); err != nil {
		t.Fatal(err)
	}
	rw, ra, ri = wp.Receipt, fs.MessagesTo(at)[0].Data["receipt"], notesTo(as, it)[0].Payload.Receipt
	key := receiptKey(t, url)
	for platform, r := range map[string]struct {
		got  string
		plat byte
		sub  string
	}{"web": {rw, 0, push.IDFor(webSub.Endpoint)}, "android": {ra, 1, ""}, "ios": {ri, 2, ""}} {
		if r.got == "" {
			t.Fatalf("%s: no receipt in the payload", platform)
		}
		// The web receipt is the documented MAC of (alert, subscription);
		// the devices' ids are the server's own, so only item and platform
		// are read from theirs.
		if r.sub != "" && r.got != makeReceipt(key, alert.ID, r.plat, r.sub) {
			t.Errorf("web receipt %q is not the MAC of the alert and subscription", r.got)
		}
		dec, _ := base64.RawURLEncoding.DecodeString(r.got)
		if len(dec) != 38 || dec[13] != r.plat {
			t.Errorf("%s: receipt %q does not name its platform", platform, r.got)
		}
	}

	post := func(in *instance, receipt, event string) {
		t.Helper()
		status, _, body := in.do("POST", "/api/v1/push/receipts", receiptBody(receipt, event), map[string]string{"Authorization": ""})
		if status != http.StatusNoContent {
			t.Fatalf("receipt %s: %d %s", event, status, body)
		}
	}
	post(a, rw, "shown")
	post(a, ra, "shown")
	post(a, ri, "shown")
	post(b, rw, "shown") // again, on the other instance: counted once
	post(a, rw, "shown")
	post(b, rw, "clicked")
	post(a, rw, "clicked")
	post(b, ri, "clicked")

	for _, in := range []*instance{a, b} {
		f := funnelOf(t, in, alert.ID, "the receipts in the funnel", func(f *push.Funnel) bool {
			return f.Shown == 3 && f.Clicked == 2 && f.TimeToSent != nil && f.Platforms["web"].TimeToSent != nil &&
				f.Platforms["android"].TimeToSent != nil && f.Platforms["ios"].TimeToSent != nil
		})
		if f.TimeToShown == nil || f.TimeToShown.P50 < 0 || f.TimeToSent.P90 < f.TimeToSent.P50 {
			t.Errorf("times: to sent %+v, to shown %+v", f.TimeToSent, f.TimeToShown)
		}
		if len(f.FirstHour.Shown) != 60 || len(f.FirstHour.Clicked) != 60 || f.FirstHour.Shown[0] != 3 || f.FirstHour.Clicked[0] != 2 {
			t.Errorf("first hour: %+v", f.FirstHour)
		}
		for name, want := range map[string][2]int{"web": {1, 1}, "android": {1, 0}, "ios": {1, 1}} {
			p := f.Platforms[name]
			if p.Shown != want[0] || p.Clicked != want[1] || p.TimeToSent == nil || p.TimeToShown == nil {
				t.Errorf("%s: shown %d clicked %d (want %v), to sent %+v, to shown %+v", name, p.Shown, p.Clicked, want, p.TimeToSent, p.TimeToShown)
			}
		}
	}
	// Each instance counts the receipts it took: a the three shown and a
	// click, b the two other clicks; the repeats nowhere.
	ta, tb := scrape(t, a.from(t, "127.0.0.1")), scrape(t, b.from(t, "127.0.0.1"))
	sum := func(name string) float64 { return max(metric(ta, name), 0) + max(metric(tb, name), 0) }
	for name, want := range map[string]float64{
		`newsflash_push_receipts_total{event="shown",platform="web"}`:       1,
		`newsflash_push_receipts_total{event="shown",platform="android"}`:   1,
		`newsflash_push_receipts_total{event="clicked",platform="web"}`:     1,
		`newsflash_push_receipts_total{event="clicked",platform="ios"}`:     1,
		`newsflash_push_time_to_shown_seconds_count{platform="ios"}`:        1,
		`newsflash_push_time_to_sent_seconds_count{platform="android"}`:     1,
		`newsflash_push_time_to_sent_seconds_count{platform="web"}`:         1,
		`newsflash_push_receipts_total{event="clicked",platform="android"}`: 0,
	} {
		if got := sum(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestReceiptBadInput: every bad receipt is refused with its code and
// moves no counter; over the per-address limit is 429.
func TestReceiptBadInput(t *testing.T) {
	url := runNATS(t)
	web := newPushEnv(t)
	in := start(t, options{natsURL: url, mutate: withPush(web)})
	alert := in.post(alertItem("Polls close", "en", []string{"mena"}, nil))
	ticker := in.post(item("Markets open", "en", []string{"mena"}, nil))
	key := receiptKey(t, url)
	good := makeReceipt(key, alert.ID, 0, "a-subscription")
	other := make([]byte, 32)
	flip := []byte(good)
	flip[len(flip)-2] ^= 1 // a base64url letter still, another tag
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		code, field             string
	}{
		{"no content type", receiptBody(good, "shown"), "", 415, "unsupported_media_type", ""},
		{"form", "receipt=x&event=shown", "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"not json", `{"receipt":`, "application/json", 400, "malformed_json", ""},
		{"unknown field", `{"receipt":"` + good + `","event":"shown","ua":"x"}`, "application/json", 400, "unknown_field", "ua"},
		{"no event", `{"receipt":"` + good + `"}`, "application/json", 400, "invalid_event", "event"},
		{"other event", receiptBody(good, "opened"), "application/json", 400, "invalid_event", "event"},
		{"no receipt", `{"event":"shown"}`, "application/json", 400, "invalid_receipt", "receipt"},
		{"garbage", receiptBody("not a receipt", "shown"), "application/json", 400, "invalid_receipt", "receipt"},
		{"truncated", receiptBody(good[:len(good)-3], "shown"), "application/json", 400, "invalid_receipt", "receipt"},
		{"forged tag", receiptBody(string(flip), "shown"), "application/json", 400, "invalid_receipt", "receipt"},
		{"other key", receiptBody(makeReceipt(other, alert.ID, 0, "a-subscription"), "shown"), "application/json", 400, "invalid_receipt", "receipt"},
		{"no such platform", receiptBody(makeReceipt(key, alert.ID, 7, "s"), "shown"), "application/json", 400, "invalid_receipt", "receipt"},
		{"ticker item", receiptBody(makeReceipt(key, ticker.ID, 0, "s"), "shown"), "application/json", 400, "unknown_receipt", "receipt"},
		{"unknown item", receiptBody(makeReceipt(key, news.NewID(), 0, "s"), "clicked"), "application/json", 400, "unknown_receipt", "receipt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := in.do("POST", "/api/v1/push/receipts", tc.body, map[string]string{"Authorization": "", "Content-Type": tc.contentType})
			var e apiError
			_ = json.Unmarshal(b, &e)
			if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("%d %s, want %d %s (field %q)", status, b, tc.status, tc.code, tc.field)
			}
		})
	}
	// Nothing was counted; the genuine receipt is.
	status, _, b := in.do("POST", "/api/v1/push/receipts", receiptBody(good, "clicked"), map[string]string{"Authorization": ""})
	if status != http.StatusNoContent {
		t.Fatalf("good receipt: %d %s", status, b)
	}
	f := funnelOf(t, in, alert.ID, "the click", func(f *push.Funnel) bool { return f.Clicked == 1 })
	if f.Shown != 0 || f.Platforms["web"].Clicked != 1 {
		t.Errorf("funnel after bad receipts: shown %d, web %+v", f.Shown, f.Platforms["web"])
	}
}

// TestReceiptRateLimit: past its per-address limit a client gets 429
// too_many_receipts with Retry-After, and that receipt is not counted.
func TestReceiptRateLimit(t *testing.T) {
	url := runNATS(t)
	web := newPushEnv(t)
	in := start(t, options{natsURL: url, mutate: func(c *server.Options) {
		withPush(web)(c)
		c.Push.ReceiptRate = 2
	}})
	alert := in.post(alertItem("Polls close", "en", []string{"mena"}, nil))
	key := receiptKey(t, url)
	for i, want := range []int{204, 204, 429} {
		r := makeReceipt(key, alert.ID, 0, "sub-"+string(rune('a'+i)))
		status, hdr, b := in.do("POST", "/api/v1/push/receipts", receiptBody(r, "shown"), map[string]string{"Authorization": ""})
		if status != want {
			t.Fatalf("receipt %d: %d %s, want %d", i, status, b, want)
		}
		if status == 429 && (hdr.Get("Retry-After") == "" || !strings.Contains(string(b), "too_many_receipts")) {
			t.Errorf("429 without Retry-After or code: %v %s", hdr, b)
		}
	}
	funnelOf(t, in, alert.ID, "two shown", func(f *push.Funnel) bool { return f.Shown == 2 })
	// The refused one is not in the bucket (a key is made before the 204).
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kv, err := js.KeyValue(ctx, stream.NewLayout("").PushReceiptsBucket())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for k := range keys.Keys() {
		if !strings.HasPrefix(k, alert.ID+".web.shown.") {
			t.Errorf("receipt record %q", k)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d receipt records, want 2", n)
	}
}
