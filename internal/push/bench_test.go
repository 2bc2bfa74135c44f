package push

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

var benchItem = news.Item{ID: "abcdefghijklmnopqrst", Version: 1, Text: "Al Mayadeen's correspondent: An Israeli drone strikes a vehicle in the town of Baraachit",
	Lang: "en", Regions: []string{"mena"}, Priority: "flash", PublishedAt: time.Unix(1_800_000_000, 0).UTC()}

func BenchmarkEncodePayload(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = encodePayload(news.EventItem, 42, &benchItem)
	}
}

// BenchmarkVAPIDHeader is the header as sends get it: signed once per
// origin, then reused.
func BenchmarkVAPIDHeader(b *testing.B) {
	id, err := LoadIdentity(IdentityConfig{DataDir: b.TempDir(), Subject: "mailto:ops@newsroom.example"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.Header("https://fcm.googleapis.com", now); err != nil {
			b.Fatal(err)
		}
	}
}

// answer201 stands in for the network so that the benchmark measures the
// encryption and signing of one send, not a push service.
type answer201 struct{}

func (answer201) Do(req *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, req.Body)
	return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// BenchmarkEncryptAndSign is what one send cost in webpush-go, which
// Newsflash used until it encrypted on its own (RFC 8291 encryption with a
// fresh key, and the VAPID JWT it signs on every call); kept as the
// reference for BenchmarkEncrypt.
func BenchmarkEncryptAndSign(b *testing.B) {
	sink := pushsink.New(pushsink.Options{})
	sub, err := sink.Subscribe("https://fcm.googleapis.com")
	if err != nil {
		b.Fatal(err)
	}
	priv, pub, _ := GenerateKeys()
	body := encodePayload(news.EventItem, 42, &benchItem)
	opts := &webpush.Options{HTTPClient: answer201{}, RecordSize: recordSize, Subscriber: "ops@newsroom.example",
		VAPIDPublicKey: pub, VAPIDPrivateKey: priv, TTL: 3600, Topic: benchItem.ID, Urgency: webpush.UrgencyHigh}
	ws := &webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}}
	b.ReportAllocs()
	for b.Loop() {
		res, err := webpush.SendNotificationWithContext(context.Background(), body[:len(body):len(body)], ws, opts)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
	}
}

// BenchmarkEncrypt is one send's encryption as we do it (RFC 8291 with a
// fresh key, no JWT: the VAPID header is signed once per origin), to set
// beside BenchmarkEncryptAndSign.
func BenchmarkEncrypt(b *testing.B) {
	_, _, keys := uaKeys(b)
	body := encodePayload(news.EventItem, 42, &benchItem)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := keys.encrypt(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver is the delivery of one item to 5,000 subscriptions, 16
// jobs at once as the workers run them, through the policy's HTTP client to
// a local push service (in this process, decrypting one request in 1,000
// per subscription after the first) with progress saved in JetStream. It
// leaves out what BenchmarkPushPipeline in internal/server adds: the editor
// API, the planner and the job queue.
func BenchmarkDeliver(b *testing.B) {
	const subs = 5000
	env := newTestEnv(b, 16, pushsink.Options{DecryptSample: 1000})
	for range subs {
		ps, err := env.sink.Subscribe(env.url)
		if err != nil {
			b.Fatal(err)
		}
		// Only in the index: no send here touches the stored copy.
		env.s.index.put(&Subscription{ID: IDFor(ps.Endpoint), Endpoint: ps.Endpoint, P256dh: ps.Keys.P256dh, Auth: ps.Keys.Auth})
	}
	// The first request to each subscription is decrypted: make it before.
	env.deliverAll(b, env.post("warm-up", news.PriorityFlash))
	b.ReportAllocs()
	n, cpu := 0, cpuTime()
	for b.Loop() {
		for _, p := range env.deliverAll(b, env.post("bench", news.PriorityFlash)) {
			n += p.Sent
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "sends/s")
	// The whole process's CPU per send, the push service's included.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(n), "cpu-µs/send")
	b.ReportMetric(0, "ns/op")
}
