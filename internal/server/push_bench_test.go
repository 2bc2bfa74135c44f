package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// BenchmarkPushPipeline measures Web Push through the whole pipeline (plan,
// match, encrypt, sign, send, bookkeeping) from one instance to a local push
// service in the same process that decrypts one request in 1,000:
//
//	go test -run '^$' -bench PushPipeline -benchtime 3x ./internal/server
func BenchmarkPushPipeline(b *testing.B) {
	const subs = 5000
	sink := pushsink.New(pushsink.Options{DecryptSample: 1000})
	srv := httptest.NewServer(sink)
	defer srv.Close()
	env := &pushEnv{sink: sink, url: srv.URL, host: strings.TrimPrefix(srv.URL, "http://")}
	in := startB(b, func(c *server.Options) { withPush(env)(c); c.Push.SubscribePerHour = 1 << 20 })
	for i := 0; i < subs; i++ {
		s, err := sink.Subscribe(env.url)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"subscription": s, "filter": map[string]any{}})
		if status, _, out := in.do("POST", "/api/v1/push/subscriptions", string(body), nil); status != 201 {
			b.Fatalf("subscribe: %d %s", status, out)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		in.post(alertItem(fmt.Sprintf("bench %d", i), "en", []string{"mena"}, nil))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if err := sink.Wait(ctx, subs*(i+1)); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	b.ReportMetric(float64(subs*b.N)/time.Since(start).Seconds(), "sends/s")
}
