package history_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
)

// clock is an injected Config.Now that only moves when the test says so.
type clock struct{ now time.Time }

func newClock() *clock                   { return &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

// newItem is the event publishing item id at seq, in the given regions.
func newItem(seq uint64, id string, regions ...string) news.Event {
	if len(regions) == 0 {
		regions = []string{"mena"}
	}
	return news.Event{Type: news.EventItem, Seq: seq, Item: news.Item{
		ID: id, Seq: seq, PublishedSeq: seq, Version: 1, Status: news.StatusLive,
		Text: id + " v1", Lang: "en", Regions: regions, Priority: news.PriorityBreaking,
	}}
}

// update is the event correcting prev at seq with a new text.
func update(seq uint64, prev news.Item, text string) news.Event {
	it := prev
	it.Seq, it.Version, it.Text = seq, prev.Version+1, text
	return news.Event{Type: news.EventUpdate, Seq: seq, Item: it}
}

// retract is the event retracting prev at seq.
func retract(seq uint64, prev news.Item) news.Event {
	it := prev
	it.Seq, it.Version, it.Status = seq, prev.Version+1, news.StatusRetracted
	return news.Event{Type: news.EventRetract, Seq: seq, Item: it}
}

// oldUpdate is an update at seq of an item first published at published,
// before the log began.
func oldUpdate(seq, published uint64, id string) news.Event {
	return news.Event{Type: news.EventUpdate, Seq: seq, Item: news.Item{
		ID: id, Seq: seq, PublishedSeq: published, Version: 2, Status: news.StatusLive,
		Text: id + " v2", Lang: "en", Regions: []string{"mena"}, Priority: news.PriorityBreaking,
	}}
}

func mustAppend(t *testing.T, l *history.Log, evs ...news.Event) {
	t.Helper()
	for _, ev := range evs {
		if e := l.Append(ev); e == nil {
			t.Fatalf("Append(seq %d) = nil", ev.Seq)
		}
	}
}

func seqs(entries []*history.Entry) []uint64 {
	out := []uint64{}
	for _, e := range entries {
		out = append(out, e.Event.Seq)
	}
	return out
}

func ids(items []news.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func entryIDs(entries []*history.Entry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Event.Item.ID)
	}
	return out
}

func TestAppendOrder(t *testing.T) {
	l := history.New(history.Options{})
	if h := l.Head(); h != 0 {
		t.Fatalf("empty log head = %d", h)
	}
	if e := l.Append(newItem(0, "zero")); e != nil {
		t.Errorf("Append(seq 0) on an empty log = %+v, want nil", e.Event)
	}
	for _, seq := range []uint64{1, 2, 5} {
		e := l.Append(newItem(seq, fmt.Sprint("a", seq)))
		if e == nil || e.Event.Seq != seq {
			t.Fatalf("Append(seq %d) = %v", seq, e)
		}
		if e.Prev != nil {
			t.Errorf("new item at seq %d has Prev %+v", seq, *e.Prev)
		}
	}
	tests := []struct {
		name string
		ev   news.Event
	}{
		{"same seq as head", newItem(5, "dup")},
		{"older seq", newItem(3, "late")},
		{"much older seq", newItem(1, "a1")},
		{"update of a known item with an old seq", update(4, news.Item{ID: "a1", Version: 1}, "late fix")},
	}
	for _, tt := range tests {
		if e := l.Append(tt.ev); e != nil {
			t.Errorf("%s: Append(seq %d) = %+v, want nil", tt.name, tt.ev.Seq, e.Event)
		}
	}
	if h := l.Head(); h != 5 {
		t.Errorf("head = %d, want 5", h)
	}
	entries, head, covered := l.Since(0)
	if got := seqs(entries); !slices.Equal(got, []uint64{1, 2, 5}) || head != 5 || !covered {
		t.Errorf("Since(0) = %v, %d, %v; want [1 2 5], 5, true", got, head, covered)
	}
	for _, id := range []string{"dup", "late"} {
		if _, ok := l.Item(id); ok {
			t.Errorf("an ignored event added item %q", id)
		}
	}
	if it, _ := l.Item("a1"); it.Text != "a1 v1" {
		t.Errorf("an ignored update changed a1 to %q", it.Text)
	}
}

