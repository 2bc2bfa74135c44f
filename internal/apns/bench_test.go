package apns_test

import (
	"context"
	"sync/atomic"
	"testing"

	"newsflash/internal/apns"
	"newsflash/internal/news"
)

// BenchmarkSend sends flash alerts to the stand-in from many goroutines
// over the default connections; the stand-in's own work (TLS, HTTP/2, its
// checks) runs in the same process and is included.
func BenchmarkSend(b *testing.B) {
	f := setup(b, nil)
	f.srv.SetRecord(false)
	var n atomic.Int64
	b.SetParallelism(64) // many sends in flight, as the pipeline has
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := message(device(int(n.Add(1))), news.EventItem, news.PriorityFlash)
			if r := f.client.Send(context.Background(), m); r.Outcome != apns.Sent {
				b.Errorf("send: %+v", r)
				return
			}
		}
	})
	b.StopTimer()
	if got := f.srv.Conns(); got > apns.DefaultConns {
		b.Errorf("%d connections, want at most %d", got, apns.DefaultConns)
	}
}

// BenchmarkSendNotification is BenchmarkSend with the notification
// prepared once, as a job sends it to its devices.
func BenchmarkSendNotification(b *testing.B) {
	f := setup(b, nil)
	f.srv.SetRecord(false)
	n := f.client.Prepare(message(device(0), news.EventItem, news.PriorityFlash))
	var i atomic.Int64
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := f.client.SendNotification(context.Background(), device(int(i.Add(1))), "", n); r.Outcome != apns.Sent {
				b.Errorf("send: %+v", r)
				return
			}
		}
	})
}
