package push

import (
	"math"
	"time"
)

// histBuckets log-spaced buckets from histMin to histMax count an alert's
// times (time_to_sent in a job's progress, time_to_shown from receipts):
// small and of fixed size, so a progress record stays bounded, and the
// buckets of many jobs and instances add up.
const (
	histBuckets = 24
	histMin     = 50 * time.Millisecond
	histMax     = time.Hour
)

// histBounds are the buckets' upper bounds, in seconds: bucket i counts
// times in (histBounds[i-1], histBounds[i]], bucket 0 from 0, and the last
// one everything above too.
var histBounds = func() [histBuckets]float64 {
	var b [histBuckets]float64
	lo, hi := histMin.Seconds(), histMax.Seconds()
	ratio := math.Pow(hi/lo, 1/float64(histBuckets-1))
	for i := range b {
		b[i] = lo * math.Pow(ratio, float64(i))
	}
	b[histBuckets-1] = hi
	return b
}()

// hist counts times by bucket.
type hist [histBuckets]int

// add counts one time d.
func (h *hist) add(d time.Duration) {
	s := max(d.Seconds(), 0)
	for i, b := range histBounds {
		if s <= b {
			h[i]++
			return
		}
	}
	h[histBuckets-1]++
}

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	if o == nil {
		return
	}
	for i := range h {
		h[i] += o[i]
	}
}

// total is how many times h counts.
func (h *hist) total() int {
	n := 0
	for _, c := range h {
		n += c
	}
	return n
}

// quantile estimates the q quantile (0 < q <= 1), in seconds, interpolating
// linearly within the bucket it falls in.
func (h *hist) quantile(q float64) float64 {
	n := h.total()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	cum := 0.0
	for i, c := range h {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = histBounds[i-1]
			}
			return lo + (histBounds[i]-lo)*(rank-cum)/float64(c)
		}
		cum += float64(c)
	}
	return histBounds[histBuckets-1]
}

// percentiles are h's p50 and p90, or nil when h counts nothing.
func (h *hist) percentiles() *Percentiles {
	if h == nil || h.total() == 0 {
		return nil
	}
	return &Percentiles{P50: round3(h.quantile(0.5)), P90: round3(h.quantile(0.9))}
}

// round3 rounds seconds to milliseconds.
func round3(s float64) float64 { return math.Round(s*1000) / 1000 }