func TestAppendPrev(t *testing.T) {
	l := history.New(history.Options{})
	a := newItem(1, "a")
	mustAppend(t, l, a, newItem(2, "b"))
	a2 := update(3, a.Item, "a corrected")
	e := l.Append(a2)
	if e.Prev == nil {
		t.Fatal("update has no Prev")
	}
	if e.Prev.Text != "a v1" || e.Prev.Seq != 1 || e.Prev.Version != 1 {
		t.Errorf("Prev = %+v, want version 1 at seq 1", *e.Prev)
	}
	a3 := retract(4, a2.Item)
	e = l.Append(a3)
	if e.Prev == nil || e.Prev.Text != "a corrected" || e.Prev.Seq != 3 || e.Prev.Status != news.StatusLive {
		t.Errorf("retraction Prev = %+v, want the corrected version at seq 3", e.Prev)
	}
	if e.Event.Item.Status != news.StatusRetracted {
		t.Errorf("entry item status = %q", e.Event.Item.Status)
	}
	// Prev is a copy: the entry of the earlier version is untouched.
	entries, _, _ := l.Since(2)
	if len(entries) != 2 || entries[0].Event.Item.Text != "a corrected" || entries[0].Event.Item.Status != news.StatusLive {
		t.Errorf("Since(2) = %v", seqs(entries))
	}
	it, ok := l.Item("a")
	if !ok || it.Seq != 4 || it.Status != news.StatusRetracted || it.Version != 3 {
		t.Errorf("Item(a) = %+v, %v; want version 3 retracted at seq 4", it, ok)
	}
	if _, ok := l.Item("nope"); ok {
		t.Error("Item(nope) found")
	}
}

func TestSince(t *testing.T) {
	full := history.New(history.Options{MaxEvents: 10})
	trimmed := history.New(history.Options{MaxEvents: 3})
	for seq := uint64(1); seq <= 5; seq++ {
		mustAppend(t, full, newItem(seq, fmt.Sprint("i", seq)))
		mustAppend(t, trimmed, newItem(seq, fmt.Sprint("i", seq)))
	}
	empty := history.New(history.Options{})
	// A log that began following a stream at seq 10.
	late := history.New(history.Options{})
	mustAppend(t, late, newItem(10, "x"), newItem(11, "y"))

	tests := []struct {
		name        string
		l           *history.Log
		seq         uint64
		want        []uint64
		wantHead    uint64
		wantCovered bool
	}{
		{"full from 0", full, 0, []uint64{1, 2, 3, 4, 5}, 5, true},
		{"full from 1", full, 1, []uint64{2, 3, 4, 5}, 5, true},
		{"full from 3", full, 3, []uint64{4, 5}, 5, true},
		{"full from 4", full, 4, []uint64{5}, 5, true},
		{"full at head", full, 5, []uint64{}, 5, true},
		{"full beyond head", full, 6, []uint64{}, 5, false},
		{"full far beyond head", full, 1 << 40, []uint64{}, 5, false},
		{"trimmed from 0", trimmed, 0, []uint64{}, 5, false},
		{"trimmed from 1: event 2 was dropped", trimmed, 1, []uint64{}, 5, false},
		{"trimmed from 2: just reaches", trimmed, 2, []uint64{3, 4, 5}, 5, true},
		{"trimmed from 4", trimmed, 4, []uint64{5}, 5, true},
		{"trimmed at head", trimmed, 5, []uint64{}, 5, true},
		{"trimmed beyond head", trimmed, 7, []uint64{}, 5, false},
		{"empty log at head", empty, 0, []uint64{}, 0, true},
		{"empty log beyond head", empty, 1, []uint64{}, 0, false},
		{"late log from 0", late, 0, []uint64{}, 11, false},
		{"late log from 8", late, 8, []uint64{}, 11, false},
		{"late log from 9", late, 9, []uint64{10, 11}, 11, true},
		{"late log from 10", late, 10, []uint64{11}, 11, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, head, covered := tt.l.Since(tt.seq)
			if got := seqs(entries); !slices.Equal(got, tt.want) || head != tt.wantHead || covered != tt.wantCovered {
				t.Errorf("Since(%d) = %v, %d, %v; want %v, %d, %v", tt.seq, got, head, covered, tt.want, tt.wantHead, tt.wantCovered)
			}
		})
	}
}

