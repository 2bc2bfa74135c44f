package push

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/pushsink"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// resetListener is a push service host that accepts connections and
// resets them at once: every send to it fails without an answer.
func resetListener(t *testing.T) (hostPort string, accepts *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepts = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST
			}
			c.Close()
		}
	}()
	return ln.Addr().String(), accepts
}

// unreachableEnv is a Service with three push services: one that answers
// 201 to anything, a host that resets every connection, and a host name
// under .invalid (allowed by the policy) that does not resolve.
type unreachableEnv struct {
	*testEnv
	clock    *fakeClock
	okURL    string
	resetURL string
	accepts  *atomic.Int64
	answered *atomic.Int64 // requests the answering service got
}

func newUnreachableEnv(t *testing.T) *unreachableEnv {
	env := newTestEnv(t, 1, pushsink.Options{})
	answered := &atomic.Int64{}
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answered.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(ok.Close)
	reset, accepts := resetListener(t)
	policy, err := pushpolicy.New(pushpolicy.Options{AllowedHosts: []string{"invalid"},
		InsecureTestEndpoints: []string{strings.TrimPrefix(ok.URL, "http://"), reset}})
	if err != nil {
		t.Fatal(err)
	}
	env.s.policy, env.s.client = policy, policy.Client()
	clock := &fakeClock{t: time.Now()}
	env.s.cfg.Now = clock.Now
	return &unreachableEnv{testEnv: env, clock: clock, okURL: ok.URL, resetURL: "http://" + reset, accepts: accepts, answered: answered}
}

// subscribeAt stores a subscription to endpoint with usable keys.
func (e *unreachableEnv) subscribeAt(t *testing.T, endpoint string) *Subscription {
	t.Helper()
	ps, err := e.sink.Subscribe(e.url) // only for a valid key pair
	if err != nil {
		t.Fatal(err)
	}
	return e.store(t, Subscription{ID: IDFor(endpoint), Endpoint: endpoint, P256dh: ps.Keys.P256dh, Auth: ps.Keys.Auth})
}

// postAt appends an item updated at the clock's time.
func (e *unreachableEnv) postAt(text string) *history.Entry {
	seq := e.log.Head() + 1
	now := e.clock.Now().UTC()
	return e.log.Append(news.Event{Type: news.EventItem, Seq: seq, Alert: true, Item: news.Item{ID: news.NewID(), Seq: seq, PublishedSeq: seq,
		Version: 1, Status: news.StatusLive, Text: text, Lang: "en", Regions: []string{"mena"}, Priority: news.PriorityBreaking,
		Alert: true, AlertedAt: &now, PublishedAt: now, UpdatedAt: now}})
}

