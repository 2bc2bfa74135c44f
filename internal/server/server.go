package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/apns"
	"newsflash/internal/audit"
	"newsflash/internal/datadir"
	"newsflash/internal/editor"
	"newsflash/internal/fcm"
	"newsflash/internal/feed"
	"newsflash/internal/history"
	"newsflash/internal/limit"
	"newsflash/internal/live"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/push"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/schedule"
	"newsflash/internal/story"
	"newsflash/internal/stream"
	"newsflash/internal/webhook"
	"newsflash/web"
)

// Defaults of Options. The per-address limits' defaults are in abuse.go
// (DefaultReaderConnects, DefaultAPIRequests, DefaultAuthFailures,
// DefaultConnectionsPerAddress); the reader hub's are live's.
const (
	DefaultDataDir           = "./data"
	DefaultMaxBodyBytes      = 64 << 10
	DefaultRequestTimeout    = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
)

// Deps are the objects an instance is wired with. All are optional.
type Deps struct {
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Taxonomy in use. Default news.DefaultTaxonomy().
	Taxonomy *news.Taxonomy
	// Editors allowed to write. Default: one bootstrap editor kept in
	// Options.DataDir.
	Editors *editor.Editors
	// Now is the editor API's clock (the times of items and the flood
	// guard). Default time.Now.
	Now func() time.Time
	// FCMClient and APNsClient carry the requests to FCM and APNs (tests
	// give clients that trust a local stand-in). Default: clients of
	// their own that verify TLS with the system's roots.
	FCMClient  *http.Client
	APNsClient *http.Client
}

// Options of an instance. The zero value is a working single-node server:
// embedded NATS under DefaultDataDir, the default taxonomy, a bootstrap
// editor. The zero value of each field is its default.
type Options struct {
	// DataDir holds the embedded JetStream (DataDir/nats), the bootstrap
	// editor token, the generated credentials of the embedded NATS client
	// port (DataDir/nats-credentials) and the lock that keeps a second
	// server out (DataDir/LOCK). Default DefaultDataDir.
	DataDir string
	// Stream configures NATS; its StoreDir defaults to DataDir/nats and its
	// CredentialsFile to DataDir/nats-credentials.
	Stream stream.Options
	// Live configures the reader hub (queue, pings, origins, reader
	// limits). Its MaxReaders defaults here to the open files limit less
	// 1024 (negative: no limit); its ReadersPerAddress to
	// live.DefaultReadersPerAddress (negative: no limit).
	Live live.Options
	// VAPID is the Web Push identity. With an empty Subject, Web Push is off
	// (its endpoints answer 503 push_disabled) and the rest works.
	VAPID push.IdentityConfig
	// PushPolicy restricts push endpoints (allow-list, test endpoints).
	PushPolicy pushpolicy.Options
	// Push tunes delivery (TTLs, concurrency, limits); its Replicas are
	// the stream's.
	Push push.Options
	// OutboundInsecureTestURLs are "host:port" receivers that webhook URLs
	// (and WebSub callbacks) may name over plain http and on loopback or
	// private addresses: for tests only. Default none: https on 443 to
	// public addresses only.
	OutboundInsecureTestURLs []string
	// Webhooks tunes webhook delivery (workers, retries); its Replicas are
	// the stream's.
	Webhooks webhook.Options
	// FCM turns on Android devices when its Credentials are given
	// (fcm.LoadCredentials); off otherwise.
	FCM fcm.Options
	// APNs turns on iOS devices when its Key is given (apns.LoadKey,
	// with KeyID, TeamID and Topic); off otherwise.
	APNs apns.Options
	// Editor tunes the editors' API: the flood guard's interval and
	// duplicate window (negative: off).
	Editor editor.Options
	// Schedule tunes the scheduler of scheduled items (how late one may
	// still be published). Editor.ScheduleMaxAhead and
	// Editor.ScheduleMaxPending bound what editors may schedule; the
	// former also sets Stream.ScheduleMaxAhead when that is zero.
	Schedule schedule.Options
	// Audit tunes the audit trail's reads. Its retention is
	// Stream.AuditMaxAge.
	Audit audit.Options
	// Stories tunes the stories (the bound on open ones).
	Stories story.Options
	// Feed sets the feeds' public URL (default: from each request).
	Feed feed.Options
	// TrustedProxies are the proxies (addresses or CIDRs) whose
	// X-Forwarded-For and X-Real-IP headers name the client, and whose
	// connections Limits.ConnectionsPerAddress does not count. Default
	// none: the connection's own address is the client's.
	TrustedProxies []string
	// Limits bound what one client address may do (negative: no limit).
	Limits Limits
	// MetricsAllow are the client addresses (CIDRs) that may read
	// GET /metrics. Default: loopback and private addresses.
	MetricsAllow []string
	// MaxBodyBytes bounds request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RequestTimeout bounds reading and writing a non-streaming request.
	// Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	// Default DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
}