// Since returns a copy: appending afterwards does not change what a caller
// already holds.
func TestSinceReturnsCopy(t *testing.T) {
	l := history.New(history.Options{MaxEvents: 2})
	mustAppend(t, l, newItem(1, "a"), newItem(2, "b"))
	entries, _, _ := l.Since(0)
	mustAppend(t, l, newItem(3, "c"), newItem(4, "d"))
	if got := seqs(entries); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("held entries changed to %v", got)
	}
}

// latestLog holds a, b, c, d, e with d retracted and a corrected:
//
//	1 a (mena, politics)   2 b (europe)   3 c (mena)   4 d (mena)
//	5 d retracted           6 a corrected  7 e (asia, politics, ar)
func latestLog(t *testing.T) *history.Log {
	t.Helper()
	l := history.New(history.Options{})
	a := newItem(1, "a", "mena")
	a.Item.Topics = []string{"politics"}
	d := newItem(4, "d", "mena")
	e := newItem(7, "e", "asia")
	e.Item.Topics, e.Item.Lang = []string{"politics"}, "ar"
	mustAppend(t, l, a, newItem(2, "b", "europe"), newItem(3, "c", "mena"), d,
		retract(5, d.Item), update(6, a.Item, "a corrected"), e)
	return l
}

func TestLatest(t *testing.T) {
	l := latestLog(t)
	tx := news.DefaultTaxonomy()
	tests := []struct {
		name                   string
		regions, topics, langs string
		n                      int
		want                   []string
	}{
		{"all", "", "", "", 10, []string{"a", "b", "c", "e"}},
		{"newest two, oldest first", "", "", "", 2, []string{"c", "e"}},
		{"newest one", "", "", "", 1, []string{"e"}},
		{"none asked", "", "", "", 0, []string{}},
		{"mena without the retracted d", "mena", "", "", 10, []string{"a", "c"}},
		{"newest mena", "mena", "", "", 1, []string{"c"}},
		{"politics", "", "politics", "", 10, []string{"a", "e"}},
		{"arabic", "", "", "ar", 10, []string{"e"}},
		{"nothing matches", "africa", "", "", 10, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tx.ParseFilter(tt.regions, tt.topics, tt.langs)
			if err != nil {
				t.Fatal(err)
			}
			entries, head := l.Latest(f, tt.n)
			if got := entryIDs(entries); !slices.Equal(got, tt.want) || head != 7 {
				t.Errorf("Latest(%d) = %v at head %d, want %v at head 7", tt.n, got, head, tt.want)
			}
			for _, e := range entries {
				if e.Event.Item.Status != news.StatusLive {
					t.Errorf("Latest returned %s, which is %s", e.Event.Item.ID, e.Event.Item.Status)
				}
			}
		})
	}
	// The entry of a corrected item is its current version.
	entries, _ := l.Latest(news.Filter{}, 10)
	if a := entries[0]; a.Event.Seq != 6 || a.Event.Item.Text != "a corrected" || a.Prev == nil || a.Prev.Seq != 1 {
		t.Errorf("Latest entry of a: seq %d text %q, want the correction at seq 6", a.Event.Seq, a.Event.Item.Text)
	}
}

