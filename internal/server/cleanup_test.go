package server_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"newsflash/internal/datadir"
	"newsflash/internal/editor"
	"newsflash/internal/server"
)

// TestNewCleansUpAfterALateFailure: when a step of New fails after the
// stream is open (and, in one case, after Web Push has started), New stops
// everything it started: no goroutine is left behind and the data directory
// can be locked again.
func TestNewCleansUpAfterALateFailure(t *testing.T) {
	eds, err := editor.ParseEditors(editorLine)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(dir string, o *server.Options)
	}{
		{"bad VAPID key file", func(dir string, o *server.Options) {
			bad := filepath.Join(dir, "..", "vapid-bad.json")
			if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
			o.VAPID.Subject, o.VAPID.KeyFile = vapidSubject, bad
		}},
		{"bad metrics allow-list after Web Push started", func(_ string, o *server.Options) {
			o.VAPID.Subject = vapidSubject
			o.MetricsAllow = []string{"not-an-address"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			opts := server.Options{DataDir: dir}
			tt.mutate(dir, &opts)
			base := settledGoroutines(0)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			srv, err := server.New(ctx, server.Deps{Editors: eds, Logger: testLogger(t)}, opts)
			if err == nil {
				_ = srv.Shutdown(ctx)
				t.Fatal("New succeeded, want the late step to fail")
			}
			if n := settledGoroutines(base); n-natsSourceWaits() > base {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines after the failed New, %d before; left:\n%s", n, base, buf[:runtime.Stack(buf, true)])
			}
			lock, err := datadir.Lock(dir)
			if err != nil {
				t.Fatalf("data directory still locked after the failed New: %v", err)
			}
			_ = lock.Release()
		})
	}
}

// natsSourceWaits counts the goroutines of nats-server that wait for the
// answer to a stream source's consumer request (the audit stream sources
// the others): that wait has no shutdown signal upstream, only its own
// timeout (seconds), so one can outlive a server shut down while a source
// was being set up. It ends by itself; it holds nothing of ours.
func natsSourceWaits() int {
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "nats-server/v2/server.(*stream).trySetupSourceConsumer.func") {
			n++
		}
	}
	return n
}

// settledGoroutines polls the goroutine count until it is at most want or
// has stopped changing for a while (want 0: until it stops changing), and
// returns it. Goroutines take a moment to end after they are told to.
func settledGoroutines(want int) int {
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
