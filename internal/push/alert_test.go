package push

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

// TestDecideAlert: only items that alert reach push subscriptions; the
// alert itself (a post with alert, or a promotion) is kind item, later
// changes of an alerted item go as before, and nothing of a ticker-only
// item is pushed.
func TestDecideAlert(t *testing.T) {
	now := time.Now().UTC()
	ticker := news.Item{ID: "aaaaaaaaaaaaaaaaaaaa", Version: 1, Status: news.StatusLive, Text: "x", Lang: "en", Regions: []string{"mena"}, Priority: news.PriorityFlash}
	alerted := ticker
	alerted.Alert, alerted.AlertedAt = true, &now
	moved := alerted
	moved.Regions = []string{"europe"}
	retracted := alerted
	retracted.Status = news.StatusRetracted
	tickerRetracted := ticker
	tickerRetracted.Status = news.StatusRetracted
	mena := news.Filter{Regions: []string{"mena"}}
	europe := news.Filter{Regions: []string{"europe"}}
	for _, tc := range []struct {
		name   string
		f      news.Filter
		ev     news.Event
		prev   *news.Item
		kind   string
		pushes bool
	}{
		{"ticker post", mena, news.Event{Type: news.EventItem, Item: ticker}, nil, "", false},
		{"ticker correction", mena, news.Event{Type: news.EventUpdate, Item: ticker}, &ticker, "", false},
		{"ticker retraction", mena, news.Event{Type: news.EventRetract, Item: tickerRetracted}, &ticker, "", false},
		{"post with alert", mena, news.Event{Type: news.EventItem, Item: alerted, Alert: true}, nil, news.EventItem, true},
		{"post with alert, other filter", europe, news.Event{Type: news.EventItem, Item: alerted, Alert: true}, nil, "", false},
		{"promotion", mena, news.Event{Type: news.EventUpdate, Item: alerted, Alert: true}, &ticker, news.EventItem, true},
		{"promotion, previous version unknown", mena, news.Event{Type: news.EventUpdate, Item: alerted, Alert: true}, nil, news.EventItem, true},
		{"promotion that moves the item out", mena, news.Event{Type: news.EventUpdate, Item: moved, Alert: true}, &ticker, "", false},
		{"promotion that moves the item in", europe, news.Event{Type: news.EventUpdate, Item: moved, Alert: true}, &ticker, news.EventItem, true},
		{"correction of an alerted item", mena, news.Event{Type: news.EventUpdate, Item: alerted}, &alerted, news.EventUpdate, true},
		{"correction moving an alerted item out", mena, news.Event{Type: news.EventUpdate, Item: moved}, &alerted, news.EventRetract, true},
		{"retraction of an alerted item", mena, news.Event{Type: news.EventRetract, Item: retracted}, &alerted, news.EventRetract, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &history.Entry{Event: tc.ev, Prev: tc.prev}
			sub := &Subscription{Filter: FilterJSON{Regions: tc.f.Regions, Topics: tc.f.Topics, Langs: tc.f.Langs}}
			sub.prepare()
			kind, skip, ok := testDecider(e, nil).decide(sub)
			if ok != tc.pushes || skip != "" || kind != tc.kind && tc.pushes {
				t.Fatalf("decide = %q, %q, %v; want %q, %v", kind, skip, ok, tc.kind, tc.pushes)
			}
		})
	}
}

// TestUrgencyByPriority: an alert's Web Push Urgency is high for flash and
// urgent, normal for breaking; a retraction, which only closes the
// notification, is normal whatever the priority. The sink records the
// headers as received.
func TestUrgencyByPriority(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	ps, _ := env.subscribe(t)
	for _, tc := range []struct{ priority, urgency string }{
		{news.PriorityFlash, "high"},
		{news.PriorityUrgent, "high"},
		{news.PriorityBreaking, "normal"},
	} {
		t.Run(tc.priority, func(t *testing.T) {
			before := len(env.sink.Messages(ps.ID()))
			e := env.post("Loud or quiet: "+tc.priority, tc.priority)
			env.deliverAll(t, e)
			r := env.next(e, news.EventRetract, func(it *news.Item) { it.Status = news.StatusRetracted })
			env.deliverAll(t, r)
			msgs := env.sink.Messages(ps.ID())[before:]
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want the alert and its retraction", len(msgs))
			}
			if msgs[0].Urgency != tc.urgency {
				t.Errorf("alert Urgency %q, want %q", msgs[0].Urgency, tc.urgency)
			}
			if msgs[1].Urgency != "normal" {
				t.Errorf("retraction Urgency %q, want normal", msgs[1].Urgency)
			}
			var p payload
			if err := json.Unmarshal(msgs[0].Payload, &p); err != nil || p.Type != news.EventItem || p.Item.Priority != tc.priority {
				t.Errorf("alert payload %s (%v)", msgs[0].Payload, err)
			}
		})
	}
}