func TestList(t *testing.T) {
	l := history.New(history.Options{})
	for seq := uint64(1); seq <= 10; seq++ {
		region := "mena"
		if seq%2 == 0 {
			region = "europe"
		}
		mustAppend(t, l, newItem(seq, fmt.Sprint("i", seq), region))
	}
	i3, _ := l.Item("i3")
	i4, _ := l.Item("i4")
	mustAppend(t, l, retract(11, i4), update(12, i3, "i3 corrected"))

	tx := news.DefaultTaxonomy()
	mena, err := tx.ParseFilter("mena", "", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		f      news.Filter
		before uint64
		limit  int
		want   []string
	}{
		{"newest three", news.Filter{}, 0, 3, []string{"i10", "i9", "i8"}},
		{"before 8", news.Filter{}, 8, 3, []string{"i7", "i6", "i5"}},
		{"before 5 skips the retracted i4", news.Filter{}, 5, 3, []string{"i3", "i2", "i1"}},
		{"before 2", news.Filter{}, 2, 10, []string{"i1"}},
		{"before 1", news.Filter{}, 1, 10, []string{}},
		{"limit 0", news.Filter{}, 0, 0, []string{}},
		{"all", news.Filter{}, 0, 100, []string{"i10", "i9", "i8", "i7", "i6", "i5", "i3", "i2", "i1"}},
		{"before a seq beyond the head", news.Filter{}, 1000, 2, []string{"i10", "i9"}},
		{"mena", mena, 0, 100, []string{"i9", "i7", "i5", "i3", "i1"}},
		{"mena before 7", mena, 7, 2, []string{"i5", "i3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.List(tt.f, tt.before, tt.limit)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("List(before %d, limit %d) = %v, want %v", tt.before, tt.limit, ids(got), tt.want)
			}
		})
	}
	// The corrected item is listed in its place of first publication, in
	// its current version.
	got := l.List(news.Filter{}, 4, 1)
	if len(got) != 1 || got[0].ID != "i3" || got[0].Text != "i3 corrected" || got[0].Seq != 12 || got[0].PublishedSeq != 3 {
		t.Errorf("List(before 4, limit 1) = %+v, want i3 corrected at seq 12", got)
	}

	// Paging with before = the last PublishedSeq visits every live item once.
	var pages []string
	var before uint64
	for range 10 {
		page := l.List(news.Filter{}, before, 2)
		if len(page) == 0 {
			break
		}
		pages = append(pages, ids(page)...)
		before = page[len(page)-1].PublishedSeq
	}
	if want := []string{"i10", "i9", "i8", "i7", "i6", "i5", "i3", "i2", "i1"}; !slices.Equal(pages, want) {
		t.Errorf("paging = %v, want %v", pages, want)
	}
}

func TestTrimMaxEvents(t *testing.T) {
	l := history.New(history.Options{MaxEvents: 3})
	for seq := uint64(1); seq <= 5; seq++ {
		mustAppend(t, l, newItem(seq, fmt.Sprint("i", seq)))
	}
	for id, want := range map[string]bool{"i1": false, "i2": false, "i3": true, "i4": true, "i5": true} {
		if _, ok := l.Item(id); ok != want {
			t.Errorf("Item(%s) found = %v, want %v", id, ok, want)
		}
	}
	if got := ids(l.List(news.Filter{}, 0, 10)); !slices.Equal(got, []string{"i5", "i4", "i3"}) {
		t.Errorf("List = %v, want [i5 i4 i3]", got)
	}
	// Correcting i3 keeps it although its first version is dropped next.
	i3, _ := l.Item("i3")
	mustAppend(t, l, update(6, i3, "i3 corrected"))
	entries, _, _ := l.Since(3)
	if got := seqs(entries); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Errorf("Since(3) = %v, want [4 5 6]", got)
	}
	if it, ok := l.Item("i3"); !ok || it.Text != "i3 corrected" {
		t.Errorf("Item(i3) = %q, %v; want the correction", it.Text, ok)
	}
	if got := ids(l.List(news.Filter{}, 0, 10)); !slices.Equal(got, []string{"i5", "i4", "i3"}) {
		t.Errorf("List after the correction = %v, want [i5 i4 i3]", got)
	}
	// Two more events drop i4 and i5 but not the corrected i3.
	mustAppend(t, l, newItem(7, "i7"), newItem(8, "i8"))
	if got := ids(l.List(news.Filter{}, 0, 10)); !slices.Equal(got, []string{"i8", "i7", "i3"}) {
		t.Errorf("List = %v, want [i8 i7 i3]", got)
	}
	if _, _, covered := l.Since(4); covered {
		t.Error("Since(4) covered after event 5 was dropped")
	}
}

