package push

import (
	"slices"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
)

// capLookback is how far back before an alert the cap replays the alerts
// to decide it (capped). A subscription that stayed saturated, never an
// hour without max_per_hour alerts, for a whole lookback could be decided
// differently by one alert from what a replay from its PrefsAt would say;
// any pause of an hour makes the replay exact.
const capLookback = 24 * time.Hour

// decider decides, for one job's event, what each subscription gets: the
// alert, held back for a reason (SkipPriority, SkipQuietHours, SkipCap),
// or a correction or retraction of an alert it got.
//
// The cap is decided from the news stream alone: a subscription got an
// alert a when it was eligible (its filter or a followed open story
// matched, the priority was enough and, flash apart, a was outside its
// quiet hours) and, unless a is flash, fewer than max_per_hour of the
// alerts before a (in stream order) sent at most an hour before a were
// sent to it, by the same rule, replayed from PrefsAt or capLookback
// before a, whichever is later. Every instance follows the same stream
// and so decides the same, and a job redone after a crash decides as it
// did, with no I/O per send.
//
// A decider is used by its job's goroutine only.
type decider struct {
	s *Service
	e *history.Entry

	// The alert the event is, or is a correction of; alert is nil when it
	// is not in history any more, or older than capLookback before the
	// correction (then corrections go as their filter says).
	alert   *history.Entry
	alertAt time.Time
	past    []*history.Entry // alerts before alert within capLookback, in stream order; nil until loaded
	loaded  bool
	hour    map[string][]time.Time // rule.key → times of the alerts it was eligible for in the hour before alert, sorted
}

// newDecider finds the alert of the entry's event.
func (s *Service) newDecider(e *history.Entry) *decider {
	g := &decider{s: s, e: e}
	ev := &e.Event
	switch {
	case !ev.Pushes():
	case ev.Alert:
		g.alert, g.alertAt = e, alertTime(e)
	case ev.Item.AlertedAt != nil && ev.Item.UpdatedAt.Sub(*ev.Item.AlertedAt) <= capLookback:
		for _, a := range s.cfg.Log.AlertEntries(*ev.Item.AlertedAt) {
			if a.Event.Item.ID == ev.Item.ID && a.Event.Seq < ev.Seq {
				g.alert, g.alertAt = a, alertTime(a)
			}
		}
	}
	return g
}

// alertTime is the moment of an alert event: its item's AlertedAt.
func alertTime(e *history.Entry) time.Time {
	if a := e.Event.Item.AlertedAt; a != nil {
		return *a
	}
	return e.Event.Item.UpdatedAt
}

// decide is what sub gets for the event: kind with ok true; or, for an
// alert it is targeted by but held back from, skip (a Skip* reason) with
// ok true and kind "". ok false: it is not targeted.
func (g *decider) decide(sub *Subscription) (kind, skip string, ok bool) {
	ev := &g.e.Event
	switch {
	case !ev.Pushes():
		return "", "", false
	case ev.Alert:
		if ev.Item.Status != news.StatusLive || !g.matches(sub, &ev.Item, true) {
			return "", "", false
		}
		if reason := g.held(sub); reason != "" {
			return "", reason, true
		}
		return news.EventItem, "", true
	}
	// Corrections follow a story whether it is open or not: closing a
	// story ends its alerts, not the corrections and retractions of those
	// sent.
	kind, ok = deliveryKind(ev.Type, g.matches(sub, &ev.Item, false), g.e.Prev != nil && g.matches(sub, g.e.Prev, false))
	if !ok {
		return "", "", false
	}
	// A subscription the alert was held back from gets none of its
	// corrections; one whose filter or prefs changed since the alert is
	// not decided again (its past choices are unknown) and gets them as
	// its filter says.
	if g.alert != nil && !sub.PrefsAt.After(g.alertAt) && g.matches(sub, &g.alert.Event.Item, false) && g.held(sub) != "" {
		return "", "", false
	}
	return kind, "", true
}

