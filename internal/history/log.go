package history

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"newsflash/internal/news"
)

// Defaults of Options: the stream's own (stream.DefaultMaxEvents and
// stream.DefaultMaxAge), which server.New passes in.
const (
	DefaultMaxEvents = 100_000
	DefaultMaxAge    = 30 * 24 * time.Hour
)

// Options set the Log's retention. The zero value of a field is its
// default.
type Options struct {
	// MaxEvents is how many events the log keeps at most. Default
	// DefaultMaxEvents.
	MaxEvents int
	// MaxAge is how long an event is kept. Default DefaultMaxAge.
	MaxAge time.Duration
	// Now is the clock, a test hook rather than a setting (the Log has no
	// other dependency to put it with). Default time.Now.
	Now func() time.Time
}

// Entry is one event of the log with the item's previous version (nil for a
// new item, or when the previous version is older than the log).
type Entry struct {
	Event news.Event
	Prev  *news.Item

	at time.Time // when it was published, for MaxAge

	memoMu sync.Mutex
	memo   map[int][]byte
}

// Memo returns the value stored for key, storing build's result when there
// is none yet. Encoders use it to encode an event once for every reader.
//
// build runs without the lock held, so it may call Memo itself (for another
// key). The price is that callers racing on a key that has no value yet may
// each run build; the first result stored stays, and every caller, racing or
// later, gets that same slice. So build must be a pure function of the
// entry: it may run more than once, and only one result is kept.
func (e *Entry) Memo(key int, build func() []byte) []byte {
	e.memoMu.Lock()
	b, ok := e.memo[key]
	e.memoMu.Unlock()
	if ok {
		return b
	}
	b = build()
	e.memoMu.Lock()
	defer e.memoMu.Unlock()
	if prev, ok := e.memo[key]; ok {
		return prev
	}
	if e.memo == nil {
		e.memo = make(map[int][]byte, 2)
	}
	e.memo[key] = b
	return b
}

// Log is the projection. The zero value is not usable: call New.
type Log struct {
	cfg Options

	mu       sync.RWMutex
	events   []*Entry          // in stream order; events[start:] are live
	start    int               // index of the oldest kept event
	items    map[string]*Entry // item id → entry of its current version
	timeline []string          // item ids in order of first publication
	head     uint64            // seq of the newest event appended
	changed  chan struct{}     // closed and replaced at every Append
}

// New returns an empty log.
func New(cfg Options) *Log {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Log{cfg: cfg, items: make(map[string]*Entry), changed: make(chan struct{})}
}

// Append adds the next event of the stream and returns its entry. Events
// must come in increasing Seq order; an older one is ignored (nil).
func (l *Log) Append(ev news.Event) *Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Seq <= l.head {
		return nil
	}
	at := ev.Item.UpdatedAt // when the event was published, as the stream's MaxAge counts
	if at.IsZero() {
		at = l.cfg.Now()
	}
	e := &Entry{Event: ev, at: at}
	if prev, ok := l.items[ev.Item.ID]; ok {
		p := prev.Event.Item
		e.Prev = &p
	} else if ev.Type == news.EventItem || ev.Item.PublishedSeq == ev.Seq {
		l.timeline = append(l.timeline, ev.Item.ID)
	} else {
		// An update of an item older than the log: place it by publication.
		l.insertTimeline(ev.Item.ID, ev.Item.PublishedSeq)
	}
	l.items[ev.Item.ID] = e
	l.events = append(l.events, e)
	l.head = ev.Seq
	l.trim()
	close(l.changed)
	l.changed = make(chan struct{})
	return e
}

func (l *Log) insertTimeline(id string, published uint64) {
	if slices.Contains(l.timeline, id) {
		// Still in the timeline from a version that was trimmed (trim drops
		// only a dead prefix): it is already in its place; do not list it twice.
		return
	}
	i := len(l.timeline)
	for i > 0 {
		if e, ok := l.items[l.timeline[i-1]]; ok && e.Event.Item.PublishedSeq < published {
			break
		}
		i--
	}
	l.timeline = append(l.timeline, "")
	copy(l.timeline[i+1:], l.timeline[i:])
	l.timeline[i] = id
}

// trim drops events past the retention limits. Callers hold mu.
func (l *Log) trim() {
	oldest := l.cfg.Now().Add(-l.cfg.MaxAge)
	for l.start < len(l.events) && (len(l.events)-l.start > l.cfg.MaxEvents || l.events[l.start].at.Before(oldest)) {
		e := l.events[l.start]
		l.events[l.start] = nil
		l.start++
		if l.items[e.Event.Item.ID] == e {
			delete(l.items, e.Event.Item.ID)
		}
	}
	if l.start > 1024 && l.start*2 > len(l.events) {
		l.events = append([]*Entry(nil), l.events[l.start:]...)
		l.start = 0
	}
	n := 0
	for n < len(l.timeline) {
		if _, ok := l.items[l.timeline[n]]; ok {
			break
		}
		n++
	}
	if n > 0 {
		l.timeline = append(l.timeline[:0:0], l.timeline[n:]...)
	}
}

