package tail_test

import (
	"errors"
	"strings"
	"testing"

	"newsflash/internal/news"
	"newsflash/internal/tail"
)

// TestTailPrintsEvents: against a real server, a post, its correction and
// its retraction each print one line, marked; a filter keeps other regions
// out.
func TestTailPrintsEvents(t *testing.T) {
	in := startServer(t, t.TempDir())
	all := follow(t, tail.Options{Server: in.base()})
	europe := follow(t, tail.Options{Server: in.base() + "/", Regions: "europe"})
	all.waitStatus("following")
	europe.waitStatus("following")

	it := in.post("Ceasefire announced", "mena")
	all.want(news.EventItem, it)
	fixed := in.do("PATCH", "/api/v1/items/"+it.ID, `{"text":"Ceasefire announced, officials say","priority":"urgent"}`, 200)
	all.want(news.EventUpdate, fixed)
	gone := in.do("DELETE", "/api/v1/items/"+it.ID, "", 200)
	all.want(news.EventRetract, gone.Public()) // the public feed has no text of a retracted item

	eu := in.post("Election called", "europe")
	all.want(news.EventItem, eu)
	europe.want(news.EventItem, eu) // and nothing of the mena item before it
	all.none()

	lines := strings.Split(strings.TrimSuffix(all.text.String(), "\n"), "\n")
	want := []string{
		"  breaking  " + it.ID + "  Ceasefire announced",
		"  urgent    " + it.ID + "  [update] Ceasefire announced, officials say",
		"  urgent    " + it.ID + "  [retract]",
		"  breaking  " + eu.ID + "  Election called",
	}
	if len(lines) != len(want) {
		t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(want), all.text.String())
	}
	for i, w := range want {
		at := it.UpdatedAt.UTC().Format("2006-01-02 15:04:05")
		if i == 3 {
			at = eu.UpdatedAt.UTC().Format("2006-01-02 15:04:05")
		}
		if i == 0 || i == 3 {
			if !strings.HasPrefix(lines[i], at) {
				t.Errorf("line %d = %q, want it to start with the item's time %s", i, lines[i], at)
			}
		}
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q, want it to end %q", i, lines[i], w)
		}
	}
}

// TestTailBackfill: --backfill prints the newest items first, oldest
// first, then what follows.
func TestTailBackfill(t *testing.T) {
	in := startServer(t, t.TempDir())
	in.post("one", "mena")
	b, c := in.post("two", "mena"), in.post("three", "mena")
	f := follow(t, tail.Options{Server: in.base(), Backfill: 2})
	for _, want := range []string{b.ID, c.ID} {
		if ev := f.next(); !ev.Snapshot || ev.Item.ID != want {
			t.Fatalf("backfill printed %s (snapshot %v), want %s", ev.Item.ID, ev.Snapshot, want)
		}
	}
	d := in.post("four", "mena")
	f.want(news.EventItem, d)
	f.none()
}

// TestTailResumesAcrossRestart: the server stops and starts again on the
// same data (on another port, behind a proxy with a stable address);
// events posted while tail was away are printed once each, in order, with
// nothing missed or repeated; then a dropped connection is resumed too.
func TestTailResumesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, dir)
	p := newProxy(t)
	p.set(first.addr)
	f := follow(t, tail.Options{Server: p.base()})
	f.waitStatus("following")
	a := first.post("before the restart", "mena")
	f.want(news.EventItem, a)

	p.set("") // tail is refused until the new server is in place
	first.stop()
	second := startServer(t, dir)
	b := second.post("while away", "mena")
	a2 := second.do("PATCH", "/api/v1/items/"+a.ID, `{"text":"before the restart, corrected"}`, 200)
	c := second.post("while away, again", "europe")
	p.set(second.addr)
	f.waitStatus("resumed after seq")
	f.want(news.EventItem, b)
	f.want(news.EventUpdate, a2)
	f.want(news.EventItem, c)

	// A connection cut in the middle: resumed, nothing doubled.
	p.set(second.addr)
	f.waitStatus("resumed after seq")
	d := second.post("after the cut", "mena")
	f.want(news.EventItem, d)
	f.none()
}

// TestTailRefused: a filter the server rejects ends Run with the server's
// error instead of retrying.
func TestTailRefused(t *testing.T) {
	in := startServer(t, t.TempDir())
	err := tail.Run(t.Context(), tail.Options{Server: in.base(), Regions: "atlantis"}, func(tail.Event) error { return nil })
	var e *tail.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "unknown_region" {
		t.Fatalf("Run = %v, want a 400 unknown_region", err)
	}
}