// config is what New settled on: the Deps and Options with their defaults.
type config struct {
	Deps
	Options
}

// Server is one running instance.
type Server struct {
	cfg     config
	log     *slog.Logger
	stream  *stream.Stream
	hist    *history.Log
	hub     *live.Hub
	push    *push.Service // nil when Web Push, FCM and APNs are all off
	audit   *audit.Trail
	sched   *schedule.Scheduler
	stories *story.Store
	feeds   *feed.Feeds
	hooks   *webhook.Service // partners' webhooks
	editors *editor.Accounts // signs editors in: the static ones and the runtime accounts
	assets  *web.Assets
	abuse   *abuse
	conns   *limit.Conns   // open connections per address; nil: no limit
	proxies []netip.Prefix // trusted proxies, whose connections conns does not count
	metrics *metrics.Metrics
	ready   *readiness
	engine  *gin.Engine
	http    *http.Server
	dataDir *datadir.Dir // locked until Shutdown

	stopFollow context.CancelFunc
	followDone chan struct{}
	caughtUp   chan struct{}
	closeOnce  sync.Once
}

// New locks the data directory (a second server on it is refused with
// datadir.ErrLocked, naming the holder's PID), opens the stream, starts
// following it and builds the HTTP handler. ctx bounds the start-up (NATS
// connect and stream setup). When a step fails, New undoes the ones before
// it (in reverse): nothing it started is left running and the directory is
// unlocked.
func New(ctx context.Context, deps Deps, opts Options) (_ *Server, err error) {
	cfg := config{Deps: deps, Options: opts}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Stream.URL == "" && cfg.Stream.StoreDir == "" {
		cfg.Stream.StoreDir = filepath.Join(cfg.DataDir, "nats")
	}
	if cfg.Stream.URL == "" && cfg.Stream.CredentialsFile == "" {
		cfg.Stream.CredentialsFile = filepath.Join(cfg.DataDir, "nats-credentials")
	}
	if cfg.Taxonomy == nil {
		cfg.Taxonomy = news.DefaultTaxonomy()
	}
	if cfg.Stream.ScheduleMaxAhead == 0 {
		cfg.Stream.ScheduleMaxAhead = cfg.Editor.ScheduleMaxAhead
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Limits.setDefaults()
	if cfg.Live.MaxReaders == 0 {
		if cfg.Live.MaxReaders = defaultMaxReaders(); cfg.Live.MaxReaders <= 0 {
			cfg.Live.MaxReaders = -1 // the open files limit is unknown or huge
		}
	}
	readers := cfg.Live.ReadersPerAddress
	if readers == 0 {
		readers = live.DefaultReadersPerAddress
	}
	if c, r := cfg.Limits.ConnectionsPerAddress, readers; c > 0 && r > 0 && c <= r {
		return nil, fmt.Errorf("connections per address (%d) must be above readers per address (%d): each reader holds a connection", c, r)
	}
	proxies, err := prefixes("trusted proxies", cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger

	// undo holds what to stop if a later step fails, run in reverse.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	// Before anything in the directory is read or written: a second server
	// on it would run a second JetStream on the same store.
	dir, err := datadir.Lock(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = dir.Release() })
	if cfg.Editors == nil {
		if cfg.Editors, err = editor.Bootstrap(cfg.DataDir, log); err != nil {
			return nil, err
		}
	}
	st, err := stream.Open(ctx, stream.Deps{Logger: log}, cfg.Stream)
	if err != nil {
		return nil, err
	}
	undo = append(undo, st.Close)
	s := &Server{cfg: cfg, log: log, stream: st, dataDir: dir, caughtUp: make(chan struct{}), followDone: make(chan struct{}),
		conns: limit.NewConns(cfg.Limits.ConnectionsPerAddress), proxies: proxies}
	s.ready = newReadiness(st.Ready)
	s.hist = history.New(history.Options{MaxEvents: int(cfg.Stream.MaxEvents), MaxAge: cfg.Stream.MaxAge})

	s.metrics = metrics.New()
	s.metrics.Gauge("nats_connected", "1 while the NATS connection is up, else 0.", func() float64 { return boolGauge(st.Connected()) })
	s.metrics.Gauge("stream_follow_stalled", "1 while following the stream is stalled (the watchdog restarts it), else 0.", func() float64 { return boolGauge(st.Stalled()) })
	s.metrics.Gauge("stream_seq", "The newest event this instance has in its history.", func() float64 { return float64(s.hist.Head()) })
	// The buckets' watches are consumers: on a cluster that is still
	// electing (a fresh or restarted one) creating one can go unanswered,
	// so each is retried, a try at a time, as the stream's setup is.
	err = stream.Retry(ctx, st.Timeout(), log, func(ctx context.Context) error {
		store, err := story.New(ctx, story.Deps{JetStream: st.JetStream(), Layout: st.Layout(), Taxonomy: cfg.Taxonomy,
			Log: s.hist, Logger: log, Now: cfg.Now}, cfg.Stories)
		if err != nil {
			return err
		}
		if err := store.Start(ctx); err != nil {
			return err
		}
		s.stories = store
		return nil
	})
	if err != nil {
		return nil, err
	}
	undo = append(undo, s.stories.Stop)
	if s.hooks, err = s.newWebhooks(ctx); err != nil {
		return nil, err
	}
	undo = append(undo, s.hooks.Stop)
	if s.hub, err = live.New(live.Deps{Log: s.hist, Taxonomy: cfg.Taxonomy, Epoch: st.Epoch(), LastSeq: st.LastSeq, Logger: log, Metrics: s.metrics,
		Stories: s.stories}, cfg.Live); err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = s.hub.Close(context.Background()) })
	err = stream.Retry(ctx, st.Timeout(), log, func(ctx context.Context) error {
		kv, err := st.Editors(ctx)
		if err != nil {
			return fmt.Errorf("editor accounts bucket: %w", err)
		}
		s.editors, err = editor.OpenAccounts(ctx, editor.AccountsDeps{KV: kv, Layout: st.Layout(), Static: cfg.Editors, Logger: log}, editor.AccountsOptions{Timeout: st.Timeout()})
		return err
	})
	if err != nil {
		return nil, err
	}
	undo = append(undo, s.editors.Close)
	err = stream.Retry(ctx, st.Timeout(), log, func(ctx context.Context) error {
		skv, err := st.Scheduled(ctx)
		if err != nil {
			return fmt.Errorf("scheduled items bucket: %w", err)
		}
		if s.sched, err = schedule.New(schedule.Deps{KV: skv, Stream: st, Logger: log, Metrics: s.metrics, Now: cfg.Now}, cfg.Schedule); err != nil {
			return stream.RetryStop{Err: err}
		}
		return s.sched.Start(ctx)
	})
	if err != nil {
		return nil, err
	}
	undo = append(undo, s.sched.Stop)
	s.metrics.Gauge("scheduled_pending", "Scheduled items waiting to be published (on all instances, as this one sees them).", func() float64 { return float64(s.sched.Pending()) })
	if s.push, err = s.newPush(ctx); err != nil {
		return nil, err
	}
	if s.push != nil {
		undo = append(undo, s.push.Stop)
	}
	var channels []editor.Channel
	if s.push != nil {
		channels = pushChannels(s.push)
	}
	api, err := editor.New(editor.Deps{Stream: st, Log: s.hist, Taxonomy: cfg.Taxonomy, Editors: s.editors, Logger: log, Metrics: s.metrics, Now: cfg.Now, Channels: channels, Schedule: s.sched, Stories: s.stories}, cfg.Editor)
	if err != nil {
		return nil, err
	}
	if s.audit, err = audit.New(audit.Deps{JetStream: st.JetStream(), Layout: st.Layout(), Logger: log}, cfg.Audit); err != nil {
		return nil, err
	}
	if s.assets, err = web.Load(); err != nil {
		return nil, err
	}
	if s.feeds, err = feed.New(feed.Deps{Log: s.hist, Taxonomy: cfg.Taxonomy, Stories: s.stories, Ready: s.hub.Ready}, cfg.Feed); err != nil {
		return nil, err
	}
	s.abuse = newAbuse(cfg.Limits)
	if s.engine, err = s.routes(api); err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// Nothing fails after this point: the follower is stopped by Shutdown.
	s.hooks.Start()
	fctx, cancel := context.WithCancel(context.Background())
	s.stopFollow = cancel
	go func() {
		defer close(s.followDone)
		err := st.Follow(fctx, func(ev news.Event) {
			s.hub.Deliver(s.hist.Append(ev))
		}, func() {
			s.hub.SetReady()
			close(s.caughtUp)
			log.Info("history caught up with the stream", "seq", s.hist.Head())
		})
		followEnded(fctx, log, err)
	}()
	return s, nil
}

