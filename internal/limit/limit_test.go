package limit

import (
	"strconv"
	"testing"
	"time"
)

func TestKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"not an address", "not an address"},
	} {
		if got := Key(tc.in); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRateLimitsEachAddressAlone(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := NewRate(10, time.Second, 5, 0) // 10/s, bursts of 5
	for i := range 5 {
		if ok, _ := r.Allow("a", now); !ok {
			t.Fatalf("burst event %d refused", i)
		}
	}
	ok, wait := r.Allow("a", now)
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("past the burst: ok=%v wait=%v; want refused, wait ≤ 100ms", ok, wait)
	}
	if ok, _ := r.Allow("b", now); !ok {
		t.Fatal("another address was refused because of the first")
	}
	if ok, _ := r.Allow("a", now.Add(100*time.Millisecond)); !ok {
		t.Fatal("a token did not come back after 1/rate")
	}
	// A refused attempt does not use a token.
	for range 3 {
		r.Allow("a", now.Add(100*time.Millisecond))
	}
	if ok, _ := r.Allow("a", now.Add(200*time.Millisecond)); !ok {
		t.Fatal("refused attempts ate tokens")
	}
}

func TestBlockedPeeksWithoutTaking(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := NewRate(1, time.Minute, 2, 0)
	if b, _ := r.Blocked("a", now); b {
		t.Fatal("an unknown address is blocked")
	}
	r.Allow("a", now)
	if b, _ := r.Blocked("a", now); b {
		t.Fatal("blocked with a token left")
	}
	r.Allow("a", now)
	b, wait := r.Blocked("a", now)
	if !b || wait <= 0 || wait > time.Minute {
		t.Fatalf("Blocked = %v, %v; want true and up to a minute", b, wait)
	}
	if b, _ := r.Blocked("a", now.Add(time.Minute)); b {
		t.Fatal("still blocked after a token came back")
	}
}

func TestRateMemoryStaysBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := NewRate(1, time.Hour, 1, 16*shards) // 16 per shard
	for i := range 10_000 {
		r.Allow("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), now)
	}
	if n := r.Len(); n > 16*shards {
		t.Fatalf("tracking %d addresses, want at most %d", n, 16*shards)
	}
	// Once their buckets are full again, addresses are forgotten: a shard
	// sweeps when it is next used, so new addresses go to every shard (the
	// hash seed differs between runs).
	later := now.Add(2 * time.Hour)
	touched, fresh := map[int]bool{}, 0
	for i := 0; len(touched) < shards; i++ {
		key := "192.0." + strconv.Itoa(100+i/256) + "." + strconv.Itoa(i%256)
		r.Allow(key, later)
		touched[shardOf(key)] = true
		fresh++
	}
	if n := r.Len(); n > fresh {
		t.Fatalf("after the buckets refilled %d addresses remain tracked, want at most the %d new ones", n, fresh)
	}
}

func TestNilLimitersAllowEverything(t *testing.T) {
	var r *Rate = NewRate(0, time.Second, 1, 0)
	if ok, _ := r.Allow("a", time.Now()); !ok {
		t.Fatal("no rate should allow")
	}
	c := NewConns(0)
	if !c.Acquire("a") {
		t.Fatal("no conn limit should allow")
	}
	c.Release("a")
}

func TestConns(t *testing.T) {
	c := NewConns(2)
	for i := range 2 {
		if !c.Acquire("a") {
			t.Fatalf("connection %d of 2 refused", i+1)
		}
	}
	if c.Acquire("a") {
		t.Fatal("third allowed")
	}
	if !c.Acquire("b") {
		t.Fatal("another address refused")
	}
	c.Release("a")
	if !c.Acquire("a") {
		t.Fatal("a released slot was not reusable")
	}
	c.Release("a")
	c.Release("a")
	c.Release("b")
	if n := c.Count("a") + c.Count("b"); n != 0 {
		t.Fatalf("%d connections left after releasing all", n)
	}
}
