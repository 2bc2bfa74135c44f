package apns_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/news"
)

// TestNoGoroutinesLeft: once the client and the stand-in are closed, the
// goroutines of their connections are gone.
func TestNoGoroutinesLeft(t *testing.T) {
	before := settled(0)
	srv, err := apnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	c, err := apns.New(apns.Deps{HTTPClient: srv.Client()},
		apns.Options{Endpoint: srv.URL, Key: srv.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic, Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if r := c.Send(context.Background(), message(device(i), news.EventItem, news.PriorityFlash)); r.Outcome != apns.Sent {
				t.Errorf("send: %+v", r)
			}
		})
	}
	wg.Wait()
	if during := runtime.NumGoroutine(); during <= before {
		t.Fatalf("%d goroutines with connections open, %d before: the count shows nothing", during, before)
	}
	c.Close()
	srv.Close()
	if after := settled(before); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after closing, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
}

// settled polls the goroutine count until it is at most want or has stopped
// changing for a while, and returns it: goroutines take a moment to end.
func settled(want int) int {
	n, same := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && same < 20; {
		time.Sleep(25 * time.Millisecond)
		m := runtime.NumGoroutine()
		if want > 0 && m <= want {
			return m
		}
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}
