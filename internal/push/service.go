package push

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/history"
	"newsflash/internal/limit"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/stream"
)

// Config wires the push service. JetStream, NewsStream, Log, Taxonomy,
// Identity and Policy are required.
type Config struct {
	JetStream jetstream.JetStream
	// NewsStream is the name of the news stream and NewsSubjects its filter.
	NewsStream, NewsSubjects string
	// Replicas of the push buckets and work queue. Default 1.
	Replicas int
	Log      *history.Log
	Taxonomy *news.Taxonomy
	Identity *Identity
	Policy   *pushpolicy.Policy
	// Prefix names the buckets and the work queue. Default "NEWSFLASH".
	Prefix string
	// TTL of a notification by priority. Defaults: flash 6 h, urgent 12 h,
	// breaking 24 h. Never 0.
	TTL map[string]time.Duration
	// Partitions each event's deliveries are split into. Default 16.
	Partitions int
	// Jobs this instance works on at once. A job mostly waits on push
	// services, so this is high; sends are bounded per host. Default 256.
	Jobs int
	// PerHost is how many sends to one push-service host may be in flight
	// from this instance, over all jobs. Default 64.
	PerHost int
	// CheckpointInterval is how often at most a job records its progress
	// while it sends (a fsynced JetStream write each time). A crash makes
	// again the sends in flight and those finished since the job's last
	// record: at most PerHost per host plus about CheckpointInterval × the
	// instance's sends a second. Default 20 ms; negative: record after every
	// change, one record at a time (measured on 2 cores: about one record
	// per 2 sends, a third of the push throughput; docs/BENCHMARKS.md).
	CheckpointInterval time.Duration
	// MaxAttempts of one send (429, 5xx, network errors). Default 5.
	MaxAttempts int
	// MaxRetryTime bounds the retries of one job. Default 10 min (and never
	// more than half the notification's TTL).
	MaxRetryTime time.Duration
	// SubscribePerHour is how many new subscriptions one client address
	// may create per hour. Default 30.
	SubscribePerHour int
	// Timeout of one JetStream request. Default 5 s.
	Timeout time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Metrics to report to. Default: metrics of its own (not served).
	Metrics *metrics.Metrics
}

// Service is Web Push for one instance.
type Service struct {
	cfg    Config
	log    *slog.Logger
	policy *pushpolicy.Policy
	client *http.Client
	subs   jetstream.KeyValue // subscription id → Subscription
	prog   jetstream.KeyValue // itemID.seq.partition → progress
	jobs   jetstream.Stream   // work queue of delivery jobs
	index  *index
	stats  *statsView
	limit  *limit.Rate // new subscriptions per client address
	hosts  *hostGate
	// answered is when (Config.Now, Unix ns) a push service last answered
	// a request of this instance, whatever the status; 0 before the first.
	answered atomic.Int64

	stop    context.CancelFunc
	wg      sync.WaitGroup
	started chan struct{} // closed when the index has loaded
}

// New checks cfg, creates or updates the buckets and the work queue.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.JetStream == nil || cfg.NewsStream == "" || cfg.Log == nil || cfg.Taxonomy == nil || cfg.Identity == nil || cfg.Policy == nil {
		return nil, errors.New("push: JetStream, NewsStream, Log, Taxonomy, Identity and Policy are required")
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "NEWSFLASH"
	}
	ttl := map[string]time.Duration{news.PriorityFlash: 6 * time.Hour, news.PriorityUrgent: 12 * time.Hour, news.PriorityBreaking: 24 * time.Hour}
	for k, v := range cfg.TTL {
		if v < time.Second {
			return nil, fmt.Errorf("push: TTL for %s must be at least 1s", k)
		}
		ttl[k] = v
	}
	cfg.TTL = ttl
	if cfg.Partitions <= 0 {
		cfg.Partitions = 16
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = 256
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 64
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = 20 * time.Millisecond
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MaxRetryTime <= 0 {
		cfg.MaxRetryTime = 10 * time.Minute
	}
	if cfg.SubscribePerHour <= 0 {
		cfg.SubscribePerHour = 30
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, policy: cfg.Policy, client: cfg.Policy.Client(),
		index: newIndex(cfg.Partitions), stats: newStatsView(), limit: limit.NewRate(cfg.SubscribePerHour, time.Hour, cfg.SubscribePerHour, 0),
		hosts: newHostGate(), started: make(chan struct{}),
	}
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

const jobsSubject = "newsflash.push.jobs"

func (s *Service) setup(ctx context.Context) error {
	return stream.Retry(ctx, s.cfg.Timeout, s.log, s.setupOnce)
}

func (s *Service) setupOnce(ctx context.Context) error {
	js, r := s.cfg.JetStream, s.cfg.Replicas
	var err error
	if s.subs, err = stream.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: s.cfg.Prefix + "_push_subscriptions", Description: "Web Push subscriptions",
		History: 1, MaxValueSize: 8 << 10, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("push: subscriptions bucket: %w", err)
	}
	if s.prog, err = stream.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: s.cfg.Prefix + "_push_progress", Description: "Web Push delivery progress and counts per job",
		History: 1, TTL: progressTTL, MaxValueSize: progressValueMax, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("push: progress bucket: %w", err)
	}
	if s.jobs, err = stream.EnsureStream(ctx, js, jetstream.StreamConfig{
		Name: s.cfg.Prefix + "_PUSH", Description: "Web Push delivery jobs: one per event and partition",
		Subjects: []string{jobsSubject}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Replicas: r, MaxAge: 48 * time.Hour, Duplicates: time.Hour, MaxMsgSize: 1024,
	}, s.log); err != nil {
		return fmt.Errorf("push: job queue: %w", err)
	}
	// The planner's consumer exists before the server takes posts (it is
	// created here, not when the planner starts): an event published
	// before it exists would never be pushed.
	if _, err := s.ensureConsumer(ctx, s.cfg.NewsStream, s.plannerConfig()); err != nil {
		return fmt.Errorf("push: planner consumer: %w", err)
	}
	return nil
}

// Start runs the watcher, the planner and the workers until Stop.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.run(ctx, "subscriptions", func(ctx context.Context) error { return s.watchSubscriptions(ctx) })
	s.run(ctx, "progress", func(ctx context.Context) error { return s.watchProgress(ctx) })
	s.run(ctx, "planner", func(ctx context.Context) error {
		select {
		case <-s.started:
		case <-ctx.Done():
			return nil
		}
		return s.plan(ctx)
	})
	s.run(ctx, "workers", func(ctx context.Context) error {
		select {
		case <-s.started:
		case <-ctx.Done():
			return nil
		}
		return s.work(ctx)
	})
}

// run keeps fn running, restarting it after failures, until ctx ends.
func (s *Service) run(ctx context.Context, name string, fn func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("push: restarting after failure", "part", name, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
}

// Stop ends the goroutines; unfinished jobs are left to other instances
// (or to this one after a restart).
func (s *Service) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

// Ready is closed once the subscriptions have been loaded.
func (s *Service) Ready() <-chan struct{} { return s.started }

func encodeB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Subscriptions is how many subscriptions this instance knows.
func (s *Service) Subscriptions() int { return s.index.Len() }
