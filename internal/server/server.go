package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/audit"
	"newsflash/internal/editor"
	"newsflash/internal/history"
	"newsflash/internal/live"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/push"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/stream"
	"newsflash/web"
)

// Config of an instance. The zero value is a working single-node server:
// embedded NATS under ./data, the default taxonomy, a bootstrap editor.
type Config struct {
	// DataDir holds the embedded JetStream (DataDir/nats) and the bootstrap
	// editor token. Default "./data".
	DataDir string
	// Stream configures NATS; its StoreDir defaults to DataDir/nats.
	Stream stream.Options
	// Taxonomy in use. Default news.DefaultTaxonomy().
	Taxonomy *news.Taxonomy
	// Editors allowed to write. Default: one bootstrap editor kept in DataDir.
	Editors *editor.Editors
	// Live configures the reader hub (queue, pings, origins); Log, Taxonomy,
	// Epoch and LastSeq are filled in here.
	Live live.Config
	// VAPID is the Web Push identity. With an empty Subject, Web Push is off
	// (its endpoints answer 503 push_disabled) and the rest works.
	VAPID push.IdentityConfig
	// PushPolicy restricts push endpoints (allow-list, test endpoints).
	PushPolicy pushpolicy.Options
	// Push tunes delivery (TTLs, concurrency, limits); its Replicas are
	// the stream's.
	Push push.Options
	// Audit tunes the audit trail's reads. Its retention is
	// Stream.AuditMaxAge.
	Audit audit.Options
	// TrustedProxies are the proxies (addresses or CIDRs) whose
	// X-Forwarded-For and X-Real-IP headers name the client. Default none:
	// the connection's own address is the client's.
	TrustedProxies []string
	// Limits bound what one client address may do. Live.MaxReaders
	// defaults to the open files limit less 1024 (-1: no limit) and
	// Live.ReadersPerAddress to DefaultReadersPerAddress (-1: no limit).
	Limits Limits
	// MetricsAllow are the client addresses (CIDRs) that may read
	// GET /metrics. Default: loopback and private addresses.
	MetricsAllow []string
	// MaxBodyBytes bounds request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// RequestTimeout bounds reading and writing a non-streaming request.
	// Default 30 s.
	RequestTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	// Default 10 s.
	ReadHeaderTimeout time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Server is one running instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	stream  *stream.Stream
	hist    *history.Log
	hub     *live.Hub
	push    *push.Service // nil when Web Push is off
	audit   *audit.Trail
	assets  *web.Assets
	abuse   *abuse
	metrics *metrics.Metrics
	engine  *gin.Engine
	http    *http.Server

	stopFollow context.CancelFunc
	followDone chan struct{}
	caughtUp   chan struct{}
	closeOnce  sync.Once
}

