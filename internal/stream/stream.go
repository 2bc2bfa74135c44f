package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors callers test with errors.Is.
var (
	// ErrUnavailable: NATS or the stream cannot be reached now; nothing was
	// written (or, after a timeout, it is unknown, and a retry with the same
	// idempotency key is safe).
	ErrUnavailable = errors.New("news stream unavailable")
	// ErrNotFound: no such item.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the item changed since it was read (optimistic concurrency).
	ErrConflict = errors.New("item changed concurrently")
)

// Defaults of Options, exported for the command's flags.
const (
	DefaultStoreDir          = "./data/nats"
	DefaultMaxStore          = 8 << 30   // bytes
	DefaultMaxMemory         = 256 << 20 // bytes
	DefaultMaxAge            = 30 * 24 * time.Hour
	DefaultMaxEvents         = 100_000
	DefaultAuditMaxAge       = 90 * 24 * time.Hour
	DefaultIdempotencyWindow = 24 * time.Hour
	DefaultTimeout           = 5 * time.Second
)

// Deps are what Open is given rather than configured with.
type Deps struct {
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Options say how to reach NATS and how to lay out the stream. The zero
// value runs an embedded server storing under DefaultStoreDir; a zero
// field means its default.
type Options struct {
	// URL of an external NATS (comma-separated servers). Empty: embedded.
	URL string
	// CredsFile is a NATS credentials file for URL. Optional.
	CredsFile string
	// StoreDir is where the embedded server keeps JetStream. Default ./data/nats.
	StoreDir string
	// Listen opens the embedded server's client port at host:port (port 0:
	// one the system chooses). Default: none.
	Listen string
	// User and Password authenticate to NATS. With URL they are sent as
	// the user and password (a user and password in URL win). Embedded,
	// they are what the server requires of every client, this instance's
	// own in-process connection included. Give both or neither.
	User, Password string
	// CredentialsFile keeps the user and password the embedded server
	// generates for its client port when Listen is set and User is not
	// (mode 0600, as NEWSFLASH_NATS_USER=... and NEWSFLASH_NATS_PASSWORD=...
	// lines). Default: nats-credentials beside StoreDir.
	CredentialsFile string
	// MaxStore and MaxMemory limit the embedded JetStream. Defaults
	// DefaultMaxStore (8 GiB) and DefaultMaxMemory (256 MiB).
	MaxStore, MaxMemory int64
	// Replicas of the stream and buckets. Default (0): 3 when the NATS
	// cluster has at least 3 servers, else 1; always 1 when embedded.
	Replicas int
	// StreamName of the news stream; every other stream, bucket, consumer
	// and subject is named after it (see Layout). Letters, digits, '_' and
	// '-'. Default DefaultStreamName.
	StreamName string
	// MaxAge and MaxEvents bound the stream's history. Defaults
	// DefaultMaxAge (30 days) and DefaultMaxEvents (100,000).
	MaxAge    time.Duration
	MaxEvents int64
	// AuditMaxAge is how long the audit stream (Layout.AuditStream, a copy
	// of every event) keeps events, whatever the news stream's own limits.
	// Default DefaultAuditMaxAge (90 days).
	AuditMaxAge time.Duration
	// IdempotencyWindow is how long an Idempotency-Key is remembered.
	// Default DefaultIdempotencyWindow (24 h), and never longer than MaxAge.
	IdempotencyWindow time.Duration
	// Timeout of one request to JetStream. Default DefaultTimeout (5 s).
	Timeout time.Duration
	// ScheduleMaxAhead is how far ahead items may be scheduled: the
	// scheduled items' bucket keeps records a little longer than that.
	// Default DefaultScheduleMaxAhead (30 days).
	ScheduleMaxAhead time.Duration
}

func (c *Options) setDefaults() {
	if c.StoreDir == "" {
		c.StoreDir = DefaultStoreDir
	}
	if c.CredentialsFile == "" {
		c.CredentialsFile = filepath.Join(filepath.Dir(c.StoreDir), "nats-credentials")
	}
	if c.MaxStore == 0 {
		c.MaxStore = DefaultMaxStore
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.StreamName == "" {
		c.StreamName = DefaultStreamName
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.AuditMaxAge == 0 {
		c.AuditMaxAge = DefaultAuditMaxAge
	}
	if c.IdempotencyWindow == 0 {
		c.IdempotencyWindow = DefaultIdempotencyWindow
	}
	// A key must not outlive the item it stands for: a replay after the item
	// has left the stream would publish it again.
	c.IdempotencyWindow = min(c.IdempotencyWindow, c.MaxAge)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ScheduleMaxAhead <= 0 {
		c.ScheduleMaxAhead = DefaultScheduleMaxAhead
	}
}

// Stream is an open connection to the news stream.
type Stream struct {
	cfg   Options
	log   *slog.Logger
	ns    *server.Server // nil with an external NATS
	nc    *nats.Conn
	js    jetstream.JetStream
	str   jetstream.Stream
	idem  jetstream.KeyValue
	audit jetstream.Stream
	epoch string
	// closed is closed when the NATS connection has closed.
	closed chan struct{}

	followed atomic.Uint64 // the last seq Follow handed over
	stalled  atomic.Bool   // Follow lags the stream without moving
}

// Open starts or connects to NATS and creates or updates the stream and
// bucket. It retries stream setup until ctx ends, since a cluster that is
// electing leaders may not answer for seconds.
func Open(ctx context.Context, deps Deps, cfg Options) (*Stream, error) {
	if err := CheckStreamName(cfg.StreamName); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	if (cfg.User == "") != (cfg.Password == "") {
		return nil, errors.New("nats: give both a user and a password, or neither")
	}
	if cfg.URL == "" && cfg.Listen != "" && cfg.User == "" {
		var err error
		if cfg.User, cfg.Password, err = loadCredentials(cfg.CredentialsFile, log); err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
	}
	s := &Stream{cfg: cfg, log: log, closed: make(chan struct{})}
	opts := []nats.Option{
		nats.ClosedHandler(func(*nats.Conn) { close(s.closed) }),
		nats.Name("newsflash"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			s.log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		// Asynchronous errors (a watch's consumer missing its heartbeats
		// while NATS is away; it is made again by itself) go to the log,
		// not to stderr as nats.go would print them.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			s.log.Warn("nats asynchronous error", "subject", subject, "err", err)
		}),
	}
	url := cfg.URL
	if url == "" {
		ns, err := startEmbedded(cfg, s.log)
		if err != nil {
			return nil, err
		}
		s.ns = ns
		url = ns.ClientURL()
		opts = append(opts, nats.InProcessServer(ns))
	} else if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		s.shutdownServer()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	s.nc = nc
	if s.cfg.Replicas == 0 {
		s.cfg.Replicas = 1
		if s.ns == nil && len(nc.Servers()) >= 3 {
			s.cfg.Replicas = 3
		}
		s.log.Info("stream replicas chosen from the cluster size", "servers", len(nc.Servers()), "replicas", s.cfg.Replicas)
	}
	if s.js, err = jetstream.New(nc, jetstream.WithDefaultTimeout(cfg.Timeout)); err != nil {
		s.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := s.setup(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stream) setup(ctx context.Context) error {
	sc := jetstream.StreamConfig{
		Name:        s.Layout().NewsStream(),
		Description: "Newsflash news events: one subject per item",
		Subjects:    []string{s.Layout().NewsSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
		MaxAge:      s.cfg.MaxAge,
		MaxMsgs:     s.cfg.MaxEvents,
		MaxMsgSize:  64 << 10,
		Duplicates:  2 * time.Minute,
		DenyDelete:  true,
		DenyPurge:   true,
	}
	kc := jetstream.KeyValueConfig{
		Bucket:       s.Layout().IdempotencyBucket(),
		Description:  "Editors' Idempotency-Key claims",
		TTL:          s.cfg.IdempotencyWindow,
		MaxValueSize: 1024,
		Storage:      jetstream.FileStorage,
		Replicas:     s.cfg.Replicas,
	}
	ec := s.editorsConfig()
	sc2 := s.scheduledConfig()
	stc := s.storiesConfig()
	ac := s.auditConfig()
	wh, ws, wj := WebhookConfigs(s.Layout(), s.cfg.Replicas)
	return Retry(ctx, s.cfg.Timeout, s.log, func(ctx context.Context) error {
		str, err := EnsureStream(ctx, s.js, sc, s.log)
		if errors.Is(err, ErrIncompatible) {
			return RetryStop{err}
		}
		if err != nil {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
		kv, err := EnsureKeyValue(ctx, s.js, kc)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", kc.Bucket, err)
		}
		// Before the audit stream, which copies it.
		if _, err := EnsureKeyValue(ctx, s.js, ec); err != nil {
			return fmt.Errorf("create bucket %s: %w", ec.Bucket, err)
		}
		if _, err := EnsureKeyValue(ctx, s.js, sc2); err != nil {
			return fmt.Errorf("create bucket %s: %w", sc2.Bucket, err)
		}
		if _, err := EnsureKeyValue(ctx, s.js, stc); err != nil {
			return fmt.Errorf("create bucket %s: %w", stc.Bucket, err)
		}
		for _, c := range []jetstream.KeyValueConfig{wh, ws} {
			if _, err := EnsureKeyValue(ctx, s.js, c); err != nil {
				return fmt.Errorf("create bucket %s: %w", c.Bucket, err)
			}
		}
		if _, err := EnsureStream(ctx, s.js, wj, s.log); err != nil {
			return fmt.Errorf("create stream %s: %w", wj.Name, err)
		}
		pc := WebhookPlannerConfig(s.Layout())
		if _, err := s.js.Consumer(ctx, sc.Name, pc.Durable); errors.Is(err, jetstream.ErrConsumerNotFound) {
			if _, err := s.js.CreateOrUpdateConsumer(ctx, sc.Name, pc); err != nil {
				return fmt.Errorf("create consumer %s: %w", pc.Durable, err)
			}
		} else if err != nil {
			return fmt.Errorf("consumer %s: %w", pc.Durable, err)
		}
		audit, err := EnsureStream(ctx, s.js, ac, s.log)
		if errors.Is(err, ErrIncompatible) {
			return RetryStop{err}
		}
		if err != nil {
			return fmt.Errorf("create stream %s: %w", ac.Name, err)
		}
		s.str, s.idem, s.audit = str, kv, audit
		s.epoch = strconv.FormatInt(str.CachedInfo().Created.UnixNano(), 36)
		return nil
	})
}

// RetryStop ends Retry at once with its error.
type RetryStop struct{ Err error }

func (r RetryStop) Error() string { return r.Err.Error() }

// Retry runs fn with a per-try timeout until it succeeds, returns a
// RetryStop, or ctx ends. JetStream requests during a cluster's elections
// can go unanswered: a request that is never answered must not hold
// start-up for longer than one try.
func Retry(ctx context.Context, timeout time.Duration, log *slog.Logger, fn func(context.Context) error) error {
	wait := 250 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		err := fn(tctx)
		cancel()
		if err == nil {
			return nil
		}
		var stop RetryStop
		if errors.As(err, &stop) {
			return stop.Err
		}
		log.Warn("stream setup failed; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// Epoch identifies this incarnation of the stream: it changes when the
// stream is deleted and made anew, and then old seqs mean nothing.
func (s *Stream) Epoch() string { return s.epoch }

// Ready reports whether NATS is connected and the stream answers.
func (s *Stream) Ready(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("%w: nats %s", ErrUnavailable, s.nc.Status())
	}
	if _, err := s.LastSeq(ctx); err != nil {
		return err
	}
	if s.stalled.Load() {
		return fmt.Errorf("%w: following the stream is stalled at seq %d", ErrUnavailable, s.followed.Load())
	}
	return nil
}

// Connected reports whether the NATS connection is up (metrics).
func (s *Stream) Connected() bool { return s.nc.IsConnected() }

// Stalled reports whether following the stream is stalled (metrics).
func (s *Stream) Stalled() bool { return s.stalled.Load() }

// LastSeq asks the stream for its newest sequence.
func (s *Stream) LastSeq(ctx context.Context) (uint64, error) {
	info, err := s.str.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: stream info: %v", ErrUnavailable, err)
	}
	return info.State.LastSeq, nil
}

// Close drains the NATS connection and stops the embedded server.
func (s *Stream) Close() {
	if s.nc != nil {
		if err := s.nc.Drain(); err == nil {
			select {
			case <-s.closed:
			case <-time.After(s.cfg.Timeout):
			}
		}
		s.nc.Close()
	}
	s.shutdownServer()
}

func (s *Stream) shutdownServer() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
}

// ClientURL is the embedded server's URL ("" with an external NATS or
// when it opens no port): other processes may join it there.
func (s *Stream) ClientURL() string {
	if s.ns == nil || s.cfg.Listen == "" {
		return ""
	}
	return s.ns.ClientURL()
}

// JetStream returns the JetStream handle, for packages that keep their own
// buckets and work queues on the same NATS (push), named by Layout.
func (s *Stream) JetStream() jetstream.JetStream { return s.js }

// Replicas is the replica count for streams and buckets.
func (s *Stream) Replicas() int { return s.cfg.Replicas }

// Layout names the streams, buckets, consumers and subjects on this NATS.
func (s *Stream) Layout() Layout { return NewLayout(s.cfg.StreamName) }

// Timeout is the per-request timeout to JetStream.
func (s *Stream) Timeout() time.Duration { return s.cfg.Timeout }
