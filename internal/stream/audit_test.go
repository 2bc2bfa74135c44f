package stream

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
)

// TestAuditStreamCopiesEvents: the audit stream gets every event with what
// only the audit may see, keeps it past the news stream's own limits, is
// left as it is when reopened, and the live projection never sees Client or
// Before.
func TestAuditStreamCopiesEvents(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	deps, cfg := Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, Options{StoreDir: dir, MaxEvents: 2}
	s, err := Open(context.Background(), deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	it := news.Item{ID: news.NewID(), Version: 1, Status: news.StatusLive, Text: "one", Lang: "en", Regions: []string{"mena"}, Editor: "alice"}
	seq1, _, err := s.Publish(ctx, news.Event{Type: news.EventItem, Item: it, Client: "192.0.2.1"}, 0, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The copy is asynchronous: an event the news stream drops before it
	// is copied (here after two more events) would be missed, so the test
	// waits for each copy. With real limits the copy is far ahead of them.
	waitAudit(t, s, 1)
	before := it
	before.Seq = seq1
	it.Version, it.Text, it.UpdatedBy = 2, "two", "bob"
	if _, _, err := s.Publish(ctx, news.Event{Type: news.EventUpdate, Item: it, Client: "192.0.2.2", Before: &before}, seq1, it.ID+".2"); err != nil {
		t.Fatal(err)
	}
	waitAudit(t, s, 2)
	for i := 0; i < 3; i++ { // push the first two out of the news stream (MaxEvents 2)
		other := news.Item{ID: news.NewID(), Version: 1, Status: news.StatusLive, Text: "other", Lang: "en", Regions: []string{"asia"}}
		if _, _, err := s.Publish(ctx, news.Event{Type: news.EventItem, Item: other}, 0, other.ID); err != nil {
			t.Fatal(err)
		}
		waitAudit(t, s, uint64(3+i))
	}
	if n, _ := s.str.Info(ctx); n.State.Msgs != 2 {
		t.Fatalf("news stream holds %d events, want 2", n.State.Msgs)
	}
	audit := waitAudit(t, s, 5)
	if got := audit.CachedInfo().Config; !sameStream(got, s.auditConfig()) || got.Replicas != 1 || got.MaxAge != 90*24*time.Hour {
		t.Fatalf("audit stream config as the server reports it: %+v", got)
	}

	// The copies keep their subjects, bytes and the news stream's seq.
	cons, err := s.js.OrderedConsumer(ctx, s.Layout().AuditStream(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{s.Layout().ItemSubject(it.ID)}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	var got []news.Event
	for m := range batch.Messages() {
		src := m.Headers().Get("Nats-Stream-Source")
		if !strings.HasPrefix(src, s.Layout().NewsStream()+" ") {
			t.Fatalf("source header %q", src)
		}
		ev, err := DecodeEvent(m.Data(), 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].Client != "192.0.2.1" || got[0].Before != nil ||
		got[1].Client != "192.0.2.2" || got[1].Before == nil || got[1].Before.Text != "one" || got[1].Before.Seq != seq1 || got[1].Item.Text != "two" {
		t.Fatalf("audit copies of the item: %+v", got)
	}

	// Reopened on the same store, nothing is updated, and the audit is kept.
	s.Close()
	logs.Reset()
	if s, err = Open(context.Background(), deps, cfg); err != nil {
		t.Fatal(err)
	}
	waitAudit(t, s, 5)
	if strings.Contains(logs.String(), "changing") || strings.Contains(logs.String(), "not shrinking") {
		t.Fatalf("reopening changed something: %s", logs.String())
	}

	// Follow hands the projection no audit fields.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := make(chan news.Event, 10)
	go func() { _ = s.Follow(fctx, func(ev news.Event) { seen <- ev }, func() {}) }()
	for range 2 {
		select {
		case ev := <-seen:
			if ev.Client != "" || ev.Before != nil {
				t.Fatalf("follow handed over audit fields: %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("follow gave nothing")
		}
	}
}

// waitAudit waits until the audit stream holds n events (the copy is
// asynchronous) and returns it.
func waitAudit(t *testing.T, s *Stream, n uint64) jetstream.Stream {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := s.js.Stream(context.Background(), s.Layout().AuditStream())
		if err == nil && a.CachedInfo().State.Msgs == n {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit stream: %v, %+v; want %d events", err, a.CachedInfo().State, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuditMaxAgeReconciled: a longer --audit-max-age is applied to the
// existing audit stream, a shorter one is not (it would delete records).
func TestAuditMaxAgeReconciled(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	maxAge := func(age time.Duration) time.Duration {
		t.Helper()
		s, err := Open(context.Background(), Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, Options{StoreDir: dir, AuditMaxAge: age})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return s.audit.CachedInfo().Config.MaxAge
	}
	if got := maxAge(0); got != 90*24*time.Hour {
		t.Fatalf("default audit max age %s", got)
	}
	if got := maxAge(365 * 24 * time.Hour); got != 365*24*time.Hour {
		t.Fatalf("audit max age not grown: %s", got)
	}
	if got := maxAge(time.Hour); got != 365*24*time.Hour || !strings.Contains(logs.String(), "not shrinking") {
		t.Fatalf("audit max age shrunk to %s; log: %s", got, logs.String())
	}
}
