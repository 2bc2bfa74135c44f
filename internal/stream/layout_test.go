package stream

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
)

// names lists every name a layout gives, by what it is for.
func names(l Layout) map[string]string {
	return map[string]string{
		"news stream":        l.NewsStream(),
		"news subjects":      l.NewsSubjects(),
		"item subject":       l.ItemSubject("abcdefghijklmnopqrst"),
		"audit stream":       l.AuditStream(),
		"idempotency bucket": l.IdempotencyBucket(),
		"editors bucket":     l.EditorsBucket(),
		"editors stream":     l.EditorsKVStream(),
		"scheduled bucket":   l.ScheduledBucket(),
		"scheduled stream":   l.ScheduledKVStream(),
		"stories bucket":     l.StoriesBucket(),
		"stories stream":     l.StoriesKVStream(),
		"push subscriptions": l.PushSubscriptionsBucket(),
		"push progress":      l.PushProgressBucket(),
		"push keys":          l.PushKeysBucket(),
		"push receipts":      l.PushReceiptsBucket(),
		"push jobs stream":   l.PushJobsStream(),
		"push jobs subject":  l.PushJobsSubject(),
		"planner consumer":   l.PlannerConsumer(),
		"push workers":       l.PushWorkersConsumer(),
		"webhooks bucket":    l.WebhooksBucket(),
		"webhook stats":      l.WebhookStatsBucket(),
		"webhook jobs":       l.WebhookJobsStream(),
		"webhook subject":    l.WebhookJobsSubject(),
		"webhook planner":    l.WebhookPlannerConsumer(),
		"webhook workers":    l.WebhookWorkersConsumer(),
	}
}

