package server_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/server"
)

// TestReadyzAsksTheStreamOncePerSecond: however many callers, /readyz asks
// JetStream at most once a second; callers at the same time share one
// check, and once the second is over the next caller asks again.
func TestReadyzAsksTheStreamOncePerSecond(t *testing.T) {
	in := start(t, options{})
	var checks atomic.Int64
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	server.SetReadyCheck(in.srv, func(check func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			checks.Add(1)
			return check(ctx)
		}
	}, clock)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			c := in.from(t, "127.0.0.2")
			for range 10 {
				if ans := c.get("/readyz", nil); ans.status != http.StatusOK {
					t.Errorf("readyz: %+v", ans)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := checks.Load(); n != 1 {
		t.Fatalf("100 calls within a second made %d stream checks, want 1", n)
	}

	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	for range 10 {
		if ans := in.from(t, "127.0.0.2").get("/readyz", nil); ans.status != http.StatusOK {
			t.Fatalf("readyz: %+v", ans)
		}
	}
	if n := checks.Load(); n != 2 {
		t.Fatalf("after a second, 10 more calls made %d stream checks in all, want 2", n)
	}
}
