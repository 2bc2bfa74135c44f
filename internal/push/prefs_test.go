package push

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

// testClock is a clock tests set.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// storyStates is a news.Stories for tests: slug → open.
type storyStates map[string]bool

func (s storyStates) Open(slug string) bool  { return s[slug] }
func (s storyStates) Known(slug string) bool { _, ok := s[slug]; return ok }

// alertAt appends a new item posted with alert at at.
func (e *testEnv) alertAt(at time.Time, priority, story string, regions ...string) *history.Entry {
	seq := e.log.Head() + 1
	it := news.Item{ID: news.NewID(), Seq: seq, PublishedSeq: seq, Version: 1, Status: news.StatusLive, Text: "alert " + priority,
		Lang: "en", Regions: regions, Priority: priority, Alert: true, AlertedAt: &at, PublishedAt: at, UpdatedAt: at, Story: story}
	return e.log.Append(news.Event{Type: news.EventItem, Seq: seq, Alert: true, Item: it})
}

// readers are named sink subscriptions of a testEnv.
type readers struct {
	env  *testEnv
	subs map[string]pushsink.Subscription
	seen map[string]int // messages counted so far
}

func (e *testEnv) readers(tb testing.TB, specs map[string]Subscription) *readers {
	tb.Helper()
	r := &readers{env: e, subs: map[string]pushsink.Subscription{}, seen: map[string]int{}}
	for name, spec := range specs {
		ps, err := e.sink.Subscribe(e.url)
		if err != nil {
			tb.Fatal(err)
		}
		spec.ID, spec.Endpoint, spec.P256dh, spec.Auth = IDFor(ps.Endpoint), ps.Endpoint, ps.Keys.P256dh, ps.Keys.Auth
		e.store(tb, spec)
		r.subs[name] = ps
	}
	return r
}

// news returns who got messages since the last call, and of what type.
func (r *readers) news(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for name, ps := range r.subs {
		msgs := r.env.sink.Messages(ps.ID())
		for _, m := range msgs[r.seen[name]:] {
			var p payload
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				tb.Fatal(err)
			}
			out[name] += p.Type
		}
		r.seen[name] = len(msgs)
	}
	return out
}

// funnelOf sums the web counts of an alert's jobs.
func funnelOf(progs []progress) (targeted int, skipped map[string]int) {
	skipped = map[string]int{}
	for _, p := range progs {
		if c := p.Platforms[PlatformWeb]; c != nil {
			targeted += c.Targeted
			for k, n := range c.Skipped {
				skipped[k] += n
			}
		}
	}
	return targeted, skipped
}