// New opens the stream, starts following it and builds the HTTP handler.
// ctx bounds the start-up (NATS connect and stream setup).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "./data"
	}
	if cfg.Stream.URL == "" && cfg.Stream.StoreDir == "" {
		cfg.Stream.StoreDir = filepath.Join(cfg.DataDir, "nats")
	}
	if cfg.Taxonomy == nil {
		cfg.Taxonomy = news.DefaultTaxonomy()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Limits.setDefaults()
	switch {
	case cfg.Live.MaxReaders == 0:
		cfg.Live.MaxReaders = defaultMaxReaders()
	case cfg.Live.MaxReaders < 0:
		cfg.Live.MaxReaders = 0
	}
	switch {
	case cfg.Live.ReadersPerAddress == 0:
		cfg.Live.ReadersPerAddress = DefaultReadersPerAddress
	case cfg.Live.ReadersPerAddress < 0:
		cfg.Live.ReadersPerAddress = 0
	}
	log := cfg.Logger
	if cfg.Editors == nil {
		eds, err := editor.Bootstrap(cfg.DataDir, log)
		if err != nil {
			return nil, err
		}
		cfg.Editors = eds
	}
	st, err := stream.Open(ctx, stream.Deps{Logger: log}, cfg.Stream)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, stream: st, caughtUp: make(chan struct{}), followDone: make(chan struct{})}
	s.hist = history.New(history.Config{MaxEvents: int(cfg.Stream.MaxEvents), MaxAge: cfg.Stream.MaxAge})

	s.metrics = metrics.New()
	s.metrics.Gauge("nats_connected", "1 while the NATS connection is up, else 0.", func() float64 { return boolGauge(st.Connected()) })
	s.metrics.Gauge("stream_follow_stalled", "1 while following the stream is stalled (the watchdog restarts it), else 0.", func() float64 { return boolGauge(st.Stalled()) })
	s.metrics.Gauge("stream_seq", "The newest event this instance has in its history.", func() float64 { return float64(s.hist.Head()) })
	lc := cfg.Live
	lc.Log, lc.Taxonomy, lc.Epoch, lc.LastSeq, lc.Logger, lc.Metrics = s.hist, cfg.Taxonomy, st.Epoch(), st.LastSeq, log, s.metrics
	if s.hub, err = live.New(lc); err != nil {
		st.Close()
		return nil, err
	}
	api, err := editor.New(editor.Config{Stream: st, Log: s.hist, Taxonomy: cfg.Taxonomy, Editors: cfg.Editors, Logger: log, Metrics: s.metrics})
	if err != nil {
		st.Close()
		return nil, err
	}
	if s.audit, err = audit.New(audit.Deps{JetStream: st.JetStream(), Layout: st.Layout(), Logger: log}, cfg.Audit); err != nil {
		st.Close()
		return nil, err
	}
	if s.assets, err = web.Load(); err != nil {
		st.Close()
		return nil, err
	}
	if s.push, err = s.newPush(ctx); err != nil {
		st.Close()
		return nil, err
	}
	s.abuse = newAbuse(cfg.Limits)
	if s.engine, err = s.routes(api); err != nil {
		st.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	fctx, cancel := context.WithCancel(context.Background())
	s.stopFollow = cancel
	go func() {
		defer close(s.followDone)
		_ = st.Follow(fctx, func(ev news.Event) {
			s.hub.Deliver(s.hist.Append(ev))
		}, func() {
			s.hub.SetReady()
			close(s.caughtUp)
			log.Info("history caught up with the stream", "seq", s.hist.Head())
		})
	}()
	return s, nil
}

// newPush starts Web Push, unless no VAPID subject is configured.
func (s *Server) newPush(ctx context.Context) (*push.Service, error) {
	cfg := s.cfg
	if strings.TrimSpace(cfg.VAPID.Subject) == "" {
		s.log.Warn("Web Push is off: set --vapid-subject (mailto: or https: contact) to turn it on")
		return nil, nil
	}
	if cfg.VAPID.DataDir == "" {
		cfg.VAPID.DataDir = cfg.DataDir
	}
	id, err := push.LoadIdentity(cfg.VAPID)
	if err != nil {
		return nil, err
	}
	policy, err := pushpolicy.New(cfg.PushPolicy)
	if err != nil {
		return nil, err
	}
	opts := cfg.Push
	opts.Replicas = s.stream.Replicas()
	svc, err := push.New(ctx, push.Deps{
		JetStream: s.stream.JetStream(), Layout: s.stream.Layout(), Log: s.hist, Taxonomy: cfg.Taxonomy,
		Identity: id, Policy: policy, Logger: s.log, Metrics: s.metrics,
	}, opts)
	if err != nil {
		return nil, err
	}
	svc.Start()
	s.log.Info("Web Push on", "vapid_public_key", id.PublicKey, "subject", id.Subject())
	return svc, nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Metrics are the instance's metrics (served at GET /metrics).
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Push is the Web Push service, nil when it is off (tests and tools).
func (s *Server) Push() *push.Service { return s.push }

// Handler is the instance's HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// CaughtUp is closed once history has read the whole stream.
func (s *Server) CaughtUp() <-chan struct{} { return s.caughtUp }

// Stream gives access to the stream (tests and tools).
func (s *Server) Stream() *stream.Stream { return s.stream }

// Serve answers HTTP on ln until Shutdown. It returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, sends readers away (WebSocket 1001, end of SSE),
// lets requests finish, then closes NATS and the embedded server. It is
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
		s.stopFollow()
		<-s.followDone
		s.stream.Close()
	})
	return errors.Join(errs...)
}