// followEnded logs why following the stream stopped, unless it stopped
// because Shutdown asked it to: history and readers get no new events.
func followEnded(ctx context.Context, log *slog.Logger, err error) {
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	log.Error("following the stream stopped: readers and history get no new events", "err", err)
}

// newPush starts the push service with the platforms configured: Web Push
// with a VAPID subject, Android with FCM credentials, iOS with an APNs key;
// none of them: no service.
func (s *Server) newPush(ctx context.Context) (*push.Service, error) {
	cfg := s.cfg
	deps := push.Deps{JetStream: s.stream.JetStream(), Layout: s.stream.Layout(), Log: s.hist, Taxonomy: cfg.Taxonomy,
		Stories: s.stories, Logger: s.log, Metrics: s.metrics}
	if strings.TrimSpace(cfg.VAPID.Subject) == "" {
		s.log.Warn("Web Push is off: set --vapid-subject (mailto: or https: contact) to turn it on")
	} else {
		if cfg.VAPID.DataDir == "" {
			cfg.VAPID.DataDir = cfg.DataDir
		}
		id, err := push.LoadIdentity(cfg.VAPID)
		if err != nil {
			return nil, err
		}
		if deps.Policy, err = pushpolicy.New(cfg.PushPolicy); err != nil {
			return nil, err
		}
		deps.Identity = id
		s.log.Info("Web Push on", "vapid_public_key", id.PublicKey, "subject", id.Subject())
	}
	if cfg.FCM.Credentials != nil {
		c, err := fcm.New(fcm.Deps{HTTPClient: cfg.FCMClient, Logger: s.log}, cfg.FCM)
		if err != nil {
			return nil, err
		}
		deps.FCM = c
		s.log.Info("Android push on (FCM)", "project", cfg.FCM.Credentials.ProjectID, "endpoint", cmp.Or(cfg.FCM.Endpoint, fcm.DefaultEndpoint))
	}
	if cfg.APNs.Key != nil {
		c, err := apns.New(apns.Deps{HTTPClient: cfg.APNsClient, Logger: s.log}, cfg.APNs)
		if err != nil {
			return nil, err
		}
		deps.APNs = c
		s.log.Info("iOS push on (APNs)", "topic", cfg.APNs.Topic, "endpoint", cmp.Or(cfg.APNs.Endpoint, apns.DefaultEndpoint))
	}
	if deps.Identity == nil && deps.FCM == nil && deps.APNs == nil {
		return nil, nil
	}
	opts := cfg.Push
	opts.Replicas = s.stream.Replicas()
	svc, err := push.New(ctx, deps, opts)
	if err != nil {
		return nil, err
	}
	svc.Start()
	return svc, nil
}