// Many more events than MaxEvents: the log keeps exactly the newest ones,
// including after it compacts its storage.
func TestTrimMaxEventsLong(t *testing.T) {
	const max, total = 10, 5000
	l := history.New(history.Options{MaxEvents: max})
	for seq := uint64(1); seq <= total; seq++ {
		mustAppend(t, l, newItem(seq, fmt.Sprint("i", seq)))
		if seq%997 == 0 || seq == total {
			entries, head, covered := l.Since(seq - max)
			if len(entries) != max || head != seq || !covered || entries[0].Event.Seq != seq-max+1 {
				t.Fatalf("after %d: Since(%d) = %d entries from %v, head %d, covered %v", seq, seq-max, len(entries), seqs(entries[:1]), head, covered)
			}
			if _, _, covered := l.Since(seq - max - 1); covered {
				t.Fatalf("after %d: Since(%d) covered", seq, seq-max-1)
			}
		}
	}
	if got := len(l.List(news.Filter{}, 0, total)); got != max {
		t.Errorf("List has %d items, want %d", got, max)
	}
}

func TestTrimMaxAge(t *testing.T) {
	c := newClock()
	l := history.New(history.Options{MaxAge: time.Hour, Now: c.Now})
	mustAppend(t, l, newItem(1, "a"))
	c.advance(30 * time.Minute)
	mustAppend(t, l, newItem(2, "b"))
	c.advance(30 * time.Minute) // a is exactly one hour old: kept
	mustAppend(t, l, newItem(3, "c"))
	if _, ok := l.Item("a"); !ok {
		t.Fatal("an event exactly MaxAge old was dropped")
	}
	c.advance(time.Nanosecond) // a is older than an hour: dropped at the next Append
	mustAppend(t, l, newItem(4, "d"))
	if _, ok := l.Item("a"); ok {
		t.Error("Item(a) still there after MaxAge")
	}
	if got := ids(l.List(news.Filter{}, 0, 10)); !slices.Equal(got, []string{"d", "c", "b"}) {
		t.Errorf("List = %v, want [d c b]", got)
	}
	if _, _, covered := l.Since(0); covered {
		t.Error("Since(0) covered after event 1 was dropped")
	}
	if entries, _, covered := l.Since(1); !covered || !slices.Equal(seqs(entries), []uint64{2, 3, 4}) {
		t.Errorf("Since(1) = %v, %v; want [2 3 4], true", seqs(entries), covered)
	}
	// Long silence: every old event goes, the new one stays.
	c.advance(24 * time.Hour)
	mustAppend(t, l, newItem(5, "e"))
	if entries, head, covered := l.Since(4); !covered || head != 5 || !slices.Equal(seqs(entries), []uint64{5}) {
		t.Errorf("Since(4) = %v, %d, %v; want [5], 5, true", seqs(entries), head, covered)
	}
	if got := ids(l.List(news.Filter{}, 0, 10)); !slices.Equal(got, []string{"e"}) {
		t.Errorf("List = %v, want [e]", got)
	}
}

func TestDefaultRetention(t *testing.T) {
	c := newClock()
	l := history.New(history.Options{Now: c.Now})
	mustAppend(t, l, newItem(1, "a"))
	c.advance(30 * 24 * time.Hour)
	mustAppend(t, l, newItem(2, "b"))
	if _, ok := l.Item("a"); !ok {
		t.Fatal("default MaxAge dropped an event 30 days old")
	}
	c.advance(time.Second)
	mustAppend(t, l, newItem(3, "c"))
	if _, ok := l.Item("a"); ok {
		t.Error("default MaxAge kept an event older than 30 days")
	}
}

// An update of an item first published before the log began is placed in
// the timeline by its publication seq, and listed once.
func TestUpdateOfItemOlderThanLog(t *testing.T) {
	l := history.New(history.Options{})
	mustAppend(t, l,
		newItem(10, "b"),
		oldUpdate(11, 5, "a"),  // published before b
		newItem(15, "c"),       //
		oldUpdate(16, 12, "x"), // published between b and c
		oldUpdate(17, 12, "x"), // a second correction of x: already placed
	)
	if got, want := ids(l.List(news.Filter{}, 0, 10)), []string{"c", "x", "b", "a"}; !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if got, want := ids(l.List(news.Filter{}, 10, 10)), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("List(before 10) = %v, want %v", got, want)
	}
	e := l.Append(oldUpdate(18, 5, "a"))
	if e.Prev == nil || e.Prev.Seq != 11 {
		t.Errorf("second correction of a: Prev = %v, want the version at seq 11", e.Prev)
	}
}