// TestTickerOnlyIsNotPushed: a ticker-only item and its changes send
// nothing; promoting it sends it once, as kind item; later changes go as
// update and retract.
func TestTickerOnlyIsNotPushed(t *testing.T) {
	env := newTestEnv(t, 2, pushsink.Options{})
	ps, _ := env.subscribe(t)
	e := env.postItem("Ticker line", news.PriorityUrgent, false)
	sent := func(entry *history.Entry) int {
		n := 0
		for _, p := range env.deliverAll(t, entry) {
			n += p.Sent
		}
		return n
	}
	if n := sent(e); n != 0 {
		t.Fatalf("ticker post: %d sent", n)
	}
	e = env.next(e, news.EventUpdate, func(it *news.Item) { it.Text = "Ticker line, corrected" })
	if n := sent(e); n != 0 {
		t.Fatalf("ticker correction: %d sent", n)
	}
	e = env.next(e, news.EventUpdate, func(it *news.Item) { it.Alert = true; now := time.Now().UTC(); it.AlertedAt = &now })
	e.Event.Alert = true
	if n := sent(e); n != 1 {
		t.Fatalf("promotion: %d sent, want 1", n)
	}
	e = env.next(e, news.EventUpdate, func(it *news.Item) { it.Text = "Alert, corrected" })
	if n := sent(e); n != 1 {
		t.Fatalf("correction of the alert: %d sent, want 1", n)
	}
	e = env.next(e, news.EventRetract, func(it *news.Item) { it.Status = news.StatusRetracted })
	if n := sent(e); n != 1 {
		t.Fatalf("retraction of the alert: %d sent, want 1", n)
	}
	var types []string
	for _, m := range env.sink.Messages(ps.ID()) {
		var p payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Type)
	}
	if want := []string{news.EventItem, news.EventUpdate, news.EventRetract}; !slices.Equal(types, want) {
		t.Fatalf("the push service got %v, want %v", types, want)
	}
}

// TestPlannerPlansOnlyAlerts: the planner, reading the news stream, makes
// jobs for an alert and for changes of an alerted item, none for a
// ticker-only item; planning an event again (a planner that crashed
// before its ack) adds no job.
func TestPlannerPlansOnlyAlerts(t *testing.T) {
	const partitions = 2
	env := newTestEnv(t, partitions, pushsink.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := time.Now().UTC()
	pub := func(id string, ev map[string]any) {
		t.Helper()
		b, _ := json.Marshal(ev)
		if _, err := env.js.Publish(ctx, testLayout.ItemSubject(id), b); err != nil {
			t.Fatal(err)
		}
	}
	item := func(id string, alert bool) map[string]any {
		it := map[string]any{"id": id, "version": 1, "status": news.StatusLive, "text": "t", "lang": "en", "regions": []string{"mena"},
			"priority": news.PriorityFlash, "alert": alert, "published_at": now, "updated_at": now}
		if alert {
			it["alerted_at"] = now
		}
		return it
	}
	ticker, alert := "tttttttttttttttttttt", "aaaaaaaaaaaaaaaaaaaa"
	pub(ticker, map[string]any{"type": news.EventItem, "item": item(ticker, false)})
	pub(ticker, map[string]any{"type": news.EventUpdate, "item": item(ticker, false)})
	pub(alert, map[string]any{"type": news.EventItem, "item": item(alert, true), "alert": true})
	pub(alert, map[string]any{"type": news.EventRetract, "item": item(alert, true)})

	pctx, stop := context.WithCancel(ctx)
	planned := make(chan error, 1)
	go func() { planned <- env.s.plan(pctx) }()
	cons, err := env.js.Consumer(ctx, testLayout.NewsStream(), testLayout.PlannerConsumer())
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream >= 4 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the planner did not ack the 4 events: %+v", info.AckFloor)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	if err := <-planned; err != nil {
		t.Fatal(err)
	}
	// Planned again, as after a crash between the jobs and the ack.
	if err := env.s.publishJobs(ctx, job{Seq: 3, Item: alert}); err != nil {
		t.Fatal(err)
	}
	jobs, err := env.js.Stream(ctx, testLayout.PushJobsStream())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := uint64(1); ; seq++ {
		m, err := jobs.GetMsg(ctx, seq)
		if err != nil {
			break
		}
		var j job
		if err := json.Unmarshal(m.Data, &j); err != nil {
			t.Fatal(err)
		}
		got = append(got, j.key())
	}
	want := []string{alert + ".3.0", alert + ".3.1", alert + ".4.0", alert + ".4.1"}
	if !slices.Equal(got, want) {
		t.Fatalf("jobs %v, want %v", got, want)
	}
}

// next appends the next version of an entry's item, changed by change,
// as an event of type typ, and returns its entry.
func (e *testEnv) next(prev *history.Entry, typ string, change func(*news.Item)) *history.Entry {
	seq := e.log.Head() + 1
	it := prev.Event.Item
	it.Seq, it.Version, it.UpdatedAt = seq, it.Version+1, time.Now().UTC()
	change(&it)
	return e.log.Append(news.Event{Type: typ, Seq: seq, Item: it})
}
