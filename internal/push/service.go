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

	"newsflash/internal/apns"
	"newsflash/internal/fcm"
	"newsflash/internal/history"
	"newsflash/internal/limit"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/stream"
)

// Defaults of Options, exported for the command's flags.
const (
	DefaultTTLFlash           = 6 * time.Hour
	DefaultTTLUrgent          = 12 * time.Hour
	DefaultTTLBreaking        = 24 * time.Hour
	DefaultPartitions         = 16
	DefaultJobs               = 256
	DefaultPerHost            = 64
	DefaultFCMConcurrency     = 256
	DefaultAPNsConcurrency    = 256
	DefaultCheckpointInterval = 20 * time.Millisecond
	DefaultMaxAttempts        = 5
	DefaultMaxRetryTime       = 10 * time.Minute
	DefaultSubscribePerHour   = 30
	DefaultTimeout            = 5 * time.Second
)

// MinTTL and MaxTTL bound a notification's TTL (Options.TTL).
const (
	MinTTL = time.Second
	MaxTTL = 28 * 24 * time.Hour
)

// Deps are what the push service is given. JetStream, Layout's stream
// (it must exist), Log and Taxonomy are required, and at least one
// platform: Identity and Policy (web), FCM (android) or APNs (ios).
type Deps struct {
	// JetStream is where the push buckets and work queue are kept, beside
	// the news stream.
	JetStream jetstream.JetStream
	// Layout names the news stream the planner follows and the push
	// buckets, work queue and consumers (stream.Stream.Layout). The zero
	// Layout is the default one.
	Layout   stream.Layout
	Log      *history.Log
	Taxonomy *news.Taxonomy
	// Identity (VAPID) and Policy (which endpoints may be dialled) make
	// Web Push; nil Identity: web subscriptions are refused (503
	// push_disabled) and web records are sent nothing.
	Identity *Identity
	Policy   *pushpolicy.Policy
	// FCM sends to Android devices, APNs to iOS devices; nil: that
	// platform is not enabled (POST /api/v1/devices answers 503
	// platform_disabled).
	FCM  *fcm.Client
	APNs *apns.Client
	// Stories says which stories are open, for prefs.stories (refused
	// unless known and open) and story follows. nil: no story is open.
	Stories news.Stories
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Metrics to report to. Default: metrics of its own (not served).
	Metrics *metrics.Metrics
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Options tune delivery. A zero field means its default.
type Options struct {
	// Replicas of the push buckets and work queue. Default 1 (the server
	// passes the news stream's).
	Replicas int
	// TTL of a notification by priority (news.PriorityFlash, …), MinTTL to
	// MaxTTL; a priority missing or zero has its default: DefaultTTLFlash
	// (6 h), DefaultTTLUrgent (12 h), DefaultTTLBreaking (24 h).
	TTL map[string]time.Duration
	// Partitions each event's deliveries are split into. Default
	// DefaultPartitions (16).
	Partitions int
	// Jobs this instance works on at once. A job mostly waits on push
	// services, so this is high; sends are bounded per host. Default
	// DefaultJobs (256).
	Jobs int
	// PerHost is how many sends to one push-service host may be in flight
	// from this instance, over all jobs. Default DefaultPerHost (64).
	PerHost int
	// FCMConcurrency and APNsConcurrency are how many sends to FCM and to
	// APNs may be in flight from this instance, over all jobs (each
	// provider is one "host"). Default DefaultFCMConcurrency (256),
	// DefaultAPNsConcurrency (256).
	FCMConcurrency  int
	APNsConcurrency int
	// CheckpointInterval is how often at most a job records its progress
	// while it sends (a fsynced JetStream write each time). A crash makes
	// again the sends in flight and those finished since the job's last
	// record: at most PerHost per host plus about CheckpointInterval × the
	// instance's sends a second. Default DefaultCheckpointInterval (20 ms);
	// negative: no interval, record after every change, one record at a
	// time (under load many more records, and less throughput:
	// docs/BENCHMARKS.md). The flag's 0 is this negative value.
	CheckpointInterval time.Duration
	// MaxAttempts of one send (429, 5xx, network errors). Default
	// DefaultMaxAttempts (5).
	MaxAttempts int
	// MaxRetryTime bounds the retries of one job. Default
	// DefaultMaxRetryTime (10 min), and never more than half the
	// notification's TTL.
	MaxRetryTime time.Duration
	// SubscribePerHour is how many new subscriptions one client address
	// may create per hour. Default DefaultSubscribePerHour (30).
	SubscribePerHour int
	// Timeout of one JetStream request. Default DefaultTimeout (5 s).
	Timeout time.Duration
	// ReceiptRate is how many receipts (POST /api/v1/push/receipts) one
	// client address may post per minute. Default DefaultReceiptRate
	// (600); negative: no limit.
	ReceiptRate int
}

// config is what the Service runs with: its Deps and Options, defaulted.
type config struct {
	Deps
	Options
}

// Service is Web Push for one instance.
type Service struct {
	cfg    config
	log    *slog.Logger
	policy *pushpolicy.Policy
	client *http.Client
	subs   jetstream.KeyValue // subscription id → Subscription
	prog   jetstream.KeyValue // itemID.seq.partition → progress
	jobs   jetstream.Stream   // work queue of delivery jobs
	index  *index
	stats  *statsView
	limit  *limit.Rate // new subscriptions per client address
	// Receipts (receipts.go): the MAC key (set up before Start, then only
	// read), the bucket of counted receipts, their view, and the limit
	// per client address.
	rkey         receiptKey
	rcpts        jetstream.KeyValue // item.platform.event.nonce → ms from the alert
	receipts     *receiptView
	receiptLimit *limit.Rate
	hosts        *hostGate
	// senders by platform; nil: the platform is not enabled.
	senders [numPlatforms]sender
	// answered is when (Config.Now, Unix ns) a push service last answered
	// a request of this instance, whatever the status; 0 before the first.
	answered atomic.Int64

	stop    context.CancelFunc
	wg      sync.WaitGroup
	started chan struct{} // closed when the index has loaded
}

// New checks deps and opts, and creates or updates the buckets, the work
// queue and the planner's consumer. It starts no goroutine: Start does.
func New(ctx context.Context, deps Deps, opts Options) (*Service, error) {
	if deps.JetStream == nil || deps.Log == nil || deps.Taxonomy == nil {
		return nil, errors.New("push: JetStream, Log and Taxonomy are required")
	}
	if deps.Identity != nil && deps.Policy == nil {
		return nil, errors.New("push: Web Push (an Identity) needs a Policy")
	}
	cfg := config{Deps: deps, Options: opts}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	ttl := map[string]time.Duration{news.PriorityFlash: DefaultTTLFlash, news.PriorityUrgent: DefaultTTLUrgent, news.PriorityBreaking: DefaultTTLBreaking}
	for k, v := range opts.TTL {
		if _, ok := ttl[k]; !ok {
			return nil, fmt.Errorf("push: TTL for %q: not a priority", k)
		}
		if v == 0 {
			continue
		}
		if v < MinTTL || v > MaxTTL {
			return nil, fmt.Errorf("push: TTL for %s must be %s to %s", k, MinTTL, MaxTTL)
		}
		ttl[k] = v
	}
	cfg.TTL = ttl
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = DefaultJobs
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = DefaultPerHost
	}
	if cfg.FCMConcurrency <= 0 {
		cfg.FCMConcurrency = DefaultFCMConcurrency
	}
	if cfg.APNsConcurrency <= 0 {
		cfg.APNsConcurrency = DefaultAPNsConcurrency
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxRetryTime <= 0 {
		cfg.MaxRetryTime = DefaultMaxRetryTime
	}
	if cfg.SubscribePerHour <= 0 {
		cfg.SubscribePerHour = DefaultSubscribePerHour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReceiptRate == 0 {
		cfg.ReceiptRate = DefaultReceiptRate
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
		cfg: cfg, log: cfg.Logger, policy: cfg.Policy,
		index: newIndex(cfg.Partitions), stats: newStatsView(), limit: limit.NewRate(cfg.SubscribePerHour, time.Hour, cfg.SubscribePerHour, 0),
		hosts: newHostGate(), started: make(chan struct{}),
		receipts: newReceiptView(), receiptLimit: limit.NewRate(cfg.ReceiptRate, time.Minute, min(receiptBurst, cfg.ReceiptRate), 0),
	}
	if cfg.Identity != nil {
		s.client = cfg.Policy.Client()
		s.senders[platformWeb] = webSender{s}
	}
	s.addProviders()
	if s.senders == ([numPlatforms]sender{}) {
		return nil, errors.New("push: no platform: give an Identity (web), FCM or APNs")
	}
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) setup(ctx context.Context) error {
	return stream.Retry(ctx, s.cfg.Timeout, s.log, s.setupOnce)
}

func (s *Service) setupOnce(ctx context.Context) error {
	js, r, l := s.cfg.JetStream, s.cfg.Replicas, s.cfg.Layout
	var err error
	if s.subs, err = stream.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: l.PushSubscriptionsBucket(), Description: "Web Push subscriptions and app devices",
		History: 1, MaxValueSize: subscriptionValueMax, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("push: subscriptions bucket: %w", err)
	}
	if s.prog, err = stream.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: l.PushProgressBucket(), Description: "Web Push delivery progress and counts per job",
		History: 1, TTL: progressTTL, MaxValueSize: progressValueMax, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("push: progress bucket: %w", err)
	}
	keys, err := stream.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: l.PushKeysBucket(), Description: "Push keys every instance shares (the receipts' MAC key)",
		History: 1, MaxValueSize: 256, Storage: jetstream.FileStorage, Replicas: r,
	})
	if err != nil {
		return fmt.Errorf("push: keys bucket: %w", err)
	}
	if s.rkey, err = loadReceiptKey(ctx, keys); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if s.rcpts, err = stream.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: l.PushReceiptsBucket(), Description: "Receipts of alerts, each (receipt, event) once: counts only",
		History: 1, TTL: progressTTL, MaxValueSize: receiptValueMax, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("push: receipts bucket: %w", err)
	}
	if s.jobs, err = stream.EnsureStream(ctx, js, jetstream.StreamConfig{
		Name: l.PushJobsStream(), Description: "Web Push delivery jobs: one per event and partition",
		Subjects: []string{l.PushJobsSubject()}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Replicas: r, MaxAge: 48 * time.Hour, Duplicates: time.Hour, MaxMsgSize: 1024,
	}, s.log); err != nil {
		return fmt.Errorf("push: job queue: %w", err)
	}
	// The planner's consumer exists before the server takes posts (it is
	// created here, not when the planner starts): an event published
	// before it exists would never be pushed.
	if _, err := s.ensureConsumer(ctx, l.NewsStream(), s.plannerConfig()); err != nil {
		return fmt.Errorf("push: planner consumer: %w", err)
	}
	return nil
}

// subscriptionValueMax bounds a record of the subscriptions bucket: a
// device's FCM token (up to 4,096 characters) and a filter of 64 values in
// each dimension fit.
const subscriptionValueMax = 16 << 10

// Enabled reports whether a platform (PlatformWeb, PlatformAndroid,
// PlatformIOS) is configured on this instance.
func (s *Service) Enabled(platform string) bool {
	p := platformOf(platform)
	return p < numPlatforms && s.senders[p] != nil
}

// Start runs the watcher, the planner and the workers until Stop.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.run(ctx, "subscriptions", func(ctx context.Context) error { return s.watchSubscriptions(ctx) })
	s.run(ctx, "progress", func(ctx context.Context) error { return s.watchProgress(ctx) })
	s.run(ctx, "receipts", func(ctx context.Context) error { return s.watchReceipts(ctx) })
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
	stream.Supervise(ctx, &s.wg, s.log, "push", name, fn)
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