// An item whose current version was trimmed and which is then corrected
// comes back once, in its place, not twice.
func TestCorrectionOfTrimmedItemListedOnce(t *testing.T) {
	l := history.New(history.Options{MaxEvents: 3})
	mustAppend(t, l, newItem(1, "a"), newItem(2, "b"), newItem(3, "c"))
	a, _ := l.Item("a")
	mustAppend(t, l, update(4, a, "a corrected")) // drops event 1 (a v1)
	mustAppend(t, l, newItem(5, "d"))             // drops event 2: b is gone, a still heads the timeline
	if _, ok := l.Item("b"); ok {
		t.Fatal("b should have been dropped")
	}
	if got, want := ids(l.List(news.Filter{}, 0, 10)), []string{"d", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	// A correction of b arrives (and drops event 3, c): b is back, once,
	// in its place after a.
	mustAppend(t, l, oldUpdate(6, 2, "b"))
	if got, want := ids(l.List(news.Filter{}, 0, 10)), []string{"d", "b", "a"}; !slices.Equal(got, want) {
		t.Errorf("List after correcting b = %v, want %v", got, want)
	}
	entries, _ := l.Latest(news.Filter{}, 10)
	if got, want := entryIDs(entries), []string{"a", "b", "d"}; !slices.Equal(got, want) {
		t.Errorf("Latest after correcting b = %v, want %v", got, want)
	}
}

func TestWaitFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := history.New(history.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		wait := func(seq uint64) <-chan error {
			done := make(chan error, 1)
			go func() { done <- l.WaitFor(ctx, seq) }()
			return done
		}
		pending := func(name string, done <-chan error) {
			t.Helper()
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("%s: WaitFor returned early: %v", name, err)
			default:
			}
		}
		returned := func(name string, done <-chan error, want error) {
			t.Helper()
			synctest.Wait()
			select {
			case err := <-done:
				if !errors.Is(err, want) || (want == nil && err != nil) {
					t.Fatalf("%s: WaitFor = %v, want %v", name, err, want)
				}
			default:
				t.Fatalf("%s: WaitFor still blocked", name)
			}
		}

		returned("seq 0 on an empty log", wait(0), nil)
		w2, w4 := wait(2), wait(4)
		pending("w2 before any append", w2)
		mustAppend(t, l, newItem(1, "a"))
		pending("w2 after seq 1", w2)
		pending("w4 after seq 1", w4)
		mustAppend(t, l, newItem(2, "b"))
		returned("w2 after seq 2", w2, nil)
		pending("w4 after seq 2", w4)
		mustAppend(t, l, newItem(5, "c")) // jumps past 4
		returned("w4 after seq 5", w4, nil)
		returned("seq already reached", wait(3), nil)

		// An ignored (old) Append does not wake anyone wrongly.
		w6 := wait(6)
		l.Append(newItem(4, "old"))
		pending("w6 after an ignored append", w6)
		cancel()
		returned("w6 after cancel", w6, context.Canceled)

		// With the context ended, a seq already reached still succeeds.
		returned("reached seq with a cancelled context", wait(5), nil)
		returned("unreached seq with a cancelled context", wait(9), context.Canceled)
	})
}

func TestWaitForDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := history.New(history.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.WaitFor(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitFor = %v, want DeadlineExceeded", err)
		}
	})
}

