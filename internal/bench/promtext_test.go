package bench

import (
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestParseMetrics(t *testing.T) {
	const text = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 2010

# HELP newsflash_readers Readers connected now.
# TYPE newsflash_readers gauge
newsflash_readers{transport="sse"} 3
newsflash_readers{transport="ws"} 2000
newsflash_push_sends_total{host="127.0.0.1:18701",outcome="sent"} 1.25e+06
newsflash_push_sends_total{host="fcm.googleapis.com",outcome="sent"} 5
newsflash_push_sends_total{host="fcm.googleapis.com",outcome="failed"} 1
odd{a="x\"y\\z\nw", b = "", } NaN
bucket{le="+Inf"} +Inf 1700000000000
`
	m, err := parseMetrics([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		kv   []string
		want float64
		ok   bool
	}{
		{"go_goroutines", nil, 2010, true},
		{"newsflash_readers", []string{"transport", "ws"}, 2000, true},
		{"newsflash_readers", nil, 2003, true},
		{"newsflash_readers", []string{"transport", "h3"}, 0, false},
		{"newsflash_push_sends_total", []string{"outcome", "sent"}, 1_250_005, true},
		{"newsflash_push_sends_total", []string{"outcome", "sent", "host", "fcm.googleapis.com"}, 5, true},
		{"bucket", []string{"le", "+Inf"}, math.Inf(1), true},
		{"missing", nil, 0, false},
	} {
		got, ok := m.get(tt.name, tt.kv...)
		if got != tt.want || ok != tt.ok {
			t.Errorf("get(%s, %v) = %v %v, want %v %v", tt.name, tt.kv, got, ok, tt.want, tt.ok)
		}
	}
	odd := m["odd"]
	if len(odd) != 1 || odd[0].labels["a"] != "x\"y\\z\nw" || odd[0].labels["b"] != "" || !math.IsNaN(odd[0].value) {
		t.Errorf("odd = %+v", odd)
	}
}

func TestParseMetricsErrors(t *testing.T) {
	for _, bad := range []string{
		`go_goroutines`,
		`go_goroutines abc`,
		`go_goroutines 1 2 3`,
		`go_goroutines{} `,
		`{a="b"} 1`,
		`9lives 1`,
		`x{a="b} 1`,
		`x{a=b} 1`,
		`x{a="\q"} 1`,
		`x{a="1",a="2"} 1`,
		`x{a="1" b="2"} 1`,
		`x{="1"} 1`,
		`x{a="1"}1`,
	} {
		if _, err := parseMetrics([]byte("ok 1\n" + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: %v, want an error about line 2", bad, err)
		}
	}
}

// TestParseMetricsClientGolang reads what client_golang really serves with
// the Go and process collectors, as the server's GET /metrics does.
func TestParseMetricsClientGolang(t *testing.T) {
	reg := prometheus.NewRegistry()
	readers := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "newsflash_readers", Help: "Readers."}, []string{"transport"})
	readers.WithLabelValues("ws").Set(42)
	readers.WithLabelValues("sse").Set(1)
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lag_seconds", Help: "Lag.", Buckets: []float64{.1, 1}})
	hist.Observe(0.5)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), readers, hist)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := fromMetrics(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if s.Goroutines < 1 || s.HeapInuseBytes < 1 || s.RSSBytes < 1 || s.OpenFDs < 1 || s.ReadersWS != 42 {
		t.Errorf("sample %+v", s)
	}
	m, _ := parseMetrics(b)
	if v, ok := m.get("lag_seconds_bucket", "le", "1"); !ok || v != 1 {
		t.Errorf("lag_seconds_bucket{le=1} = %v %v", v, ok)
	}
	if _, err := fromMetrics([]byte("go_goroutines 5\n")); err == nil || !strings.Contains(err.Error(), "go_memstats_heap_inuse_bytes") {
		t.Errorf("a missing metric: %v", err)
	}
}
