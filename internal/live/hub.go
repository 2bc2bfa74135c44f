package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"newsflash/internal/history"
	"newsflash/internal/limit"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
)

// Defaults and ranges of Options.
const (
	DefaultQueueSize         = 256
	MinQueueSize             = 16
	MaxQueueSize             = 65536
	DefaultPingInterval      = 30 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultHeartbeat         = 15 * time.Second
	DefaultCatchUpWait       = 3 * time.Second
	DefaultReadersPerAddress = 200
	MaxWriters               = 1024
)

// Deps are what a Hub is wired to. Log, Taxonomy and LastSeq are required.
type Deps struct {
	Log      *history.Log
	Taxonomy *news.Taxonomy
	// Epoch identifies the stream's incarnation (stream.Stream.Epoch).
	Epoch string
	// LastSeq asks the stream for its newest seq (stream.Stream.LastSeq).
	LastSeq func(context.Context) (uint64, error)
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Metrics to report to. Default: metrics of its own (not served).
	Metrics *metrics.Metrics
	// Stories says which stories exist (*story.Store), for readers'
	// stories=. Default: none, and every story is unknown_story.
	Stories news.Stories
}

// Options are a Hub's settings. The zero value of each field is its
// default; where a limit can be off, a negative value turns it off.
type Options struct {
	// QueueSize is how many events a reader may have waiting
	// (MinQueueSize to MaxQueueSize). Default DefaultQueueSize.
	QueueSize int
	// PingInterval between WebSocket pings. Default DefaultPingInterval.
	PingInterval time.Duration
	// WriteTimeout for one batch of writes to a reader. Default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Heartbeat is the SSE comment interval. Default DefaultHeartbeat.
	Heartbeat time.Duration
	// AllowedOrigins are host patterns (path.Match) of pages that may open
	// WebSockets and read SSE across origins. Default: the same host only.
	AllowedOrigins []string
	// MaxReaders is how many readers this instance takes; past it new ones
	// get 503 with Retry-After. Default (0) and negative: no limit at the
	// hub (server.New sets it from the open files limit).
	MaxReaders int
	// ReadersPerAddress is how many readers one client address (an IPv6
	// /64) may have open; past it, 429. Default DefaultReadersPerAddress;
	// negative: no limit.
	ReadersPerAddress int
	// Writers is how many goroutines write queued frames to WebSocket
	// readers (at most MaxWriters). Default (0): half of GOMAXPROCS, at
	// least 1. A write is mostly kernel work (the socket's send path); past
	// half the cores, writers only take CPU from the read side, NATS and
	// the rest of the process (docs/BENCHMARKS.md).
	Writers int
	// CatchUpWait is how long a reader resuming from a seq this instance has
	// not seen yet waits for it. Default DefaultCatchUpWait.
	CatchUpWait time.Duration
}

// Backfill limits.
const (
	DefaultBackfill = 20
	MaxBackfill     = 100
)

// Hub fans stream events out to readers.
type Hub struct {
	deps    Deps
	opts    Options
	log     *slog.Logger
	ready   atomic.Bool
	wg      sync.WaitGroup // one per connected reader
	runq    *runQueue
	perAddr *limit.Conns
	m       *metrics.Metrics
	tm      [numTransports]transportMetrics

	mu       sync.Mutex
	groups   map[groupKey]*group
	closing  bool
	count    int // subscribed
	counts   [numTransports]int
	admitted int       // subscribed, or admitted and about to
	due      []*reader // Deliver's readers to schedule, reused
}

type groupKey struct {
	transport int
	filter    string
}

// group is the readers of one transport with one filter.
type group struct {
	transport int
	filter    news.Filter
	readers   map[*reader]struct{}
}