// TestMemo: calls one after another build once per key and get the stored
// value; Memo may be called from inside build; entries do not share memos.
func TestMemo(t *testing.T) {
	l := history.New(history.Options{})
	e := l.Append(newItem(1, "a"))
	builds := map[int]int{}
	build := func(key int) func() []byte {
		return func() []byte {
			builds[key]++
			return []byte(fmt.Sprintf("frame %d of %s", key, e.Event.Item.ID))
		}
	}
	first := e.Memo(0, build(0))
	for range 3 {
		if b := e.Memo(0, build(0)); &b[0] != &first[0] {
			t.Errorf("Memo(0) = %q, not the stored slice", b)
		}
	}
	if string(first) != "frame 0 of a" || builds[0] != 1 {
		t.Errorf("Memo(0) = %q after %d builds, want %q after one", first, builds[0], "frame 0 of a")
	}
	// build may call Memo for another key: the nested value is stored too.
	outer := e.Memo(1, func() []byte {
		inner := e.Memo(2, build(2))
		return append([]byte("around "), inner...)
	})
	if string(outer) != "around frame 2 of a" {
		t.Errorf("Memo(1) = %q", outer)
	}
	if b := e.Memo(2, func() []byte { t.Error("key 2 built again"); return nil }); string(b) != "frame 2 of a" {
		t.Errorf("Memo(2) = %q", b)
	}
	// Entries do not share memos.
	e2 := l.Append(newItem(2, "b"))
	if b := e2.Memo(0, func() []byte { return []byte("b frame") }); string(b) != "b frame" {
		t.Errorf("second entry Memo(0) = %q, want its own value", b)
	}
}

// TestMemoRace: two callers that both find no value build both (the
// contract allows it), and both get the value stored first. The race is
// forced, not hoped for: each build waits until the other has started.
func TestMemoRace(t *testing.T) {
	l := history.New(history.Options{})
	e := l.Append(newItem(1, "a"))
	startedA, startedB := make(chan struct{}), make(chan struct{})
	releaseA, releaseB := make(chan struct{}), make(chan struct{})
	gotA, gotB := make(chan []byte, 1), make(chan []byte, 1)
	go func() {
		gotA <- e.Memo(0, func() []byte { close(startedA); <-releaseA; return []byte("from A") })
	}()
	go func() {
		gotB <- e.Memo(0, func() []byte { close(startedB); <-releaseB; return []byte("from B") })
	}()
	<-startedA
	<-startedB // both builds are running: neither found a value
	close(releaseA)
	a := <-gotA // A stored its value first
	close(releaseB)
	b := <-gotB
	if string(a) != "from A" || string(b) != "from A" || &a[0] != &b[0] {
		t.Errorf("A got %q, B got %q; want both the first stored value, %q", a, b, "from A")
	}
	if c := e.Memo(0, func() []byte { t.Error("built after a value was stored"); return nil }); string(c) != "from A" {
		t.Errorf("later Memo(0) = %q, want %q", c, "from A")
	}
}

// TestAlertEntries: the alert events sent at or after a time, oldest
// first, as their entries (the item as alerted); a ticker item, a
// correction of an alert and alerts before the time are left out.
func TestAlertEntries(t *testing.T) {
	c := newClock()
	l := history.New(history.Options{Now: c.Now})
	base := c.now
	alert := func(seq uint64, id string, at time.Time) news.Event {
		ev := newItem(seq, id)
		ev.Alert, ev.Item.Alert, ev.Item.AlertedAt, ev.Item.UpdatedAt = true, true, &at, at
		return ev
	}
	l.Append(alert(1, "old", base.Add(-2*time.Hour)))
	l.Append(alert(2, "a", base.Add(-30*time.Minute)))
	ticker := newItem(3, "ticker")
	ticker.Item.UpdatedAt = base.Add(-20 * time.Minute)
	l.Append(ticker)
	a := alert(4, "b", base.Add(-10*time.Minute))
	l.Append(a)
	fix := update(5, a.Item, "b corrected")
	fix.Item.UpdatedAt = base
	l.Append(fix)
	got := l.AlertEntries(base.Add(-time.Hour))
	var ids []string
	for _, e := range got {
		ids = append(ids, fmt.Sprintf("%s@%d:%s", e.Event.Item.ID, e.Event.Seq, e.Event.Item.Text))
	}
	if want := []string{"a@2:a v1", "b@4:b v1"}; !slices.Equal(ids, want) {
		t.Fatalf("AlertEntries = %v, want %v", ids, want)
	}
	if got := l.AlertEntries(base.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("AlertEntries after the last alert = %d entries", len(got))
	}
}
