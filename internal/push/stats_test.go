package push

import (
	"context"
	"maps"
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

// TestFunnelFromTheAlertJobs: the funnel counts the alert event's jobs
// only (not a correction's), per platform and in total, with what a job
// still running has not finished as pending, and the alert's time from
// history.
func TestFunnelFromTheAlertJobs(t *testing.T) {
	env := newTestEnv(t, 2, pushsink.Options{})
	e := env.post("Funnel", "urgent")
	id := e.Event.Item.ID
	web := func(c counts) map[string]*counts { return map[string]*counts{PlatformWeb: &c} }
	env.s.stats.jobs[job{Seq: e.Event.Seq, Item: id, P: 0}.key()] = jobStats{progress: progress{Alert: true, Done: true, Sent: 3, Failed: 1,
		Platforms: web(counts{Sent: 3, Failed: 1, Targeted: 6, Skipped: map[string]int{SkipCap: 2}})}}
	env.s.stats.jobs[job{Seq: e.Event.Seq, Item: id, P: 1}.key()] = jobStats{progress: progress{Alert: true, Sent: 1,
		Platforms: map[string]*counts{PlatformWeb: {Sent: 1, Targeted: 2}, PlatformIOS: {Targeted: 4, Removed: 1, Skipped: map[string]int{SkipQuietHours: 1}}}}}
	env.s.stats.jobs[job{Seq: e.Event.Seq + 1, Item: id, P: 0}.key()] = jobStats{progress: progress{Done: true, Sent: 9,
		Platforms: web(counts{Sent: 9})}}
	st := env.s.statsFor(id, 50)
	if len(st.Items) != 1 || st.Items[0].Funnel == nil {
		t.Fatalf("stats %+v: no funnel", st)
	}
	f := st.Items[0].Funnel
	if !f.AlertedAt.Equal(*e.Event.Item.AlertedAt) {
		t.Errorf("alerted_at %v, want %v", f.AlertedAt, *e.Event.Item.AlertedAt)
	}
	want := FunnelCounts{Targeted: 12, Sent: 4, Failed: 1, Removed: 1, Pending: 3,
		Skipped: map[string]int{SkipPriority: 0, SkipQuietHours: 1, SkipCap: 2}}
	got := f.FunnelCounts
	if got.Targeted != want.Targeted || got.Sent != want.Sent || got.Failed != want.Failed || got.Removed != want.Removed ||
		got.Pending != want.Pending || !maps.Equal(got.Skipped, want.Skipped) {
		t.Errorf("funnel %+v, want %+v", got, want)
	}
	if w, i := f.Platforms[PlatformWeb], f.Platforms[PlatformIOS]; w.Targeted != 8 || w.Sent != 4 || w.Pending != 1 || w.Skipped[SkipCap] != 2 ||
		i.Targeted != 4 || i.Removed != 1 || i.Pending != 2 || i.Skipped[SkipQuietHours] != 1 {
		t.Errorf("per platform %+v", f.Platforms)
	}
	if st.Items[0].Sent != 13 {
		t.Errorf("item sent %d, want 13 (the alert's and the correction's)", st.Items[0].Sent)
	}
}
