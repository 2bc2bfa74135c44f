package push

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

// TestCheckpointInterval: a job records its progress at most once every
// CheckpointInterval while it sends (and once more when it ends), or after
// every change when the interval is negative. Sends go one at a time, each
// answered after 5 ms, so the job lasts well over a hundred milliseconds.
func TestCheckpointInterval(t *testing.T) {
	const subs = 30
	records := func(t *testing.T, interval time.Duration) int {
		var puts int
		var last progress
		e := newTestEnv(t, 1, pushsink.Options{})
		e.s.cfg.PerHost = 1
		e.s.cfg.CheckpointInterval = interval
		for range subs {
			ps, _ := e.subscribe(t)
			e.sink.Respond(ps.ID(), pushsink.Response{Delay: 5 * time.Millisecond})
		}
		entry := e.post("Checkpoints", news.PriorityFlash)
		j := job{Seq: entry.Event.Seq, Item: entry.Event.Item.ID, P: 0}

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w, err := e.s.prog.Watch(ctx, j.key(), jetstream.UpdatesOnly())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		done, err := e.s.deliver(ctx, j)
		if err != nil || !done {
			t.Fatalf("deliver: done %v, err %v", done, err)
		}
		for !last.Done {
			select {
			case kv := <-w.Updates():
				if kv == nil {
					continue
				}
				puts++
				if err := json.Unmarshal(kv.Value(), &last); err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatalf("no final record after %d", puts)
			}
		}
		if last.Sent != subs {
			t.Errorf("final record: sent %d, want %d", last.Sent, subs)
		}
		if got, _ := e.sink.Count(); got != subs {
			t.Errorf("push service accepted %d, want %d", got, subs)
		}
		return puts
	}

	// An hour: the first change is recorded at once, then nothing until the
	// job ends and records its final state.
	hourly := records(t, time.Hour)
	if hourly != 2 {
		t.Errorf("interval 1h: %d records, want 2 (the first change and the end)", hourly)
	}
	// After every change: the sends finish 5 ms apart, one at a time, so
	// there are more records than with the hour.
	every := records(t, -1)
	if every <= hourly {
		t.Errorf("after every change: %d records, want more than the %d of an hour's interval", every, hourly)
	}
	t.Logf("records: interval 1h %d, after every change %d (of %d sends)", hourly, every, subs)
}
