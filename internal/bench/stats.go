package bench

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted durations, 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(rank, 1), n)-1]
}

// summary is the percentiles of a set of durations, in milliseconds.
type summary struct {
	P50, P90, P99, Max float64
}

func summarize(ds []time.Duration) summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	return summary{P50: ms(percentile(s, 50)), P90: ms(percentile(s, 90)), P99: ms(percentile(s, 99)), Max: ms(percentile(s, 100))}
}

func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// histSub is the number of buckets per power of two of a histogram: values
// are kept within 1/histSub (under 0.8 %) of what was recorded.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = histSub * (64 - histSubBits)
)

// histogram counts durations in log-linear buckets, for latencies of
// deliveries too many to keep one by one. Record is safe for concurrent use
// and does not allocate; read it once recording is over.
type histogram struct {
	counts [histBuckets]atomic.Uint64
}

// bucket returns the index of the bucket holding v (v >= 0): values below
// histSub have a bucket each, then each power of two is cut in histSub.
func bucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1 // v>>e is in [histSub, 2*histSub)
	return histSub*e + int(v>>e)
}

// bucketValue returns the middle of bucket i's range.
func bucketValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m<<e + (1<<e)/2
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucket(uint64(max(d, 0)))].Add(1)
}

// quantile returns the q-th quantile (0 < q <= 1) of what was recorded,
// nearest rank, 0 for nothing.
func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = min(max(rank, 1), total)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(bucketValue(i))
		}
	}
	return 0
}
