// Package limit bounds what one client address may do: a rate of requests
// (Rate, a token bucket per address) and a number of open connections
// (Conns). Addresses are keyed by Key: IPv4 as is, IPv6 by its /64, since
// one host holds a whole /64.
//
// Memory stays bounded under a flood from many addresses: an address whose
// bucket is full again is forgotten (it is the same as a new one), and past
// MaxKeys new addresses are let through unlimited rather than stored — the
// instance-wide limits (such as the reader cap) still hold then.
//
// All methods are safe for concurrent use.
package limit

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many addresses a limiter tracks at most.
const DefaultMaxKeys = 200_000

// Key is the address a client is limited by: an IPv4 address, or the /64 of
// an IPv6 one. Anything that does not parse is its own key.
func Key(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

const shards = 16

var seed = maphash.MakeSeed()

func shardOf(key string) int { return int(maphash.String(seed, key) % shards) }

// Rate allows n events per period per address, in bursts of up to burst.
type Rate struct {
	every   time.Duration
	burst   int
	maxKeys int // per shard

	shards [shards]rateShard
}

type rateShard struct {
	mu    sync.Mutex
	addrs map[string]*rate.Limiter
	sweep time.Time
}

// NewRate allows n events per period to each address, with a burst of
// burst (at least 1). n <= 0 means no limit: Allow always says yes.
// maxKeys <= 0 means DefaultMaxKeys.
func NewRate(n int, period time.Duration, burst, maxKeys int) *Rate {
	if n <= 0 || period <= 0 {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	r := &Rate{every: period / time.Duration(n), burst: max(burst, 1), maxKeys: max(maxKeys/shards, 1)}
	for i := range r.shards {
		r.shards[i].addrs = make(map[string]*rate.Limiter)
	}
	return r
}

// Allow takes one event for key, or says how long until one would be
// allowed. A nil Rate allows everything.
func (r *Rate) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if r == nil {
		return true, 0
	}
	s := &r.shards[shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, found := s.addrs[key]
	if !found {
		if now.Sub(s.sweep) > time.Minute || len(s.addrs) >= r.maxKeys {
			s.forgetFull(now, float64(r.burst))
		}
		if len(s.addrs) >= r.maxKeys {
			return true, 0 // full of busy addresses: do not grow
		}
		lim = rate.NewLimiter(rate.Every(r.every), r.burst)
		s.addrs[key] = lim
	}
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Blocked reports, without taking an event, whether key has none left and
// how long until it has one. A nil Rate blocks nothing.
func (r *Rate) Blocked(key string, now time.Time) (bool, time.Duration) {
	if r == nil {
		return false, 0
	}
	s := &r.shards[shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, found := s.addrs[key]
	if !found {
		return false, 0
	}
	if t := lim.TokensAt(now); t < 1 {
		return true, time.Duration((1 - t) * float64(r.every))
	}
	return false, 0
}

// forgetFull drops the addresses whose bucket is full again.
func (s *rateShard) forgetFull(now time.Time, burst float64) {
	for a, lim := range s.addrs {
		if lim.TokensAt(now) >= burst {
			delete(s.addrs, a)
		}
	}
	s.sweep = now
}

// Len is how many addresses are tracked (for tests and metrics).
func (r *Rate) Len() int {
	if r == nil {
		return 0
	}
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += len(s.addrs)
		s.mu.Unlock()
	}
	return n
}

// Conns counts open connections per address, up to max each.
type Conns struct {
	max int

	shards [shards]connShard
}

type connShard struct {
	mu    sync.Mutex
	addrs map[string]int
}

// NewConns allows max open connections per address; max <= 0 means no
// limit (Acquire always succeeds, nothing is tracked).
func NewConns(max int) *Conns {
	if max <= 0 {
		return nil
	}
	c := &Conns{max: max}
	for i := range c.shards {
		c.shards[i].addrs = make(map[string]int)
	}
	return c
}

// Acquire counts a new connection from key, unless key has max already.
// Every successful Acquire must be matched by one Release.
func (c *Conns) Acquire(key string) bool {
	if c == nil {
		return true
	}
	s := &c.shards[shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addrs[key] >= c.max {
		return false
	}
	s.addrs[key]++
	return true
}

// Release forgets one connection from key.
func (c *Conns) Release(key string) {
	if c == nil {
		return
	}
	s := &c.shards[shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.addrs[key]; n > 1 {
		s.addrs[key] = n - 1
	} else {
		delete(s.addrs, key)
	}
}

// Count is how many connections key has open.
func (c *Conns) Count(key string) int {
	if c == nil {
		return 0
	}
	s := &c.shards[shardOf(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[key]
}
