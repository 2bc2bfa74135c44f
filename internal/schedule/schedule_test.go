package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"

	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/schedule"
	"newsflash/internal/stream"
)

// wait bounds every blocking step; it is never an assertion about speed.
const wait = 20 * time.Second

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStream(t *testing.T) *stream.Stream {
	t.Helper()
	st, err := stream.Open(context.Background(), stream.Deps{Logger: logger()}, stream.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func kv(t *testing.T, st *stream.Stream) jetstream.KeyValue {
	t.Helper()
	b, err := st.Scheduled(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startScheduler(t *testing.T, st *stream.Stream, name string, opts schedule.Options) (*schedule.Scheduler, *metrics.Metrics) {
	t.Helper()
	m := metrics.New()
	s, err := schedule.New(schedule.Deps{KV: kv(t, st), Stream: st, Instance: name, Logger: logger().With("instance", name), Metrics: m}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, m
}

// record is a scheduled ticker item due at at.
func record(at time.Time) stream.Scheduled {
	at = at.UTC().Truncate(time.Millisecond)
	now := time.Now().UTC().Truncate(time.Millisecond)
	return stream.Scheduled{
		Item: news.Item{ID: news.NewID(), Version: 1, Status: news.StatusScheduled, Text: "Scheduled line", Lang: "en",
			Regions: []string{"world"}, Priority: news.PriorityBreaking, Editor: "alice", UpdatedAt: now, PublishAt: &at},
		Status: stream.SchedScheduled, Action: stream.ScheduleCreate, By: "alice", At: now,
	}
}

// put writes a record straight into the bucket, as another instance would.
func put(t *testing.T, st *stream.Stream, r stream.Scheduled) {
	t.Helper()
	val, err := stream.EncodeScheduled(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv(t, st).Put(context.Background(), r.Item.ID, val); err != nil {
		t.Fatal(err)
	}
}

// waitStatus waits until the bucket's record of id has status.
func waitStatus(t *testing.T, st *stream.Stream, id, status string) stream.Scheduled {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		e, err := kv(t, st).Get(context.Background(), id)
		if err == nil {
			r, err := stream.DecodeScheduled(e.Value())
			if err != nil {
				t.Fatal(err)
			}
			if r.Status == status {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("record %s has status %s, want %s", id, r.Status, status)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("record %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events counts the news stream's events of an item.
func events(t *testing.T, st *stream.Stream, id string) uint64 {
	t.Helper()
	subj := st.Layout().ItemSubject(id)
	str, err := st.JetStream().Stream(context.Background(), st.Layout().NewsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(context.Background(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

// TestPublishedOnceByTwoSchedulers: two schedulers on one NATS race for
// the same due records; each is published exactly once, by one of them.
func TestPublishedOnceByTwoSchedulers(t *testing.T) {
	st := openStream(t)
	a, ma := startScheduler(t, st, "a", schedule.Options{})
	_, mb := startScheduler(t, st, "b", schedule.Options{})
	var ids []string
	for i := 0; i < 5; i++ {
		r := record(time.Now().Add(300 * time.Millisecond))
		if _, err := a.Create(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Item.ID)
	}
	for _, id := range ids {
		r := waitStatus(t, st, id, stream.SchedPublished)
		if n := events(t, st, id); n != 1 {
			t.Errorf("item %s: %d events in the news stream, want 1", id, n)
		}
		it, err := st.Current(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if it.Status != news.StatusLive || it.PublishAt == nil || !it.PublishAt.Equal(*r.Item.PublishAt) || it.PublishedAt.Before(*it.PublishAt) || it.Seq != r.Seq {
			t.Errorf("published item %+v, record seq %d", it, r.Seq)
		}
		if it.Editor != "alice" {
			t.Errorf("published item's editor %q, want alice", it.Editor)
		}
	}
	if got := counter(t, ma.ScheduledPublished) + counter(t, mb.ScheduledPublished); got != float64(len(ids)) {
		t.Errorf("published counters add up to %v, want %d", got, len(ids))
	}
	// a's view follows the bucket through its watch, a moment behind.
	for deadline := time.Now().Add(5 * time.Second); a.Pending() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pending %d after publishing", a.Pending())
		}
	}
}

// TestStaleClaimTakeover: a record claimed by an instance that died before
// publishing is published once by another; one whose item is in the
// stream already is only marked published.
func TestStaleClaimTakeover(t *testing.T) {
	st := openStream(t)
	old := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)

	lost := record(time.Now().Add(-30 * time.Second))
	lost.Status, lost.Action, lost.ClaimedAt, lost.Instance = stream.SchedPublishing, stream.ScheduleClaim, &old, "dead"
	put(t, st, lost)

	done := record(time.Now().Add(-30 * time.Second))
	done.Status, done.Action, done.ClaimedAt, done.Instance = stream.SchedPublishing, stream.ScheduleClaim, &old, "dead"
	put(t, st, done)
	it := done.Item
	it.Status, it.PublishedAt = news.StatusLive, old
	seq, _, err := st.Publish(context.Background(), news.Event{Type: news.EventItem, Item: it}, 0, it.ID)
	if err != nil {
		t.Fatal(err)
	}

	_, m := startScheduler(t, st, "survivor", schedule.Options{})
	r := waitStatus(t, st, lost.Item.ID, stream.SchedPublished)
	if n := events(t, st, lost.Item.ID); n != 1 {
		t.Errorf("taken-over item: %d events, want 1", n)
	}
	if r.Instance != "survivor" {
		t.Errorf("taken over by %q", r.Instance)
	}
	r = waitStatus(t, st, done.Item.ID, stream.SchedPublished)
	if n := events(t, st, done.Item.ID); n != 1 {
		t.Errorf("item published before the takeover: %d events, want 1", n)
	}
	if r.Seq != seq {
		t.Errorf("marked published at seq %d, the stream has it at %d", r.Seq, seq)
	}
	if got := counter(t, m.ScheduledPublished); got != 1 {
		t.Errorf("published counter %v, want 1 (only the lost one was published here)", got)
	}
}

// TestMissed: a record due longer ago than MaxLate is marked missed and
// not published; with a negative MaxLate it is published however late.
func TestMissed(t *testing.T) {
	st := openStream(t)
	late := record(time.Now().Add(-10 * time.Minute))
	put(t, st, late)
	_, m := startScheduler(t, st, "a", schedule.Options{MaxLate: time.Minute})
	r := waitStatus(t, st, late.Item.ID, stream.SchedMissed)
	if r.Item.Status != news.StatusMissed {
		t.Errorf("missed record's item status %q", r.Item.Status)
	}
	if n := events(t, st, late.Item.ID); n != 0 {
		t.Errorf("missed item: %d events in the news stream, want 0", n)
	}
	if got := counter(t, m.ScheduledMissed); got != 1 {
		t.Errorf("missed counter %v", got)
	}

	st2 := openStream(t)
	late2 := record(time.Now().Add(-10 * time.Minute))
	put(t, st2, late2)
	startScheduler(t, st2, "b", schedule.Options{MaxLate: -1})
	waitStatus(t, st2, late2.Item.ID, stream.SchedPublished)
	if n := events(t, st2, late2.Item.ID); n != 1 {
		t.Errorf("late item with no max late: %d events, want 1", n)
	}
}

// TestCancelledNeverPublished: a record cancelled (compare-and-set while
// scheduled) before it is due is never published, and the scheduler's
// list shows it cancelled.
func TestCancelledNeverPublished(t *testing.T) {
	st := openStream(t)
	s, _ := startScheduler(t, st, "a", schedule.Options{})
	r := record(time.Now().Add(time.Second))
	rev, err := s.Create(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(context.Background(), r); err != stream.ErrExists {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	c := r
	c.Status, c.Action, c.Item.Status = stream.SchedCancelled, stream.ScheduleCancel, news.StatusCancelled
	if _, err := s.Update(context.Background(), c, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(context.Background(), c, rev); err != stream.ErrConflict {
		t.Errorf("update at a stale revision: %v, want ErrConflict", err)
	}
	time.Sleep(2 * time.Second) // past its publish_at: nothing may happen
	if n := events(t, st, r.Item.ID); n != 0 {
		t.Errorf("cancelled item: %d events", n)
	}
	if l := s.List(news.StatusCancelled); len(l) != 1 || l[0].Item.ID != r.Item.ID {
		t.Errorf("cancelled list %+v", l)
	}
	if s.Pending() != 0 {
		t.Errorf("pending %d", s.Pending())
	}
}

// TestRestartBeforeDue: a scheduler started after the record was written
// (the only instance restarted) publishes it.
func TestRestartBeforeDue(t *testing.T) {
	st := openStream(t)
	m := metrics.New()
	first, err := schedule.New(schedule.Deps{KV: kv(t, st), Stream: st, Logger: logger(), Metrics: m}, schedule.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := record(time.Now().Add(time.Second))
	if _, err := first.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	first.Stop()
	startScheduler(t, st, "second", schedule.Options{})
	waitStatus(t, st, r.Item.ID, stream.SchedPublished)
	if n := events(t, st, r.Item.ID); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func counter(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
