package bench

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"newsflash/internal/pushsink"
)

// flashTTL is the server's default --push-ttl-flash: the TTL of a push of a
// flash item is at most this, that of an urgent one (default 12 h) above it
// unless it is sent more than 6 h late.
const flashTTL = 6 * time.Hour

// pushKindOf tells which event of one of the soak's items a push carries,
// from its headers: the body is encrypted and the sink decrypts only a
// sample. A retraction is pushed with Urgency: normal; the soak posts flash
// items (Urgency: high, TTL at most --push-ttl-flash) and corrects them to
// urgent (Urgency: high, TTL up to --push-ttl-urgent), so with the server's
// default TTLs a high-urgency push whose TTL is over 6 h is the correction.
func pushKindOf(urgency, ttl string) byte {
	if urgency != "high" {
		return kindRetract
	}
	s, err := strconv.ParseInt(ttl, 10, 64)
	if err == nil && time.Duration(s)*time.Second > flashTTL {
		return kindUpdate
	}
	return kindItem
}

// pushLog sits in front of the push sink and counts, per item (the push's
// Topic header, which the server sets to the item id) and per subscription,
// the pushes the sink accepted, by kind.
//
// Concurrency: ServeHTTP runs for concurrent requests; mu guards the
// counts; the sink does its own locking and runs outside mu.
type pushLog struct {
	sink *pushsink.Sink

	accepted atomic.Int64 // pushes the sink accepted, strays included

	mu           sync.Mutex
	subs         map[string]int     // subscription id → index; guarded by mu
	items        map[string][]uint8 // item id → count per subscription and kind (index sub*3+kind-1), at most 255; guarded by mu
	strays       int                // accepted pushes to subscriptions not of this run; guarded by mu
	noTopic      int                // accepted pushes without a Topic; guarded by mu
	refused      int                // pushes to this run's subscriptions the sink refused; guarded by mu
	firstRefusal string             // guarded by mu
	last         time.Time          // when the last push to this run's subscriptions was accepted; guarded by mu
}

var _ http.Handler = (*pushLog)(nil)

func newPushLog(sink *pushsink.Sink) *pushLog {
	return &pushLog{sink: sink, subs: map[string]int{}, items: map[string][]uint8{}}
}

// setSubs makes subs this run's subscriptions, in this order.
func (l *pushLog) setSubs(subs []pushsink.Subscription) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range subs {
		l.subs[s.ID()] = i
	}
}

// statusWriter remembers the status an http.Handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (l *pushLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	topic, kind := r.Header.Get("Topic"), pushKindOf(r.Header.Get("Urgency"), r.Header.Get("TTL"))
	id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	sw := &statusWriter{ResponseWriter: w}
	l.sink.ServeHTTP(sw, r)
	ok := sw.status >= 200 && sw.status < 300
	if ok {
		l.accepted.Add(1)
	}
	l.record(id, topic, kind, ok, sw.status, time.Now())
}

// record counts one push to subscription id of the item topic.
func (l *pushLog) record(id, topic string, kind byte, ok bool, status int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ours := l.subs[id]
	switch {
	case !ours:
		if ok {
			l.strays++
		}
		return
	case !ok:
		l.refused++
		if l.firstRefusal == "" {
			l.firstRefusal = strconv.Itoa(status) + " " + http.StatusText(status)
		}
		return
	case topic == "":
		l.noTopic++
		return
	}
	c := l.items[topic]
	if c == nil {
		c = make([]uint8, 3*len(l.subs))
		l.items[topic] = c
	}
	if j := 3*i + int(kind) - 1; c[j] < 255 {
		c[j]++
	}
	l.last = at
}

// pushItem is what the soak did to one item whose post was pushed: the
// kinds of the events it made (acknowledged by the server) and the last.
type pushItem struct {
	id    string
	made  [4]bool // by kind
	final byte
}

// pushFigures settle the pushes: for each item and subscription the final
// version must come once; earlier versions come at most once (the server
// skips a version that a newer one superseded before its send began).
type pushFigures struct {
	expected   int // items × subscriptions: final versions to receive
	received   int // final versions received
	missing    int // final versions not received
	duplicated int // pushes of one version to one subscription beyond the first
	superseded int // earlier versions not sent (allowed)
	unexpected int // pushes of a version the soak did not make (another kind)
	foreign    int // pushes of items the soak did not push (not posted by it, or not in the subscriptions' filter)
}

// settle accounts for items (the soak's pushed items) over nsubs
// subscriptions.
func (l *pushLog) settle(items []pushItem, nsubs int) pushFigures {
	l.mu.Lock()
	defer l.mu.Unlock()
	var f pushFigures
	known := make(map[string]bool, len(items))
	for _, it := range items {
		known[it.id] = true
		c := l.items[it.id]
		for s := range nsubs {
			f.expected++
			for k := kindItem; k <= kindRetract; k++ {
				n := 0
				if c != nil && 3*s+int(k)-1 < len(c) {
					n = int(c[3*s+int(k)-1])
				}
				switch {
				case !it.made[k]:
					f.unexpected += n
				case k == it.final && n == 0:
					f.missing++
				case k == it.final:
					f.received++
					f.duplicated += n - 1
				case n == 0:
					f.superseded++
				default:
					f.duplicated += n - 1
				}
			}
		}
	}
	for id, c := range l.items {
		if !known[id] {
			for _, n := range c {
				f.foreign += int(n)
			}
		}
	}
	return f
}

// missingFinals counts the final versions not received yet, for the drain.
func (l *pushLog) missingFinals(items []pushItem, nsubs int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	missing := 0
	for _, it := range items {
		c := l.items[it.id]
		for s := range nsubs {
			if j := 3*s + int(it.final) - 1; c == nil || j >= len(c) || c[j] == 0 {
				missing++
			}
		}
	}
	return missing
}