// TestPrefsMatrix: priority × quiet hours (across midnight, in a zone
// whose clocks change that weekend) × cap × story follow, alert by alert,
// with who got it and what was skipped, by reason; then corrections and
// retractions reach exactly those that got their alert.
func TestPrefsMatrix(t *testing.T) {
	var clock testClock
	env := newTestEnv(t, 3, pushsink.Options{Now: clock.Now})
	env.s.cfg.Now = clock.Now
	env.log = history.New(history.Options{Now: clock.Now})
	env.s.cfg.Log = env.log
	env.s.cfg.Stories = storyStates{"gaza": true, "ended": false}
	quiet := &QuietHours{From: "22:00", To: "07:00", TZ: "America/New_York"}
	europe := FilterJSON{Regions: []string{"europe"}}
	r := env.readers(t, map[string]Subscription{
		"all":      {},
		"urgent":   {Prefs: Prefs{MinPriority: news.PriorityUrgent}},
		"quiet":    {Prefs: Prefs{QuietHours: quiet}},
		"cap2":     {Prefs: Prefs{MaxPerHour: 2}},
		"follower": {Filter: europe, Prefs: Prefs{Stories: []string{"ended", "gaza"}}},
		"europe":   {Filter: europe},
	})
	// America/New_York moves to daylight time at 2026-03-08 02:00 local
	// (07:00 UTC): 11:30 UTC is 06:30 (quiet) the day before, 07:30 (not
	// quiet) the day after.
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
	type step struct {
		name     string
		at       time.Time
		priority string
		story    string
		got      []string       // who gets it
		targeted int            // of the 6 readers
		skipped  map[string]int // by reason
	}
	steps := []step{
		{"06:30 EST: quiet", day(7, 11, 30), news.PriorityBreaking, "",
			[]string{"all", "cap2"}, 4, map[string]int{SkipPriority: 1, SkipQuietHours: 1}},
		{"11:00 EST breaking", day(7, 16, 0), news.PriorityBreaking, "",
			[]string{"all", "quiet", "cap2"}, 4, map[string]int{SkipPriority: 1}},
		{"urgent in a followed story", day(7, 16, 10), news.PriorityUrgent, "gaza",
			[]string{"all", "urgent", "quiet", "cap2", "follower"}, 5, map[string]int{}},
		{"breaking in a followed story, cap2 full", day(7, 16, 20), news.PriorityBreaking, "gaza",
			[]string{"all", "quiet", "follower"}, 5, map[string]int{SkipPriority: 1, SkipCap: 1}},
		{"flash passes the cap", day(7, 16, 30), news.PriorityFlash, "",
			[]string{"all", "urgent", "quiet", "cap2"}, 4, map[string]int{}},
		{"an hour after the second: one sent in the hour", day(7, 17, 10), news.PriorityBreaking, "",
			[]string{"all", "quiet", "cap2"}, 4, map[string]int{SkipPriority: 1}},
		{"cap2 full again (flash counts)", day(7, 17, 15), news.PriorityUrgent, "",
			[]string{"all", "urgent", "quiet"}, 4, map[string]int{SkipCap: 1}},
		{"a closed story is not followed", day(7, 18, 30), news.PriorityFlash, "ended",
			[]string{"all", "urgent", "quiet", "cap2"}, 4, map[string]int{}},
		{"01:30 EST across midnight: quiet", day(8, 6, 30), news.PriorityBreaking, "",
			[]string{"all", "cap2"}, 4, map[string]int{SkipPriority: 1, SkipQuietHours: 1}},
		{"flash in the quiet hours", day(8, 6, 35), news.PriorityFlash, "",
			[]string{"all", "urgent", "quiet", "cap2"}, 4, map[string]int{}},
		{"07:30 EDT: not quiet after the change", day(8, 11, 30), news.PriorityUrgent, "",
			[]string{"all", "urgent", "quiet", "cap2"}, 4, map[string]int{}},
	}
	entries := map[string]*history.Entry{}
	for _, st := range steps {
		clock.Set(st.at)
		e := env.alertAt(st.at, st.priority, st.story, "mena")
		entries[st.name] = e
		targeted, skipped := funnelOf(env.deliverAll(t, e))
		got := slices.Sorted(maps.Keys(r.news(t)))
		want := slices.Clone(st.got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: sent to %v, want %v", st.name, got, want)
		}
		for k, v := range skipped {
			if v == 0 {
				delete(skipped, k)
			}
		}
		if targeted != st.targeted || !maps.Equal(skipped, st.skipped) {
			t.Errorf("%s: targeted %d skipped %v, want %d %v", st.name, targeted, skipped, st.targeted, st.skipped)
		}
	}
	// Corrections and retractions reach exactly those that got the alert;
	// of an alert older than the lookback, those the filter says.
	clock.Set(day(8, 12, 0))
	for _, tc := range []struct {
		alert, typ string
		got        map[string]string
	}{
		{"breaking in a followed story, cap2 full", news.EventUpdate,
			map[string]string{"all": "update", "quiet": "update", "follower": "update"}},
		{"cap2 full again (flash counts)", news.EventRetract,
			map[string]string{"all": "retract", "urgent": "retract", "quiet": "retract"}},
		{"01:30 EST across midnight: quiet", news.EventRetract,
			map[string]string{"all": "retract", "cap2": "retract"}},
		{"06:30 EST: quiet", news.EventRetract, // 24.5 hours before: as the filter says
			map[string]string{"all": "retract", "urgent": "retract", "quiet": "retract", "cap2": "retract"}},
	} {
		prev := entries[tc.alert]
		e := env.next(prev, tc.typ, func(it *news.Item) {
			it.UpdatedAt = clock.Now()
			it.Text += ", corrected"
			if tc.typ == news.EventRetract {
				it.Status = news.StatusRetracted
			}
		})
		env.deliverAll(t, e)
		if got := r.news(t); !maps.Equal(got, tc.got) {
			t.Errorf("%s of %q: got %v, want %v", tc.typ, tc.alert, got, tc.got)
		}
	}
	// Closing a story ends its alerts, not the retraction of one sent.
	env.s.cfg.Stories = storyStates{"gaza": false, "ended": false}
	e := env.next(entries["urgent in a followed story"], news.EventRetract, func(it *news.Item) {
		it.UpdatedAt, it.Status = clock.Now(), news.StatusRetracted
	})
	env.deliverAll(t, e)
	want := map[string]string{"all": "retract", "urgent": "retract", "quiet": "retract", "cap2": "retract", "follower": "retract"}
	if got := r.news(t); !maps.Equal(got, want) {
		t.Errorf("retraction after the story closed: got %v, want %v", got, want)
	}
	e = env.alertAt(clock.Now(), news.PriorityFlash, "gaza", "mena")
	env.deliverAll(t, e)
	if got := r.news(t); got["follower"] != "" {
		t.Errorf("an alert of a closed story reached its follower: %v", got)
	}
}

