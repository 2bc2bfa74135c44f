package push

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter bounds how many subscriptions one client address creates: a
// token bucket per address, forgotten once full again.
type limiter struct {
	every time.Duration
	burst int

	mu    sync.Mutex
	addrs map[string]*rate.Limiter
	sweep time.Time
}

func newLimiter(perPeriod int, period time.Duration) *limiter {
	return &limiter{every: period / time.Duration(perPeriod), burst: perPeriod, addrs: map[string]*rate.Limiter{}}
}

// allow takes a token for addr, or says how long to wait for one.
func (l *limiter) allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		for a, lim := range l.addrs {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.addrs, a)
			}
		}
		l.sweep = now
	}
	lim, ok := l.addrs[addr]
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.addrs[addr] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
