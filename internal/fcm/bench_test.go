package fcm_test

import (
	"context"
	"testing"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
)

// BenchmarkSend sends to the stand-in from 64 goroutines per CPU over its
// HTTP/2 connection. cpu-µs/send counts the client and the stand-in, which
// share the process (and the machine's cores).
func BenchmarkSend(b *testing.B) {
	m := message(deviceToken(1), fcm.KindItem, news.PriorityFlash)
	benchSend(b, func(c *fcm.Client) fcm.Result { return c.Send(context.Background(), m) })
}

// BenchmarkSendPrepared is BenchmarkSend with the message prepared once,
// as a job sends it to its devices.
func BenchmarkSendPrepared(b *testing.B) {
	m := message(deviceToken(1), fcm.KindItem, news.PriorityFlash)
	p := fcm.Prepare(m)
	benchSend(b, func(c *fcm.Client) fcm.Result { return c.SendPrepared(context.Background(), m.Token, m.Receipt, p) })
}

func benchSend(b *testing.B, send func(*fcm.Client) fcm.Result) {
	s := fcmtest.New(fcmtest.Options{Discard: true})
	b.Cleanup(s.Close)
	c := client(b, s, nil)
	if r := send(c); r.Outcome != fcm.Sent { // the token, the connection
		b.Fatalf("Send = %+v", r)
	}
	b.SetParallelism(64)
	b.ReportAllocs()
	cpu0, start := cpuTime(), time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := send(c); r.Outcome != fcm.Sent {
				b.Errorf("Send = %+v", r)
				return
			}
		}
	})
	b.StopTimer()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/send")
	}
}