// TestUnreachableSubscriptionsRemoved: a subscription whose push service
// never answers (connection reset, or a host name that does not resolve)
// is removed once maxUnreachable items in a row failed so over at least
// unreachableSpan, while another push service answered (so the network of
// this instance works). After its first unreachable item it gets one
// attempt per item, not MaxAttempts.
func TestUnreachableSubscriptionsRemoved(t *testing.T) {
	e := newUnreachableEnv(t)
	e.subscribeAt(t, e.okURL+"/push/ok")
	reset := e.subscribeAt(t, e.resetURL+"/push/reset")
	dns := e.subscribeAt(t, "https://no-such-push-host.invalid/push/dns")
	start := e.clock.Now()
	step := unreachableSpan / (maxUnreachable - 1)
	for i := range maxUnreachable {
		e.clock.Set(start.Add(time.Duration(i) * step))
		prog := e.deliverAll(t, e.postAt("item"))[0]
		if prog.Sent != 1 {
			t.Fatalf("item %d: progress %+v, want 1 sent", i, prog)
		}
		last := i == maxUnreachable-1
		for _, sub := range []*Subscription{reset, dns} {
			got, rev := stored(t, e.testEnv, sub.Endpoint)
			_, inIndex := e.s.index.get(sub.ID)
			if last {
				if rev != 0 || inIndex {
					t.Fatalf("%s still stored after %d unreachable items over %v", sub.Endpoint, i+1, e.clock.Now().Sub(start))
				}
				continue
			}
			if rev == 0 || !inIndex {
				t.Fatalf("item %d: %s removed too early", i, sub.Endpoint)
			}
			if got.Unreachable != i+1 || !got.UnreachableSince.Equal(start) {
				t.Fatalf("item %d: %s stored unreachable %d since %v, want %d since %v", i, sub.Endpoint, got.Unreachable, got.UnreachableSince, i+1, start)
			}
		}
		if last && (prog.Removed != 2 || prog.Failed != 0) {
			t.Fatalf("last item: progress %+v, want 2 removed", prog)
		}
		if !last && (prog.Failed != 2 || prog.Removed != 0) {
			t.Fatalf("item %d: progress %+v, want 2 failed", i, prog)
		}
	}
	// MaxAttempts connections for the first item, then one per item.
	if n, want := e.accepts.Load(), int64(e.s.cfg.MaxAttempts+maxUnreachable-1); n != want {
		t.Errorf("the resetting host got %d connections, want %d", n, want)
	}
	before := e.accepts.Load()
	e.deliverAll(t, e.postAt("after the removal"))
	if n := e.accepts.Load(); n != before {
		t.Errorf("a removed subscription was sent to: %d connections", n-before)
	}
	if e.answered.Load() != maxUnreachable+1 {
		t.Errorf("the answering service got %d requests, want %d", e.answered.Load(), maxUnreachable+1)
	}
}

// TestUnreachableKeptWithinSpanOrWhileNothingAnswers: unreachable items
// do not remove a subscription when they span less than unreachableSpan,
// nor when no push service has answered this instance since the
// subscription's first failure (its own network may be down: removing
// every subscription then would lose them all).
func TestUnreachableKeptWithinSpanOrWhileNothingAnswers(t *testing.T) {
	t.Run("short span", func(t *testing.T) {
		e := newUnreachableEnv(t)
		e.subscribeAt(t, e.okURL+"/push/ok")
		reset := e.subscribeAt(t, e.resetURL+"/push/reset")
		start := e.clock.Now()
		for i := range maxUnreachable + 1 {
			e.clock.Set(start.Add(time.Duration(i) * time.Minute))
			e.deliverAll(t, e.postAt("item"))
		}
		if got, rev := stored(t, e.testEnv, reset.Endpoint); rev == 0 || got.Unreachable != maxUnreachable+1 {
			t.Fatalf("stored %+v (revision %d), want kept with %d unreachable", got, rev, maxUnreachable+1)
		}
	})
	t.Run("nothing answers", func(t *testing.T) {
		e := newUnreachableEnv(t)
		reset := e.subscribeAt(t, e.resetURL+"/push/reset")
		start := e.clock.Now()
		for i := range maxUnreachable + 1 {
			e.clock.Set(start.Add(time.Duration(i) * unreachableSpan / (maxUnreachable - 1)))
			e.deliverAll(t, e.postAt("item"))
		}
		if got, rev := stored(t, e.testEnv, reset.Endpoint); rev == 0 || got.Unreachable != maxUnreachable+1 {
			t.Fatalf("stored %+v (revision %d), want kept with %d unreachable", got, rev, maxUnreachable+1)
		}
		// Once a push service answers again, the next unreachable item
		// removes it. (Two items: in the first, the answer may come after
		// the failure.)
		e.clock.Set(start.Add(2 * unreachableSpan))
		ok := e.subscribeAt(t, e.okURL+"/push/ok")
		e.deliverAll(t, e.postAt("the network is back"))
		e.deliverAll(t, e.postAt("and still"))
		if _, rev := stored(t, e.testEnv, reset.Endpoint); rev != 0 {
			t.Fatal("not removed once a push service answered again")
		}
		if got, rev := stored(t, e.testEnv, ok.Endpoint); rev == 0 || got.Unreachable != 0 {
			t.Fatalf("the answering subscription: %+v (revision %d)", got, rev)
		}
	})
}