// Head returns the seq of the newest event in the log (0 when empty).
func (l *Log) Head() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.head
}

// WaitFor blocks until the log has reached seq or ctx ends.
func (l *Log) WaitFor(ctx context.Context, seq uint64) error {
	for {
		l.mu.RLock()
		head, ch := l.head, l.changed
		l.mu.RUnlock()
		if head >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Since returns the entries after seq, oldest first, and the head they lead
// up to. covered is false when the log no longer reaches back to seq (events
// after it were dropped) or seq is beyond the head.
func (l *Log) Since(seq uint64) (entries []*Entry, head uint64, covered bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	head = l.head
	if seq > head {
		return nil, head, false
	}
	live := l.events[l.start:]
	if len(live) == 0 {
		return nil, head, seq == head
	}
	if first := live[0].Event.Seq; seq+1 < first {
		return nil, head, false
	}
	// Events are in seq order: find the first one after seq.
	lo, hi := 0, len(live)
	for lo < hi {
		m := (lo + hi) / 2
		if live[m].Event.Seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return append([]*Entry(nil), live[lo:]...), head, true
}

// Latest returns the newest n live items that match f, oldest first, as the
// entries of their current versions, and the head they were read at.
func (l *Log) Latest(f news.Filter, n int) (entries []*Entry, head uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	entries = l.scan(f, 0, n)
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, l.head
}

// List returns up to limit live items that match f and were first published
// before the seq before (0: no bound), newest first.
func (l *Log) List(f news.Filter, before uint64, limit int) []news.Item {
	l.mu.RLock()
	defer l.mu.RUnlock()
	entries := l.scan(f, before, limit)
	out := make([]news.Item, len(entries))
	for i, e := range entries {
		out[i] = e.Event.Item
	}
	return out
}

// scan walks the timeline from the newest item. Callers hold mu.
func (l *Log) scan(f news.Filter, before uint64, limit int) []*Entry {
	var out []*Entry
	for i := len(l.timeline) - 1; i >= 0 && len(out) < limit; i-- {
		e, ok := l.items[l.timeline[i]]
		if !ok {
			continue
		}
		it := &e.Event.Item
		if before != 0 && it.PublishedSeq >= before {
			continue
		}
		if it.Status != news.StatusLive || !f.Match(it) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Entry returns the entry of the event with this seq, if the log holds it.
func (l *Log) Entry(seq uint64) (*Entry, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	live := l.events[l.start:]
	i := sort.Search(len(live), func(i int) bool { return live[i].Event.Seq >= seq })
	if i < len(live) && live[i].Event.Seq == seq {
		return live[i], true
	}
	return nil, false
}

// ItemSeq returns the seq of an item's newest event, to tell whether an
// event was superseded.
func (l *Log) ItemSeq(id string) (uint64, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.items[id]
	if !ok {
		return 0, false
	}
	return e.Event.Seq, true
}

// Item returns the current version of an item the log holds.
func (l *Log) Item(id string) (news.Item, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.items[id]
	if !ok {
		return news.Item{}, false
	}
	return e.Event.Item, true
}

// Alert is one alert sent: the item, when, and what it said then.
type Alert struct {
	ItemID string
	At     time.Time
	Text   string
}

// alertSkew is how far back past since Alerts keeps looking: events are in
// stream order, but instances' clocks may differ a little, so an event can
// carry an earlier time than the one before it.
const alertSkew = time.Minute

// Alerts returns the alerts (events that sent an item's alert) the log holds
// that were sent at or after since, newest first. Every instance follows the
// whole stream, so once settled each sees the same alerts: the flood guard
// reads them here.
func (l *Log) Alerts(since time.Time) []Alert {
	entries := l.AlertEntries(since)
	out := make([]Alert, 0, len(entries))
	for _, e := range slices.Backward(entries) {
		out = append(out, Alert{ItemID: e.Event.Item.ID, At: alertedAt(e), Text: e.Event.Item.Text})
	}
	return out
}

// alertedAt is when an alert event sent its alert: its item's AlertedAt,
// or (an event from before AlertedAt existed) when it was published.
func alertedAt(e *Entry) time.Time {
	if a := e.Event.Item.AlertedAt; a != nil {
		return *a
	}
	return e.at
}

// AlertEntries returns the entries of the alert events (the item as it
// was alerted, the event's seq, its AlertedAt) the log holds that were
// sent at or after since, oldest first (in stream order). Push delivery
// replays them to decide readers' alert caps the same on every instance.
func (l *Log) AlertEntries(since time.Time) []*Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []*Entry
	for i := len(l.events) - 1; i >= l.start; i-- {
		e := l.events[i]
		if e.at.Before(since.Add(-alertSkew)) {
			break
		}
		if !e.Event.Alert {
			continue
		}
		if alertedAt(e).Before(since) {
			continue
		}
		out = append(out, e)
	}
	slices.Reverse(out)
	return out
}