// matches reports whether sub's filter matches it or sub follows its
// story; with open, a story that is open now. The alert itself asks for
// an open story (closing a story ends its follows); what is decided again
// later (corrections, past alerts replayed for the cap) does not, so that
// a story closed since changes nothing of what was decided.
func (g *decider) matches(sub *Subscription, it *news.Item, open bool) bool {
	if sub.filter.Match(it) {
		return true
	}
	if !sub.rule.follows(it) {
		return false
	}
	return !open || g.s.cfg.Stories != nil && g.s.cfg.Stories.Open(it.Story)
}

// deliveryKind is news.Filter.Delivery with the match of the new and the
// previous version given: the event when the new version matches, a
// retract when only the previous one did or the item was retracted.
func deliveryKind(typ string, matchNew, matchOld bool) (string, bool) {
	switch typ {
	case news.EventItem:
		return news.EventItem, matchNew
	case news.EventUpdate:
		if matchNew {
			return news.EventUpdate, true
		}
		return news.EventRetract, matchOld
	case news.EventRetract:
		return news.EventRetract, matchNew || matchOld
	}
	return "", false
}

// held is why the decider's alert is held back from sub, which it targets;
// "" when it is sent.
func (g *decider) held(sub *Subscription) string {
	it := &g.alert.Event.Item
	r := sub.rule
	if rank(it.Priority) < r.minRank {
		return SkipPriority
	}
	if it.Priority == news.PriorityFlash {
		return ""
	}
	if r.quietAt(g.alertAt) {
		return SkipQuietHours
	}
	if r.max > 0 && g.capped(sub) {
		return SkipCap
	}
	return ""
}

// eligible reports whether a past alert b would go to sub but for the
// cap.
func (g *decider) eligible(sub *Subscription, b *history.Entry) bool {
	it := &b.Event.Item
	r := sub.rule
	return it.Status == news.StatusLive && g.matches(sub, it, false) && rank(it.Priority) >= r.minRank &&
		(it.Priority == news.PriorityFlash || !r.quietAt(alertTime(b)))
}

// capped reports whether sub had max_per_hour alerts in the hour before
// the decider's alert (see decider).
func (g *decider) capped(sub *Subscription) bool {
	g.load()
	from := g.alertAt.Add(-capLookback)
	if sub.PrefsAt.After(from) {
		from = sub.PrefsAt
	}
	// Fewer alerts it was eligible for in the hour (since from) than the
	// cap: fewer sent, surely. The eligible times of the hour are found
	// once per rule (subscriptions alike in what they are eligible for),
	// so only a subscription that may be at its cap replays.
	times, ok := g.hour[sub.rule.key]
	if !ok {
		hourAgo := g.alertAt.Add(-time.Hour)
		for _, b := range g.past {
			if at := alertTime(b); at.After(hourAgo) && g.eligible(sub, b) {
				times = append(times, at)
			}
		}
		slices.SortFunc(times, time.Time.Compare)
		g.hour[sub.rule.key] = times
	}
	i, _ := slices.BinarySearchFunc(times, from, time.Time.Compare)
	if len(times)-i < sub.rule.max {
		return false
	}
	// Replay: which of the past alerts were sent to sub.
	var sent []time.Time
	within := func(t time.Time) int { // sent in the hour before t
		c := 0
		for _, s := range sent {
			if s.After(t.Add(-time.Hour)) {
				c++
			}
		}
		return c
	}
	for _, b := range g.past {
		at := alertTime(b)
		if at.Before(from) || !g.eligible(sub, b) {
			continue
		}
		if b.Event.Item.Priority == news.PriorityFlash || within(at) < sub.rule.max {
			sent = append(sent, at)
		}
	}
	return within(g.alertAt) >= sub.rule.max
}

// load reads the alerts before the decider's alert, within capLookback.
func (g *decider) load() {
	if g.loaded {
		return
	}
	g.loaded, g.hour = true, map[string][]time.Time{}
	for _, b := range g.s.cfg.Log.AlertEntries(g.alertAt.Add(-capLookback)) {
		if b.Event.Seq < g.alert.Event.Seq {
			g.past = append(g.past, b)
		}
	}
}
