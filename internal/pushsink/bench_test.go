package pushsink

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// BenchmarkServeHTTP measures the sink's cost per push, with every push
// decrypted and verified and with DecryptSample as the bench tool uses it.
func BenchmarkServeHTTP(b *testing.B) {
	for _, sample := range []int{1, 1000} {
		b.Run("sample="+strconv.Itoa(sample), func(b *testing.B) {
			sink := New(Options{DecryptSample: sample})
			sub, err := sink.Subscribe("http://sink.test")
			if err != nil {
				b.Fatal(err)
			}
			// Capture one real request from webpush-go and replay it.
			var header http.Header
			var body []byte
			priv, pub, _ := webpush.GenerateVAPIDKeys()
			_, err = webpush.SendNotification([]byte(`{"id":"it-1","headline":"Breaking"}`),
				&webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}},
				&webpush.Options{Subscriber: "ops@example.com", VAPIDPublicKey: pub, VAPIDPrivateKey: priv, TTL: 60,
					HTTPClient: doFunc(func(r *http.Request) (*http.Response, error) {
						header = r.Header
						body, err = io.ReadAll(r.Body)
						return &http.Response{StatusCode: 201, Body: http.NoBody}, err
					})})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, sub.Endpoint, bytes.NewReader(body))
				r.Header = header
				w := httptest.NewRecorder()
				sink.ServeHTTP(w, r)
				if w.Code != http.StatusCreated {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