// TestDefaultLayoutKeepsNames: the default layout spells the names that
// Newsflash used before names were derived from the stream name, so an
// upgraded deployment finds its streams, buckets and consumers.
func TestDefaultLayoutKeepsNames(t *testing.T) {
	want := map[string]string{
		"news stream":        "NEWSFLASH",
		"news subjects":      "newsflash.items.*",
		"item subject":       "newsflash.items.abcdefghijklmnopqrst",
		"audit stream":       "NEWSFLASH_AUDIT",
		"idempotency bucket": "NEWSFLASH_idempotency",
		"editors bucket":     "NEWSFLASH_editors",
		"editors stream":     "KV_NEWSFLASH_editors",
		"scheduled bucket":   "NEWSFLASH_scheduled",
		"scheduled stream":   "KV_NEWSFLASH_scheduled",
		"stories bucket":     "NEWSFLASH_stories",
		"stories stream":     "KV_NEWSFLASH_stories",
		"push subscriptions": "NEWSFLASH_push_subscriptions",
		"push progress":      "NEWSFLASH_push_progress",
		"push keys":          "NEWSFLASH_push_keys",
		"push receipts":      "NEWSFLASH_push_receipts",
		"push jobs stream":   "NEWSFLASH_PUSH",
		"push jobs subject":  "newsflash.push.jobs",
		"planner consumer":   "NEWSFLASH_push_planner",
		"push workers":       "NEWSFLASH_push_workers",
		"webhooks bucket":    "NEWSFLASH_webhooks",
		"webhook stats":      "NEWSFLASH_webhook_stats",
		"webhook jobs":       "NEWSFLASH_WEBHOOK",
		"webhook subject":    "newsflash.webhook.jobs",
		"webhook planner":    "NEWSFLASH_webhook_planner",
		"webhook workers":    "NEWSFLASH_webhook_workers",
	}
	for _, l := range []Layout{{}, NewLayout(""), NewLayout(DefaultStreamName)} {
		got := names(l)
		for what, w := range want {
			if got[what] != w {
				t.Errorf("default layout %s: %q, want %q", what, got[what], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("default layout gives %d names, the test knows %d", len(got), len(want))
		}
	}

	// And a stream opened with default options makes them in NATS.
	s, err := Open(context.Background(), Deps{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}, Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if s.Layout().NewsStream() != "NEWSFLASH" {
		t.Fatalf("opened stream's layout: %+v", s.Layout())
	}
	for _, name := range []string{"NEWSFLASH", "NEWSFLASH_AUDIT", "KV_NEWSFLASH_idempotency", "KV_NEWSFLASH_editors", "KV_NEWSFLASH_scheduled", "KV_NEWSFLASH_stories"} {
		if _, err := s.js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	if subj := s.str.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != "newsflash.items.*" {
		t.Errorf("news stream subjects %v", subj)
	}
}

// TestLayoutFollowsStreamName: another stream name changes every name, so
// two deployments on one NATS share none.
func TestLayoutFollowsStreamName(t *testing.T) {
	def, other := names(NewLayout("")), names(NewLayout("WIRE_2"))
	used := map[string]string{}
	for what, name := range def {
		used[name] = what
	}
	for what, name := range other {
		if by, ok := used[name]; ok {
			t.Errorf("%s %q is also the default layout's %s", what, name, by)
		}
		if !strings.Contains(name, "WIRE_2") && !strings.Contains(name, "wire_2") {
			t.Errorf("%s %q is not named after the stream", what, name)
		}
	}
	if got := NewLayout("WIRE_2").PushJobsSubject(); got != "wire_2.push.jobs" {
		t.Errorf("jobs subject %q", got)
	}
}

func TestStoryFromSubject(t *testing.T) {
	l, other := NewLayout(""), NewLayout("OTHER")
	for subj, want := range map[string]string{
		"$KV.NEWSFLASH_stories.war-on-gaza": "war-on-gaza",
		"$KV.OTHER_stories.war-on-gaza":     "",
		"$KV.NEWSFLASH_stories.War":         "",
		"$KV.NEWSFLASH_editors.war-on-gaza": "",
		"$KV.NEWSFLASH_stories.":            "",
	} {
		got, ok := l.StoryFromSubject(subj)
		if got != want || ok != (want != "") {
			t.Errorf("StoryFromSubject(%q) = %q, %v; want %q", subj, got, ok, want)
		}
	}
	if got, ok := other.StoryFromSubject("$KV.OTHER_stories.a"); !ok || got != "a" {
		t.Errorf("OTHER layout: %q %v", got, ok)
	}
}

func TestItemIDFromSubject(t *testing.T) {
	id := news.NewID()
	l, other := NewLayout(""), NewLayout("OTHER")
	for _, tc := range []struct {
		name, subj, want string
		ok               bool
	}{
		{"item", l.ItemSubject(id), id, true},
		{"another layout's item", other.ItemSubject(id), "", false},
		{"jobs subject", l.PushJobsSubject(), "", false},
		{"no id", l.ItemSubject(""), "", false},
		{"wildcard", l.NewsSubjects(), "", false},
		{"more tokens", l.ItemSubject(id + ".x"), "", false},
		{"not an id", l.ItemSubject("ABC"), "", false},
		{"prefix only", "newsflash.items", "", false},
	} {
		got, ok := l.ItemIDFromSubject(tc.subj)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: ItemIDFromSubject(%q) = %q, %v; want %q, %v", tc.name, tc.subj, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCheckStreamName(t *testing.T) {
	for _, name := range []string{"", "NEWSFLASH", "news-2", "A_b_9"} {
		if err := CheckStreamName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, name := range []string{"a.b", "a b", "a*", "a>", "a/b", `a\b`, "näws", "a\x00", strings.Repeat("N", 65)} {
		if err := CheckStreamName(name); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
	_, err := Open(context.Background(), Deps{}, Options{StoreDir: t.TempDir(), StreamName: "bad.name"})
	if err == nil || !strings.Contains(err.Error(), "bad.name") {
		t.Fatalf("Open with a bad stream name: %v", err)
	}
}

// TestTwoStreamNamesOneNATS: two streams with different names on one NATS
// keep their events apart, both when published and when followed.
func TestTwoStreamNamesOneNATS(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Open(ctx, Deps{Logger: log}, Options{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", User: "nf", Password: "two-streams"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, Deps{Logger: log}, Options{URL: a.ClientURL(), User: "nf", Password: "two-streams", StreamName: "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	post := func(s *Stream, text string) news.Item {
		t.Helper()
		it := news.Item{ID: news.NewID(), Version: 1, Status: news.StatusLive, Text: text, Lang: "en", Regions: []string{"mena"}}
		if _, _, err := s.Publish(ctx, news.Event{Type: news.EventItem, Item: it}, 0, it.ID); err != nil {
			t.Fatal(err)
		}
		return it
	}
	ia, ib := post(a, "on a"), post(b, "on b")
	if _, err := b.Current(ctx, ia.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b reads a's item: %v", err)
	}
	if _, err := a.Current(ctx, ib.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a reads b's item: %v", err)
	}
	for _, tc := range []struct {
		s    *Stream
		want string
	}{{a, ia.ID}, {b, ib.ID}} {
		fctx, stop := context.WithCancel(ctx)
		var got []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = tc.s.Follow(fctx, func(ev news.Event) { got = append(got, ev.Item.ID) }, stop)
		}()
		<-done
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s follows %v, want [%s]", tc.s.Layout().NewsStream(), got, tc.want)
		}
		audit, err := tc.s.js.Stream(ctx, tc.s.Layout().AuditStream())
		if err != nil {
			t.Fatal(err)
		}
		if n := audit.CachedInfo().Config.Sources; len(n) != 4 || n[0].Name != tc.s.Layout().NewsStream() || n[1].Name != tc.s.Layout().EditorsKVStream() || n[2].Name != tc.s.Layout().ScheduledKVStream() ||
			n[3].Name != tc.s.Layout().StoriesKVStream() {
			t.Errorf("audit stream %s sources %v", tc.s.Layout().AuditStream(), n)
		}
	}
	if _, err := a.js.KeyValue(ctx, NewLayout("OTHER").IdempotencyBucket()); err != nil {
		t.Errorf("OTHER's idempotency bucket: %v", err)
	}
}

func TestEditorFromSubject(t *testing.T) {
	l := NewLayout("OTHER")
	for _, name := range []string{"alice", "bob@example.org", "a.b-c_d"} {
		subj := "$KV." + l.EditorsBucket() + "." + l.EditorKey(name)
		if got, ok := l.EditorFromSubject(subj); !ok || got != name {
			t.Errorf("EditorFromSubject(%q) = %q, %v; want %q", subj, got, ok, name)
		}
	}
	for _, subj := range []string{
		"$KV.NEWSFLASH_editors." + l.EditorKey("alice"), // another deployment's
		"$KV." + l.EditorsBucket() + ".zz",              // not hex
		"$KV." + l.EditorsBucket() + ".",                // empty
		l.ItemSubject("abcdefghijklmnopqrst"),
	} {
		if got, ok := l.EditorFromSubject(subj); ok {
			t.Errorf("EditorFromSubject(%q) = %q, want false", subj, got)
		}
	}
}