// TestPrefsChangeTakesEffectForTheNextAlert: a changed min_priority holds
// back the next alert, and a changed filter or prefs moves PrefsAt, from
// which the cap counts; posting the same again does not.
func TestPrefsChangeTakesEffectForTheNextAlert(t *testing.T) {
	env := newTestEnv(t, 2, pushsink.Options{})
	r := env.readers(t, map[string]Subscription{"r": {Prefs: Prefs{MaxPerHour: 1}}})
	now := time.Now().UTC()
	env.deliverAll(t, env.alertAt(now.Add(-3*time.Minute), news.PriorityBreaking, "", "mena"))
	env.deliverAll(t, env.alertAt(now.Add(-2*time.Minute), news.PriorityBreaking, "", "mena"))
	if got := r.news(t); got["r"] != "item" {
		t.Fatalf("with max_per_hour 1, two alerts: got %v, want one", got)
	}
	// Lift the cap and ask for flash only: the next breaking is held back
	// for its priority, the next flash is sent.
	sub, _ := env.s.index.get(IDFor(r.subs["r"].Endpoint))
	changed := *sub
	changed.Prefs = Prefs{MinPriority: news.PriorityFlash}
	changed.PrefsAt = now.Add(-time.Minute)
	env.store(t, changed)
	_, skipped := funnelOf(env.deliverAll(t, env.alertAt(now, news.PriorityBreaking, "", "mena")))
	if got := r.news(t); len(got) != 0 || skipped[SkipPriority] != 1 {
		t.Fatalf("breaking after min_priority flash: got %v, skipped %v", got, skipped)
	}
	env.deliverAll(t, env.alertAt(now, news.PriorityFlash, "", "mena"))
	if got := r.news(t); got["r"] != "item" {
		t.Fatalf("flash after min_priority flash: got %v", got)
	}
	a, b := changed, changed
	if !samePrefs(&a, &b) {
		t.Fatal("the same prefs differ")
	}
	b.Filter = FilterJSON{Regions: []string{"mena"}}
	if samePrefs(&a, &b) {
		t.Fatal("another filter is the same prefs")
	}
	b = changed
	b.Prefs.Stories = []string{"x"}
	if samePrefs(&a, &b) {
		t.Fatal("another story list is the same prefs")
	}
}

