package push

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/pushsink"
)

func TestStatsViewForgetsExpiredJobs(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := newStatsView()
	v.jobs["old.1.0"] = jobStats{progress: progress{Sent: 3}, at: now.Add(-progressTTL - time.Minute)}
	v.jobs["new.2.0"] = jobStats{progress: progress{Sent: 5}, at: now.Add(-time.Hour)}
	v.forgetExpired(now)
	if _, ok := v.jobs["old.1.0"]; ok {
		t.Fatal("a job past the bucket's TTL is still in the view")
	}
	if _, ok := v.jobs["new.2.0"]; !ok {
		t.Fatal("a live job was forgotten")
	}
	// At most one sweep a minute.
	v.jobs["old.3.0"] = jobStats{at: now.Add(-progressTTL - time.Hour)}
	v.forgetExpired(now.Add(30 * time.Second))
	if _, ok := v.jobs["old.3.0"]; !ok {
		t.Fatal("swept twice within a minute")
	}
	v.forgetExpired(now.Add(2 * time.Minute))
	if _, ok := v.jobs["old.3.0"]; ok {
		t.Fatal("the next sweep kept an expired job")
	}
}

// TestPlannerSeesEventsPublishedBeforeStart: the planner's consumer exists
// once New returns, so an event published before the planner runs (the
// server takes posts as soon as it listens) is planned, not skipped.
func TestPlannerSeesEventsPublishedBeforeStart(t *testing.T) {
	env := newTestEnv(t, 2, pushsink.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.js.Publish(ctx, testLayout.ItemSubject("abcdefghijklmnopqrst"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	cons, err := env.js.Consumer(ctx, testLayout.NewsStream(), testLayout.PlannerConsumer())
	if err != nil {
		t.Fatalf("the planner's consumer does not exist after New: %v", err)
	}
	// Fetch what the consumer hands out (nothing else consumes it: Start
	// has not run). Its NumPending is not read instead: the server counts
	// a new message for a consumer asynchronously, so right after the
	// publish it can still say 0.
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, m.Subject())
	}
	if err := batch.Error(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != testLayout.ItemSubject("abcdefghijklmnopqrst") {
		t.Fatalf("the planner's consumer handed out %q, want the 1 event published before Start", got)
	}
}
