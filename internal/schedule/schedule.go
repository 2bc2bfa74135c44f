package schedule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Defaults of Options.
const (
	DefaultMaxLate      = 15 * time.Minute
	DefaultClaimTimeout = 5 * time.Second
	DefaultTimeout      = 5 * time.Second
)

// Publisher is what the scheduler needs of the news stream
// (*stream.Stream).
type Publisher interface {
	Publish(ctx context.Context, ev news.Event, expectLast uint64, msgID string) (seq uint64, duplicate bool, err error)
	Current(ctx context.Context, id string) (news.Item, error)
}

var _ Publisher = (*stream.Stream)(nil)

// Deps wire a Scheduler. KV and Stream are required.
type Deps struct {
	// KV is the scheduled items' bucket (stream.Stream.Scheduled).
	KV jetstream.KeyValue
	// Stream publishes the items.
	Stream Publisher
	// Instance names this instance in its claims. Default: host name,
	// process id and a random suffix.
	Instance string
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Metrics to report to. Default: metrics of its own (not served).
	Metrics *metrics.Metrics
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Options are a Scheduler's settings; a zero field means its default.
type Options struct {
	// MaxLate is how late a record may still be published; later it is
	// missed. Default DefaultMaxLate; negative: published however late.
	MaxLate time.Duration
	// ClaimTimeout is how long a claim holds: an older one whose record is
	// not published is taken over. Default DefaultClaimTimeout.
	ClaimTimeout time.Duration
	// Timeout bounds one NATS operation. Default DefaultTimeout.
	Timeout time.Duration
}

// Scheduler keeps the scheduled records in memory and publishes them when
// they are due (see the package doc).
type Scheduler struct {
	// set at construction
	kv       jetstream.KeyValue
	pub      Publisher
	instance string
	log      *slog.Logger
	met      *metrics.Metrics
	now      func() time.Time
	opts     Options
	wake     chan struct{} // buffered 1: the earliest due time may have changed
	stop     chan struct{} // closed by Stop
	done     chan struct{} // closed when the goroutine ends

	// set by Start
	watch jetstream.KeyWatcher
	keep  time.Duration // the bucket's TTL: how long a record lasts after its last change

	mu   sync.Mutex
	recs map[string]entry // guarded by mu: records not (yet) published, by item id
	revs map[string]uint64
}

type entry struct {
	rec stream.Scheduled
	rev uint64
}

// New checks deps and returns a scheduler; Start starts it.
func New(deps Deps, opts Options) (*Scheduler, error) {
	if deps.KV == nil || deps.Stream == nil {
		return nil, errors.New("schedule: KV and Stream are required")
	}
	if deps.Instance == "" {
		host, _ := os.Hostname()
		deps.Instance = host + "-" + strconv.Itoa(os.Getpid()) + "-" + news.NewID()[:6]
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if opts.MaxLate == 0 {
		opts.MaxLate = DefaultMaxLate
	}
	if opts.ClaimTimeout <= 0 {
		opts.ClaimTimeout = DefaultClaimTimeout
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Scheduler{kv: deps.KV, pub: deps.Stream, instance: deps.Instance, log: deps.Logger, met: deps.Metrics, now: deps.Now, opts: opts,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		recs: map[string]entry{}, revs: map[string]uint64{}}, nil
}

// Start loads the bucket and starts the goroutine that follows it and
// publishes due records. ctx bounds the loading only.
func (s *Scheduler) Start(ctx context.Context) error {
	st, err := s.kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("scheduled items bucket: %w", err)
	}
	s.keep = st.TTL()
	w, err := stream.LoadWatch(ctx, s.kv, "scheduled items", s.applyEntry)
	if err != nil {
		return err
	}
	s.watch = w
	s.log.Info("scheduler started", "instance", s.instance, "pending", s.Pending())
	go s.run()
	return nil
}

// Stop ends the watch and the goroutine and waits for it. Call it once,
// after a successful Start.
func (s *Scheduler) Stop() {
	close(s.stop)
	_ = s.watch.Stop()
	<-s.done
}

// Instance is the name this scheduler claims records with.
func (s *Scheduler) Instance() string { return s.instance }

// run applies the watch's changes and fires the timer until Stop.
func (s *Scheduler) run() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	updates := s.watch.Updates()
	for {
		next, ok := s.nextDue()
		wait := time.Hour
		if ok {
			wait = max(next.Sub(s.now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case e, ok := <-updates:
			if !ok {
				// Stopped (Stop) or the watch ended: nothing more comes.
				<-s.stop
				return
			}
			if e != nil {
				s.applyEntry(e)
			}
		case <-s.wake:
		case <-timer.C:
			s.fireDue()
		}
	}
}

// poke tells run that the earliest due time may have changed.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// due is when a record needs this scheduler next: a scheduled one at its
// publish_at, a claimed one when its claim runs out. Other records never.
func (s *Scheduler) due(r stream.Scheduled) (time.Time, bool) {
	switch r.Status {
	case stream.SchedScheduled:
		return *r.Item.PublishAt, true
	case stream.SchedPublishing:
		if r.ClaimedAt == nil {
			return *r.Item.PublishAt, true
		}
		return r.ClaimedAt.Add(s.opts.ClaimTimeout), true
	}
	return time.Time{}, false
}

func (s *Scheduler) nextDue() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	found := false
	for _, e := range s.recs {
		if at, ok := s.due(e.rec); ok && (!found || at.Before(next)) {
			next, found = at, true
		}
	}
	return next, found
}

// fireDue works through every record due now, earliest first, and forgets
// finished records older than the bucket keeps them.
func (s *Scheduler) fireDue() {
	now := s.now()
	var due []entry
	s.mu.Lock()
	for id, e := range s.recs {
		if at, ok := s.due(e.rec); ok && !at.After(now) {
			due = append(due, e)
		} else if !ok && s.keep > 0 && now.Sub(e.rec.At) > s.keep {
			delete(s.recs, id) // aged out of the bucket without a watch event
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b entry) int { return a.rec.Item.PublishAt.Compare(*b.rec.Item.PublishAt) })
	for _, e := range due {
		select {
		case <-s.stop:
			return
		default:
		}
		s.fire(e)
	}
}

// applyEntry applies a change the watch reports.
func (s *Scheduler) applyEntry(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		s.apply(e.Key(), nil, e.Revision())
		return
	}
	r, err := stream.DecodeScheduled(e.Value())
	if err != nil || r.Item.ID != e.Key() {
		s.log.Error("scheduler: skipping an undecodable record; it is not published", "key", e.Key(), "err", err)
		s.apply(e.Key(), nil, e.Revision())
		return
	}
	s.apply(e.Key(), &r, e.Revision())
}

// apply makes r (nil: none) the record of id, unless a later revision was
// applied already (the watch and this instance's own writes race).
// Published records are dropped: the news stream has the item.
func (s *Scheduler) apply(id string, r *stream.Scheduled, rev uint64) {
	s.mu.Lock()
	if rev <= s.revs[id] {
		s.mu.Unlock()
		return
	}
	s.revs[id] = rev
	if r == nil || r.Status == stream.SchedPublished {
		delete(s.recs, id)
		if r == nil {
			delete(s.revs, id)
		}
	} else {
		s.recs[id] = entry{rec: *r, rev: rev}
	}
	s.mu.Unlock()
	s.poke()
}

// Pending counts the records still to be published.
func (s *Scheduler) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.recs {
		if e.rec.Pending() {
			n++
		}
	}
	return n
}

// List returns the records whose item shows status (news.StatusScheduled,
// StatusCancelled or StatusMissed), earliest publish_at first.
func (s *Scheduler) List(status string) []stream.Scheduled {
	s.mu.Lock()
	var out []stream.Scheduled
	for _, e := range s.recs {
		if ItemStatus(e.rec) == status {
			out = append(out, e.rec)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b stream.Scheduled) int {
		return cmp.Or(a.Item.PublishAt.Compare(*b.Item.PublishAt), cmp.Compare(a.Item.ID, b.Item.ID))
	})
	return out
}

// ItemStatus is the status an editor sees on a record's item: scheduled
// until it is published, then live; cancelled or missed.
func ItemStatus(r stream.Scheduled) string {
	switch r.Status {
	case stream.SchedCancelled:
		return news.StatusCancelled
	case stream.SchedMissed:
		return news.StatusMissed
	case stream.SchedPublished:
		return news.StatusLive
	}
	return news.StatusScheduled
}
