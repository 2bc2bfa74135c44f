package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/stream"
)

// Defaults of Options, exported for the command's flags.
const (
	DefaultWorkers   = 32
	DefaultRetryBase = 5 * time.Second
	DefaultRetryMax  = time.Hour
	DefaultRetryFor  = 25 * time.Hour
	DefaultTimeout   = 5 * time.Second
)

// Deps are what the service is given. All but Stories, Logger and Now are
// required.
type Deps struct {
	// JetStream keeps the endpoints, counts and work queue beside the news
	// stream, which must exist.
	JetStream jetstream.JetStream
	// Layout names the news stream, buckets, queue and consumers.
	Layout   stream.Layout
	Taxonomy *news.Taxonomy
	// Stories says which story slugs a filter may name (known ones, open
	// or closed). nil: none.
	Stories news.Stories
	// Policy checks endpoint URLs and makes every delivery; build it with
	// pushpolicy.Options.AnyPublicHost. Its timeout bounds one delivery.
	Policy *pushpolicy.Policy
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Options tune delivery. A zero field means its default.
type Options struct {
	// Replicas of the buckets and the work queue. Default 1 (the server
	// passes the news stream's).
	Replicas int
	// Workers is how many deliveries this instance makes at once. Default
	// DefaultWorkers (32).
	Workers int
	// RetryBase is the wait before the first retry of a failed delivery;
	// each later retry waits twice as long, up to RetryMax, each wait
	// with ±20 % jitter (Backoff). Defaults DefaultRetryBase (5 s) and
	// DefaultRetryMax (1 h).
	RetryBase, RetryMax time.Duration
	// RetryFor is how long after its event a delivery is still tried.
	// Default DefaultRetryFor (25 h).
	RetryFor time.Duration
	// Timeout of one JetStream request. Default DefaultTimeout (5 s).
	Timeout time.Duration
}

type config struct {
	Deps
	Options
}

// Service keeps the endpoints and delivers to them. Build it with New,
// run it with Start.
type Service struct {
	// Set in New and never changed.
	cfg   config
	log   *slog.Logger
	hooks jetstream.KeyValue // endpoints by id
	stats jetstream.KeyValue // counts by endpoint id

	// The consumers as setup made them; each is then owned by the loop
	// that uses it (plan, work), which opens it again after a failure.
	planner, workers jetstream.Consumer

	stop   context.CancelFunc // set by Start
	loaded chan struct{}      // closed once the endpoints are loaded; the planner waits for it
	wg     sync.WaitGroup

	mu    sync.RWMutex
	known map[string]*Endpoint // the endpoints as this instance's watch last saw them; guarded by mu
}

// New checks its inputs and makes (or opens) the buckets, the work queue
// and the planner's consumer, so no event published after New returns is
// missed.
func New(ctx context.Context, deps Deps, opts Options) (*Service, error) {
	if deps.JetStream == nil || deps.Taxonomy == nil || deps.Policy == nil {
		return nil, errors.New("webhook: JetStream, Taxonomy and Policy are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = DefaultRetryBase
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = DefaultRetryFor
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	s := &Service{cfg: config{deps, opts}, log: deps.Logger, known: map[string]*Endpoint{}, loaded: make(chan struct{})}
	if err := stream.Retry(ctx, opts.Timeout, s.log, s.setup); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) setup(ctx context.Context) error {
	js, r, l := s.cfg.JetStream, s.cfg.Replicas, s.cfg.Layout
	var err error
	hc, sc, jc := stream.WebhookConfigs(l, r)
	if s.hooks, err = stream.EnsureKeyValue(ctx, js, hc); err != nil {
		return fmt.Errorf("webhook: endpoints bucket: %w", err)
	}
	if s.stats, err = stream.EnsureKeyValue(ctx, js, sc); err != nil {
		return fmt.Errorf("webhook: stats bucket: %w", err)
	}
	if _, err = stream.EnsureStream(ctx, js, jc, s.log); err != nil {
		return fmt.Errorf("webhook: job queue: %w", err)
	}
	// Both consumers are made here, before the server takes posts: an
	// event published before the planner's exists would never be sent. And
	// no JetStream request of the loops is left in flight should the
	// server fail to start and stop at once.
	if s.planner, err = s.ensureConsumer(ctx, l.NewsStream(), s.plannerConfig()); err != nil {
		return fmt.Errorf("webhook: planner consumer: %w", err)
	}
	if s.workers, err = s.ensureConsumer(ctx, l.WebhookJobsStream(), s.workersConfig()); err != nil {
		return fmt.Errorf("webhook: workers consumer: %w", err)
	}
	return nil
}

// ensureConsumer opens a durable consumer, creating it when it is missing;
// one that exists is left as it is (several instances start at once).
func (s *Service) ensureConsumer(ctx context.Context, str string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := s.cfg.JetStream.Consumer(ctx, str, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return s.cfg.JetStream.CreateOrUpdateConsumer(ctx, str, cfg)
	}
	return c, err
}

// Start runs the endpoints' watch, the planner and the workers until Stop.
// It starts nothing that can fail: the server calls it once its own start
// can no longer fail, so a failed start leaves no pull or watch in flight.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.run(ctx, "endpoints", s.watchEndpoints)
	s.run(ctx, "planner", func(ctx context.Context) error {
		if !s.waitLoaded(ctx) {
			return nil
		}
		return s.plan(ctx)
	})
	s.run(ctx, "workers", s.work)
}

func (s *Service) waitLoaded(ctx context.Context) bool {
	select {
	case <-s.loaded:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchEndpoints loads the endpoints, so the planner plans for all of them,
// then follows their changes until ctx ends.
func (s *Service) watchEndpoints(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	w, err := stream.LoadWatch(lctx, s.hooks, "webhook endpoints", s.apply)
	cancel()
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	select {
	case <-s.loaded:
	default:
		close(s.loaded)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("endpoints watch ended")
			}
			if e != nil {
				s.apply(e)
			}
		}
	}
}

func (s *Service) apply(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.known, e.Key())
		return
	}
	var ep Endpoint
	if err := json.Unmarshal(e.Value(), &ep); err != nil {
		s.log.Error("webhook: undecodable endpoint record", "key", e.Key(), "err", err)
		return
	}
	s.known[e.Key()] = &ep
}

// Known reports whether this instance's planner knows the endpoint (tests
// wait for it after a create).
func (s *Service) Known(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.known[id]
	return ok
}

// run keeps fn running, restarting it after failures, until ctx ends.
func (s *Service) run(ctx context.Context, name string, fn func(context.Context) error) {
	stream.Supervise(ctx, &s.wg, s.log, "webhook", name, fn)
}

// Stop ends the goroutines and waits for them; unfinished jobs come back
// to some instance after the queue's ack wait.
func (s *Service) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

// Backoff is the wait before retry n (1 for the first retry): RetryBase ×
// 2^(n-1), at most RetryMax, with ±20 % jitter.
func (s *Service) Backoff(n int) time.Duration {
	d := s.cfg.RetryMax
	if n < 1 {
		n = 1
	}
	if n <= 40 {
		if b := s.cfg.RetryBase << (n - 1); b > 0 && b < d {
			d = b
		}
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
