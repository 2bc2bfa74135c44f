package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v)
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ds(7), 50, 7},
		{"one p100", ds(7), 100, 7},
		{"p50 of 10", ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5},
		{"p90 of 10", ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9},
		{"p99 of 10", ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10},
		{"max", ds(1, 2, 3), 100, 3},
		{"tiny p", ds(1, 2, 3), 0.001, 1},
		{"p50 of 4", ds(10, 20, 30, 40), 50, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %g) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeDoesNotReorder(t *testing.T) {
	in := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}
	s := summarize(in)
	if s.P50 != 2 || s.Max != 3 {
		t.Errorf("summary %+v, want p50 2 ms, max 3 ms", s)
	}
	if in[0] != 3*time.Millisecond {
		t.Error("summarize sorted its input in place")
	}
}

func TestBuckets(t *testing.T) {
	prev := -1
	check := func(v uint64) {
		b := bucket(v)
		if b < prev {
			t.Fatalf("bucket(%d) = %d, below the bucket of a smaller value (%d)", v, b, prev)
		}
		prev = b
		if b < 0 || b >= histBuckets {
			t.Fatalf("bucket(%d) = %d, out of range", v, b)
		}
		got := bucketValue(b)
		if diff := math.Abs(float64(got) - float64(v)); diff > float64(v)/histSub+1 {
			t.Fatalf("bucketValue(bucket(%d)) = %d, off by more than 1/%d", v, got, histSub)
		}
	}
	for v := uint64(0); v < 5000; v++ {
		check(v)
	}
	for v := uint64(5000); v < 1<<62; v += v/10 + 1 {
		check(v)
	}
	if b := bucket(math.MaxInt64); b != histBuckets-1 {
		t.Errorf("bucket(MaxInt64) = %d, want the last, %d", b, histBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 100_000)
	for i := range vals {
		// 50 µs to about 50 ms, log-uniform, like latencies.
		vals[i] = time.Duration(50e3 * math.Exp(r.Float64()*math.Log(1000)))
		h.record(vals[i])
	}
	h.record(-time.Second) // a negative latency counts as 0
	vals = append(vals, 0)
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		want := percentile(vals, q*100)
		got := h.quantile(q)
		if math.Abs(float64(got-want)) > float64(want)/histSub {
			t.Errorf("quantile(%g) = %v, want %v within 1/%d", q, got, want, histSub)
		}
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h histogram
	if n := testing.AllocsPerRun(100, func() { h.record(1234567) }); n != 0 {
		t.Errorf("record allocates %v times", n)
	}
}
