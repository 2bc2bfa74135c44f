package server_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"newsflash/internal/server"
)

// metric reads one sample from a /metrics answer, or -1 when absent.
func metric(text, name string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func scrape(t *testing.T, c *client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.in.base+"/metrics", nil)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

func TestMetrics(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) {
		c.Limits.APIRequests = 1
		c.MetricsAllow = []string{"127.0.0.1"}
	}})
	local := in.from(t, "127.0.0.1")
	r, _ := in.dialWS("")
	in.post(item("Counted", "en", []string{"mena"}, nil))
	// A repeated Idempotency-Key is answered from the first post.
	for range 2 {
		if code, _, _ := in.do("POST", "/api/v1/items", item("Once", "en", []string{"mena"}, nil), map[string]string{"Idempotency-Key": "metrics-1"}); code != 201 {
			t.Fatalf("post with key: %d", code)
		}
	}
	r.next()
	if f := r.next(); f.Type != "item" {
		t.Fatalf("got %q, want the item", f.Type)
	}
	// One refusal by the public API limit (bursts of 2).
	other := in.from(t, "127.0.0.2")
	for range 3 {
		other.get("/api/v1/items", nil)
	}

	text := scrape(t, local)
	for name, want := range map[string]float64{
		`newsflash_readers{transport="ws"}`:                   1,
		`newsflash_readers{transport="sse"}`:                  0,
		`newsflash_reader_connects_total{transport="ws"}`:     1,
		`newsflash_nats_connected`:                            1,
		`newsflash_refused_total{reason="too_many_requests"}`: 1,
		`newsflash_stream_follow_stalled`:                     0,
	} {
		if got := metric(text, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for name, atLeast := range map[string]float64{
		`newsflash_events_delivered_total{transport="ws"}`: 2, // welcome and item
		`newsflash_delivery_lag_seconds_count`:             1,
		`newsflash_stream_seq`:                             1,
		`go_goroutines`:                                    1,
		`process_resident_memory_bytes`:                    1,
	} {
		if got := metric(text, name); got < atLeast {
			t.Errorf("%s = %v, want at least %v", name, got, atLeast)
		}
	}

	// The reader goes: counted as closed, no longer connected.
	r.conn.CloseNow()
	waitFor(t, "the reader to be counted as gone", func() bool {
		text := scrape(t, local)
		return metric(text, `newsflash_reader_disconnects_total{reason="closed",transport="ws"}`) == 1 &&
			metric(text, `newsflash_readers{transport="ws"}`) == 0
	})

	// Other addresses are refused.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/metrics", nil)
	res, err := other.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || strings.Contains(string(b), "newsflash_") {
		t.Fatalf("metrics from a non-allowed address: %d", res.StatusCode)
	}
}

// waitFor polls cond until it holds; the bound only avoids a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sumSamples adds up the samples of metric name whose labels include
// label (such as outcome="sent"; "" for all).
func sumSamples(text, name, label string) float64 {
	sum := 0.0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") || !strings.Contains(line, label) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
