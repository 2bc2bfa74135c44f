package fcm_test

import (
	"runtime"
	"testing"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
)

// TestNoGoroutineLeft checks that a client of its own HTTP client and the
// stand-in leave nothing running once closed.
func TestNoGoroutineLeft(t *testing.T) {
	base := runtime.NumGoroutine()
	s := fcmtest.New(fcmtest.Options{})
	c := client(t, s, nil)
	for i := range 8 {
		if r := send(t, c, message(deviceToken(i), fcm.KindItem, news.PriorityUrgent)); r.Outcome != fcm.Sent {
			t.Fatalf("Send = %+v", r)
		}
	}
	s.Client().CloseIdleConnections() // the injected client's owner closes it
	c.Close()
	s.Close()
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > base && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	if n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
