package push

import (
	"context"
	"testing"
	"time"

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
	if _, err := env.js.Publish(ctx, "news.abcdefghijklmnopqrst", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	cons, err := env.js.Consumer(ctx, "NEWS", env.s.plannerConfig().Durable)
	if err != nil {
		t.Fatalf("the planner's consumer does not exist after New: %v", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 1 {
		t.Fatalf("the planner's consumer has %d events pending, want the 1 published before Start", info.NumPending)
	}
}
