package story_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/httperr"
	"newsflash/internal/news"
	"newsflash/internal/story"
	"newsflash/internal/stream"
)

const wait = 10 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

// openStream runs an embedded NATS with the stream's buckets.
func openStream(t *testing.T) *stream.Stream {
	t.Helper()
	st, err := stream.Open(context.Background(), stream.Deps{Logger: quiet()}, stream.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// newStore starts a store on st's bucket, stopped at the test's end.
func newStore(t *testing.T, st *stream.Stream, opts story.Options) *story.Store {
	t.Helper()
	s, err := story.New(context.Background(), story.Deps{JetStream: st.JetStream(), Layout: st.Layout(),
		Taxonomy: news.DefaultTaxonomy(), Log: history.New(history.Options{}), Logger: quiet()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	he := httperr.From(err)
	if he.Status != status || he.Code != code {
		t.Fatalf("error %v: status %d code %q, want %d %q", err, he.Status, he.Code, status, code)
	}
}

func gaza() story.Draft {
	return story.Draft{Slug: "war-on-gaza", Title: map[string]string{"en": "War on Gaza", "ar": "الحرب على غزة"}, Regions: []string{"palestine"}, Topics: []string{"politics"}}
}

// TestLifecycle: a story is created open, changed, closed (twice: the
// second changes nothing), and a closed one refuses changes and keeps its
// slug.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openStream(t), story.Options{})
	by := story.Change{By: "alice", Client: "192.0.2.1"}
	if s.Known("war-on-gaza") || s.Open("war-on-gaza") {
		t.Fatal("a story known before it was made")
	}
	st, err := s.Create(ctx, gaza(), by)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != story.StatusOpen || st.ClosedAt != nil || st.CreatedAt.IsZero() || !s.Open(st.Slug) || !s.Known(st.Slug) {
		t.Fatalf("created %+v, open %v", st, s.Open(st.Slug))
	}
	_, err = s.Create(ctx, gaza(), by)
	wantCode(t, err, http.StatusConflict, "story_exists")

	regions := []string{"mena", "palestine"}
	up, err := s.Update(ctx, st.Slug, story.Patch{Regions: &regions}, by)
	if err != nil || len(up.Regions) != 2 || up.Title["en"] != "War on Gaza" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if got, _ := s.Get(st.Slug); len(got.Regions) != 2 {
		t.Errorf("memory after update: %+v", got)
	}
	closed, err := s.Close(ctx, st.Slug, by)
	if err != nil || closed.Status != story.StatusClosed || closed.ClosedAt == nil {
		t.Fatalf("close: %+v, %v", closed, err)
	}
	if s.Open(st.Slug) || !s.Known(st.Slug) {
		t.Error("a closed story is open, or unknown")
	}
	again, err := s.Close(ctx, st.Slug, by)
	if err != nil || !again.ClosedAt.Equal(*closed.ClosedAt) || !again.UpdatedAt.Equal(closed.UpdatedAt) {
		t.Errorf("closing twice: %+v, %v; want unchanged %+v", again, err, closed)
	}
	_, err = s.Update(ctx, st.Slug, story.Patch{Regions: &regions}, by)
	wantCode(t, err, http.StatusConflict, "story_closed")
	_, err = s.Create(ctx, gaza(), by)
	wantCode(t, err, http.StatusConflict, "story_exists")
	_, err = s.Close(ctx, "no-such-story", by)
	wantCode(t, err, http.StatusNotFound, "not_found")

	if open, all := s.List(story.StatusOpen), s.List(""); len(open) != 0 || len(all) != 1 {
		t.Errorf("lists: open %v, all %v", open, all)
	}
}

// TestMaxOpen: past the bound, no story is made; closing one makes room.
func TestMaxOpen(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, openStream(t), story.Options{MaxOpen: 2})
	for _, slug := range []string{"a", "b"} {
		d := gaza()
		d.Slug = slug
		if _, err := s.Create(ctx, d, story.Change{}); err != nil {
			t.Fatal(err)
		}
	}
	d := gaza()
	d.Slug = "c"
	_, err := s.Create(ctx, d, story.Change{})
	wantCode(t, err, http.StatusConflict, "too_many_stories")
	if s.Known("c") {
		t.Fatal("a story over the bound was stored")
	}
	if _, err := s.Close(ctx, "a", story.Change{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, d, story.Change{}); err != nil {
		t.Fatalf("after closing one: %v", err)
	}
}

// TestTwoStores: two stores on one bucket (two instances) see each
// other's changes, and a slug made on one is refused on the other even
// before the other has seen it (the bucket's create decides).
func TestTwoStores(t *testing.T) {
	ctx := context.Background()
	st := openStream(t)
	a, b := newStore(t, st, story.Options{}), newStore(t, st, story.Options{})
	if _, err := a.Create(ctx, gaza(), story.Change{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the story", func() bool { return b.Open("war-on-gaza") })
	if _, err := b.Close(ctx, "war-on-gaza", story.Change{By: "ed"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a sees it closed", func() bool { return a.Known("war-on-gaza") && !a.Open("war-on-gaza") })

	// A store that has not loaded the bucket yet still cannot take a slug.
	c, err := story.New(ctx, story.Deps{JetStream: st.JetStream(), Layout: st.Layout(), Taxonomy: news.DefaultTaxonomy(),
		Log: history.New(history.Options{}), Logger: quiet()}, story.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(ctx, gaza(), story.Change{})
	wantCode(t, err, http.StatusConflict, "story_exists")
}

func TestValidation(t *testing.T) {
	s := newStore(t, openStream(t), story.Options{})
	for _, tt := range []struct {
		name        string
		edit        func(*story.Draft)
		code, field string
	}{
		{"no slug", func(d *story.Draft) { d.Slug = "" }, "invalid_slug", "slug"},
		{"slug with capitals", func(d *story.Draft) { d.Slug = "War" }, "invalid_slug", "slug"},
		{"no title", func(d *story.Draft) { d.Title = nil }, "missing_title", "title"},
		{"unknown title language", func(d *story.Draft) { d.Title = map[string]string{"fr": "Guerre"} }, "unknown_lang", "title"},
		{"blank title", func(d *story.Draft) { d.Title = map[string]string{"en": " "} }, "empty_title", "title.en"},
		{"unknown region", func(d *story.Draft) { d.Regions = []string{"atlantis"} }, "unknown_region", "regions"},
		{"unknown topic", func(d *story.Draft) { d.Topics = []string{"gossip"} }, "unknown_topic", "topics"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := gaza()
			tt.edit(&d)
			_, err := s.Create(context.Background(), d, story.Change{})
			he := httperr.From(err)
			if he.Status != 400 || he.Code != tt.code || he.Field != tt.field {
				t.Errorf("got %d %s field %q, want 400 %s field %q", he.Status, he.Code, he.Field, tt.code, tt.field)
			}
			if s.Known(d.Slug) {
				t.Error("stored anyway")
			}
		})
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("%s: not within %s", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