// newWebhooks makes the partners' webhooks (started by New once nothing
// can fail): URLs to any public https
// host (pushpolicy.Options.AnyPublicHost), and the test receivers given.
func (s *Server) newWebhooks(ctx context.Context) (*webhook.Service, error) {
	policy, err := pushpolicy.New(pushpolicy.Options{AnyPublicHost: true, InsecureTestEndpoints: s.cfg.OutboundInsecureTestURLs})
	if err != nil {
		return nil, fmt.Errorf("outbound policy: %w", err)
	}
	opts := s.cfg.Webhooks
	opts.Replicas = s.stream.Replicas()
	var svc *webhook.Service
	err = stream.Retry(ctx, s.stream.Timeout(), s.log, func(ctx context.Context) error {
		hooks, err := webhook.New(ctx, webhook.Deps{JetStream: s.stream.JetStream(), Layout: s.stream.Layout(), Taxonomy: s.cfg.Taxonomy,
			Stories: s.stories, Policy: policy, Logger: s.log, Now: s.cfg.Now}, opts)
		if err != nil {
			return err
		}
		svc = hooks
		return nil
	})
	return svc, err
}

// connRefused counts a connection closed over the per-address cap; it is
// not logged above debug, since a flood would flood the log too.
func (s *Server) connRefused(key string) {
	s.metrics.Refused.WithLabelValues("too_many_connections").Inc()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("connection over the per-address cap closed", "remote", key)
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Metrics are the instance's metrics (served at GET /metrics).
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Push is the push service, nil when every platform is off (tests and
// tools).
func (s *Server) Push() *push.Service { return s.push }

// Handler is the instance's HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// CaughtUp is closed once history has read the whole stream.
func (s *Server) CaughtUp() <-chan struct{} { return s.caughtUp }

// Stream gives access to the stream (tests and tools).
func (s *Server) Stream() *stream.Stream { return s.stream }

// Serve answers HTTP on ln until Shutdown. It returns nil after a Shutdown.
// Connections over Limits.ConnectionsPerAddress are closed as they are
// accepted.
func (s *Server) Serve(ln net.Listener) error {
	if s.conns != nil {
		ln = &connLimit{Listener: ln, conns: s.conns, exempt: s.proxies, refused: s.connRefused}
	}
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, sends readers away (WebSocket 1001, end of SSE),
// lets requests finish, then closes NATS and the embedded server and
// unlocks the data directory. It is
// bounded by ctx; what is left when ctx ends is closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	s.closeOnce.Do(func() {
		httpDone := make(chan error, 1)
		go func() { httpDone <- s.http.Shutdown(ctx) }()
		if err := s.hub.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close readers: %w", err))
		}
		if err := <-httpDone; err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			_ = s.http.Close()
		}
		if s.push != nil {
			s.push.Stop()
		}
		s.hooks.Stop()
		s.sched.Stop()
		s.stories.Stop()
		s.stopFollow()
		<-s.followDone
		s.editors.Close()
		s.stream.Close()
		if err := s.dataDir.Release(); err != nil {
			errs = append(errs, fmt.Errorf("unlock data dir: %w", err))
		}
	})
	return errors.Join(errs...)
}