// New checks deps and returns a Hub that is not ready until SetReady. It
// starts opts.Writers writer goroutines, which Close stops.
func New(deps Deps, opts Options) (*Hub, error) {
	if deps.Log == nil || deps.Taxonomy == nil || deps.LastSeq == nil {
		return nil, errors.New("live: Log, Taxonomy and LastSeq are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	if opts.QueueSize == 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.QueueSize < MinQueueSize || opts.QueueSize > MaxQueueSize {
		return nil, fmt.Errorf("live: QueueSize %d: must be %d to %d", opts.QueueSize, MinQueueSize, MaxQueueSize)
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Writers <= 0 {
		opts.Writers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	opts.Writers = min(opts.Writers, MaxWriters)
	if opts.CatchUpWait <= 0 {
		opts.CatchUpWait = DefaultCatchUpWait
	}
	if opts.MaxReaders < 0 {
		opts.MaxReaders = 0 // admit: 0 is no limit
	}
	switch {
	case opts.ReadersPerAddress == 0:
		opts.ReadersPerAddress = DefaultReadersPerAddress
	case opts.ReadersPerAddress < 0:
		opts.ReadersPerAddress = 0 // limit.NewConns: 0 is no limit
	}
	h := &Hub{deps: deps, opts: opts, log: deps.Logger, groups: make(map[groupKey]*group), runq: newRunQueue(opts.Writers),
		perAddr: limit.NewConns(opts.ReadersPerAddress), m: deps.Metrics}
	for t := range numTransports {
		name := transportNames[t]
		h.tm[t] = transportMetrics{
			connects:  h.m.Connects.WithLabelValues(name),
			delivered: h.m.Delivered.WithLabelValues(name),
		}
	}
	h.registerGauges()
	return h, nil
}

// transportMetrics are the labelled children a hot path uses.
type transportMetrics struct {
	connects, delivered prometheus.Counter
}

// wrote counts frames written to a reader and, for the oldest event among
// them (published at Unix ns at, 0 if none), the delivery lag.
func (h *Hub) wrote(transport, frames int, at int64) {
	h.tm[transport].delivered.Add(float64(frames))
	if at > 0 {
		h.m.DeliveryLag.Observe(float64(time.Now().UnixNano()-at) / 1e9)
	}
}

func (h *Hub) registerGauges() {
	h.m.GaugeVec("readers", "Connected readers, by transport.", "transport", transportNames[:], func(name string) float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		for t, n := range transportNames {
			if n == name {
				return float64(h.counts[t])
			}
		}
		return 0
	})
	h.m.Gauge("reader_queued_frames", "Frames waiting in readers' queues, over all readers.", func() float64 {
		n, _ := h.queueDepth()
		return float64(n)
	})
	h.m.Gauge("reader_queue_max", "The longest reader queue, in frames.", func() float64 {
		_, m := h.queueDepth()
		return float64(m)
	})
	h.m.Gauge("readers_waiting_for_writer", "Readers with frames to write that wait for one of the hub's writers.", func() float64 {
		return float64(h.runq.len())
	})
}

// queueDepth sums and maxes the readers' queues; at scrape time only.
func (h *Hub) queueDepth() (sum, most int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range h.groups {
		for r := range g.readers {
			n := r.queuedLen()
			sum += n
			most = max(most, n)
		}
	}
	return sum, most
}

// SetReady opens the hub to readers: call it once history has caught up
// with the stream, so backfill and resumes see everything.
func (h *Hub) SetReady() { h.ready.Store(true) }

// Ready reports whether SetReady was called.
func (h *Hub) Ready() bool { return h.ready.Load() }

// Readers returns how many readers are connected.
func (h *Hub) Readers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// Deliver hands an event, already appended to the log, to every reader whose
// filter matches. It never blocks on a reader.
func (h *Hub) Deliver(e *history.Entry) {
	if e == nil {
		return
	}
	// The delivery lag counts from the item's publication by the editor API
	// (its updated_at, stamped just before the write to JetStream).
	at := e.Event.Item.UpdatedAt.UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range h.groups {
		kind, ok := kindFor(&g.filter, e)
		if !ok {
			continue
		}
		frame := eventFrame(e, g.transport, kind)
		for r := range g.readers {
			if e.Event.Seq > r.after && r.enqueue(frame, at) {
				h.due = append(h.due, r)
			}
		}
	}
	h.runq.push(h.due...)
	clear(h.due)
	h.due = h.due[:0]
}

// resumeFrame appends what a reader resuming from history gets for an
// entry. An item retracted since is not shown again: its earlier events
// keep their type and seq (a reader still gets every event it missed,
// once) but carry the item without its text and url and with status
// "retracted". The retraction itself is public already (news.Item.Public).
// Called with h.mu held (then the log's lock: the hub's lock order).
func (h *Hub) resumeFrame(frames [][]byte, e *history.Entry, transport, kind int) [][]byte {
	if e.Event.Type != news.EventRetract {
		if cur, ok := h.deps.Log.Item(e.Event.Item.ID); ok && cur.Status == news.StatusRetracted {
			return append(frames, goneFrame(e, transport, kind))
		}
	}
	return append(frames, eventFrame(e, transport, kind))
}

// resume is what a reader asked to start from.
type resume struct {
	filter   news.Filter
	since    uint64
	hasSince bool
	backfill int
	epoch    string
}

var errClosing = errors.New("server shutting down")

// subscribe registers a reader whose first frames (the welcome and the
// history) are queued ahead of any event, atomically with respect to
// Deliver, so that the hand-over from history to live neither drops nor
// repeats an event. The caller signals the reader to have them written.
// The reader must have been admitted from addrKey; the place is given back
// when it unsubscribes, or at once if subscribe fails.
func (h *Hub) subscribe(transport int, q resume, addrKey string, hk hooks) (*reader, error) {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		h.release(addrKey)
		return nil, errClosing
	}
	defer h.mu.Unlock()
	var (
		frames    [][]byte
		head      uint64
		recovered bool
	)
	if q.hasSince && (q.epoch == "" || q.epoch == h.deps.Epoch) {
		var entries []*history.Entry
		entries, head, recovered = h.deps.Log.Since(q.since)
		if recovered {
			frames = make([][]byte, 1, len(entries)+1)
			for _, e := range entries {
				if kind, ok := kindFor(&q.filter, e); ok {
					frames = h.resumeFrame(frames, e, transport, kind)
				}
			}
		}
	}
	if !recovered {
		var entries []*history.Entry
		entries, head = h.deps.Log.Latest(q.filter, q.backfill)
		frames = make([][]byte, 1, len(entries)+1)
		for _, e := range entries {
			// The snapshot stands at head: that is the seq to resume from.
			frames = append(frames, buildFrame(transport, kindItem, head, itemJSON(e)))
		}
	}
	cursor, backfill := head, len(frames)-1
	if recovered {
		cursor, backfill = q.since, 0
	}
	frames[0] = welcomeFrame(transport, head, cursor, h.deps.Epoch, recovered, backfill)

	key := groupKey{transport: transport, filter: q.filter.Key()}
	g := h.groups[key]
	if g == nil {
		g = &group{transport: transport, filter: q.filter, readers: make(map[*reader]struct{})}
		h.groups[key] = g
	}
	hk.schedule = h.schedule
	r := newReader(g, head, h.opts.QueueSize, frames, hk)
	r.addrKey = addrKey
	r.transport = transport
	g.readers[r] = struct{}{}
	h.count++
	h.counts[transport]++
	h.tm[transport].connects.Inc()
	h.wg.Add(1)
	return r, nil
}

func (h *Hub) schedule(r *reader) { h.runq.push(r) }

func (h *Hub) unsubscribe(r *reader) {
	h.mu.Lock()
	g := r.group
	delete(g.readers, r)
	if len(g.readers) == 0 {
		delete(h.groups, groupKey{transport: g.transport, filter: g.filter.Key()})
	}
	h.count--
	h.counts[r.transport]--
	h.mu.Unlock()
	r.mu.Lock()
	reason := r.gone
	r.mu.Unlock()
	if reason == "" {
		reason = metrics.ReasonClosed
	}
	h.m.Disconnects.WithLabelValues(transportNames[r.transport], reason).Inc()
	h.release(r.addrKey)
	h.wg.Done()
}

// Close asks every reader to go (WebSocket status 1001, end of SSE stream),
// refuses new ones, and waits until they are gone or ctx ends, when it closes
// the rest at once.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	var all []*reader
	for _, g := range h.groups {
		for r := range g.readers {
			all = append(all, r)
		}
	}
	h.mu.Unlock()
	for _, r := range all {
		r.setState(stateShutdown)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		for _, r := range all {
			r.closeNow()
		}
		<-done
		err = ctx.Err()
	}
	h.runq.close()
	return err
}