// TestCapIsTheSameOnTwoInstances: two services on one JetStream, each
// following the stream in its own history, share the jobs of a run of
// alerts; the cap holds per subscription over both.
func TestCapIsTheSameOnTwoInstances(t *testing.T) {
	js := runJetStream(t)
	createNewsStream(t, js, testLayout)
	a := newTestEnvOn(t, js, testLayout, 2, pushsink.Options{})
	b := newTestEnvOn(t, js, testLayout, 2, pushsink.Options{})
	// b sends to a's push service as a.
	b.s.cfg.Identity, b.s.cfg.Policy, b.s.client = a.s.cfg.Identity, a.s.cfg.Policy, a.s.client
	ra := a.readers(t, map[string]Subscription{"capped": {Prefs: Prefs{MaxPerHour: 2}}})
	// b knows the same subscription (its watcher is not running here).
	sub, _ := a.s.index.get(IDFor(ra.subs["capped"].Endpoint))
	cp := *sub
	b.s.index.put(&cp)
	now := time.Now().UTC()
	sent := 0
	for i := range 5 {
		at := now.Add(time.Duration(i-5) * time.Minute)
		ea := a.alertAt(at, news.PriorityBreaking, "", "mena")
		eb := b.log.Append(ea.Event) // the same event in b's history
		// The partitions of each alert split over the two instances.
		for p := range 2 {
			env, e := a, ea
			if (i+p)%2 == 1 {
				env, e = b, eb
			}
			if _, err := env.s.deliver(t.Context(), job{Seq: e.Event.Seq, Item: e.Event.Item.ID, P: p}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sent = len(a.sink.Messages(ra.subs["capped"].ID()))
	if sent != 2 {
		t.Fatalf("max_per_hour 2 over two instances: %d sent, want 2", sent)
	}
}

// TestCheckPrefs: every bad value is refused naming its field; good ones
// come back as stored.
func TestCheckPrefs(t *testing.T) {
	stories := storyStates{"gaza": true, "ended": false}
	many := make([]string, MaxPrefsStories+1)
	for i := range many {
		many[i] = "gaza"
	}
	for _, tc := range []struct {
		name        string
		p           Prefs
		code, field string
	}{
		{"priority", Prefs{MinPriority: "loud"}, "invalid_priority", "prefs.min_priority"},
		{"from 25:00", Prefs{QuietHours: &QuietHours{From: "25:00", To: "07:00", TZ: "UTC"}}, "invalid_time", "prefs.quiet_hours.from"},
		{"to 7:00", Prefs{QuietHours: &QuietHours{From: "22:00", To: "7:00", TZ: "UTC"}}, "invalid_time", "prefs.quiet_hours.to"},
		{"to 22:60", Prefs{QuietHours: &QuietHours{From: "22:00", To: "22:60", TZ: "UTC"}}, "invalid_time", "prefs.quiet_hours.to"},
		{"to +1:00", Prefs{QuietHours: &QuietHours{From: "22:00", To: "+1:00", TZ: "UTC"}}, "invalid_time", "prefs.quiet_hours.to"},
		{"empty window", Prefs{QuietHours: &QuietHours{From: "22:00", To: "22:00", TZ: "UTC"}}, "invalid_time", "prefs.quiet_hours.to"},
		{"zone", Prefs{QuietHours: &QuietHours{From: "22:00", To: "07:00", TZ: "Mars/Olympus"}}, "unknown_zone", "prefs.quiet_hours.tz"},
		{"no zone", Prefs{QuietHours: &QuietHours{From: "22:00", To: "07:00"}}, "unknown_zone", "prefs.quiet_hours.tz"},
		{"Local", Prefs{QuietHours: &QuietHours{From: "22:00", To: "07:00", TZ: "Local"}}, "unknown_zone", "prefs.quiet_hours.tz"},
		{"61 per hour", Prefs{MaxPerHour: 61}, "invalid_max_per_hour", "prefs.max_per_hour"},
		{"negative per hour", Prefs{MaxPerHour: -1}, "invalid_max_per_hour", "prefs.max_per_hour"},
		{"not a slug", Prefs{Stories: []string{"War on Gaza"}}, "invalid_story", "prefs.stories"},
		{"unknown story", Prefs{Stories: []string{"atlantis"}}, "unknown_story", "prefs.stories"},
		{"closed story", Prefs{Stories: []string{"ended"}}, "story_closed", "prefs.stories"},
		{"too many", Prefs{Stories: many}, "too_many_stories", "prefs.stories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkPrefs(tc.p, stories)
			ve, ok := err.(*news.ValidationError)
			if !ok || ve.Code != tc.code || ve.Field != tc.field {
				t.Fatalf("%v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
	if _, err := checkPrefs(Prefs{Stories: []string{"gaza"}}, nil); err == nil {
		t.Fatal("a story followed with no story store: accepted")
	}
	got, err := checkPrefs(Prefs{MinPriority: "urgent", MaxPerHour: 60, Stories: []string{"gaza", "gaza"},
		QuietHours: &QuietHours{From: "23:59", To: "00:00", TZ: "Asia/Beirut"}}, stories)
	if err != nil || !slices.Equal(got.Stories, []string{"gaza"}) {
		t.Fatalf("good prefs: %+v, %v", got, err)
	}
}

// TestZonesAreShared: subscriptions naming one zone share its Location
// (a zone's transitions are kilobytes; a million copies were gigabytes).
func TestZonesAreShared(t *testing.T) {
	a, err := loadZone("Asia/Beirut")
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadZone("Asia/Beirut")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("two loads of Asia/Beirut made two Locations")
	}
	if _, err := loadZone("Mars/Olympus_Mons"); err == nil {
		t.Error("an unknown zone loaded")
	}
	if _, ok := zones.Load("Mars/Olympus_Mons"); ok {
		t.Error("an unknown zone was kept")
	}
}

// TestRulesAreShared: indexed subscriptions with the same filter and prefs
// share one parsed rule, one with another cap has its own, and the index
// forgets a rule with its last subscription.
func TestRulesAreShared(t *testing.T) {
	ix := newIndex(4)
	sub := func(id string, max int) *Subscription {
		s := &Subscription{ID: id, Platform: PlatformIOS, Token: id, Filter: FilterJSON{Regions: []string{"mena"}},
			Prefs: Prefs{MinPriority: "urgent", MaxPerHour: max, QuietHours: &QuietHours{From: "22:00", To: "07:00", TZ: "Asia/Beirut"}}}
		ix.put(s)
		return s
	}
	a, b, c := sub("a", 3), sub("b", 3), sub("c", 4)
	if a.rule != b.rule {
		t.Error("two subscriptions with the same filter and prefs have two rules")
	}
	if c.rule == a.rule || c.rule.max != 4 || a.rule.max != 3 {
		t.Errorf("another cap shares the rule: a %+v, c %+v", a.rule, c.rule)
	}
	a2 := sub("a", 3) // the same subscription posted again
	if a2.rule != b.rule || len(ix.rules) != 2 {
		t.Errorf("a repost: %d rules", len(ix.rules))
	}
	for _, id := range []string{"a", "b", "c"} {
		ix.remove(id)
	}
	if len(ix.rules) != 0 {
		t.Errorf("%d rules left with no subscription", len(ix.rules))
	}
}
