package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"newsflash/internal/editor"
	"newsflash/internal/live"
	"newsflash/internal/news"
	"newsflash/internal/profile"
	"newsflash/internal/push"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/server"
	"newsflash/internal/stream"
)

type serveFlags struct {
	addr, dataDir, debugAddr                 string
	natsURL, natsCreds, natsListen           string
	natsReplicas                             int
	natsMaxStore, natsMaxMemory              byteSize
	historyMaxAge                            time.Duration
	historyMaxEvents                         int64
	auditMaxAge                              time.Duration
	taxonomy, editorsFile, editorHashes      string
	allowedOrigins                           listFlag
	shutdownTimeout, pingInterval            time.Duration
	writeTimeout, sseHeartbeat, startTimeout time.Duration
	readerQueue                              int
	wsWriters                                int
	trustedProxies, metricsAllow             listFlag
	maxReaders, readersPerAddress            int
	readerConnects, apiRequests, authFails   int
	logFormat, logLevel                      string

	vapidPublicKey, vapidPrivateKey, vapidKeyFile, vapidSubject string
	pushAllowedHosts, pushInsecureEndpoints                     listFlag
	pushTTLFlash, pushTTLUrgent, pushTTLBreaking                time.Duration
	pushJobs, pushPerHost, pushSubscribePerHour                 int
	pushCheckpoint                                              time.Duration
}

func serveFlagSet() (*flags, *serveFlags) {
	f := newFlags("serve")
	v := &serveFlags{natsMaxStore: 8 << 30, natsMaxMemory: 256 << 20}
	fs := f.fs
	fs.StringVar(&v.addr, "addr", ":8080", "HTTP listen address")
	fs.StringVar(&v.debugAddr, "debug-addr", "", "serve Go runtime profiles (/debug/pprof/) at host:port, such as 127.0.0.1:6060; keep it private (default: off)")
	fs.StringVar(&v.dataDir, "data-dir", "./data", "data directory: embedded JetStream in DIR/nats, bootstrap editor token")
	fs.StringVar(&v.natsURL, "nats-url", "", "external NATS servers (nats://h1:4222,nats://h2:4222); empty runs an embedded server")
	fs.StringVar(&v.natsCreds, "nats-creds", "", "NATS credentials file for --nats-url")
	fs.StringVar(&v.natsListen, "nats-listen", "", "open the embedded NATS client port at host:port (default: no port)")
	fs.IntVar(&v.natsReplicas, "nats-replicas", 0, "JetStream replicas of the stream and buckets (1-5); 0: 3 when the NATS cluster has at least 3 servers, else 1")
	fs.Var(&v.natsMaxStore, "nats-max-store", "embedded JetStream disk limit (an external cluster sets its own)")
	fs.Var(&v.natsMaxMemory, "nats-max-memory", "embedded JetStream memory limit (an external cluster sets its own)")
	fs.DurationVar(&v.historyMaxAge, "history-max-age", 30*24*time.Hour, "how long events are kept for resuming readers and lists")
	fs.Int64Var(&v.historyMaxEvents, "history-max-events", 100_000, "how many events are kept at most")
	fs.DurationVar(&v.auditMaxAge, "audit-max-age", 90*24*time.Hour, "how long the audit trail keeps every post, correction and retraction (at least 1h)")
	fs.StringVar(&v.taxonomy, "taxonomy", "", "JSON file replacing the default regions, topics and languages")
	fs.StringVar(&v.editorsFile, "editors", "", "file of editors, one name:sha256hex line each (see newsflash token new)")
	fs.StringVar(&v.editorHashes, "editor-hashes", "", "editors as name:sha256hex entries separated by commas (instead of --editors)")
	fs.Var(&v.allowedOrigins, "allowed-origins", "host patterns of sites whose pages may open readers (e.g. news.example.com,*.example.com); default same host")
	fs.DurationVar(&v.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long a graceful stop may take")
	fs.DurationVar(&v.startTimeout, "start-timeout", time.Minute, "how long start-up may wait for NATS and the stream")
	fs.DurationVar(&v.pingInterval, "ws-ping-interval", 30*time.Second, "WebSocket ping interval; peers that do not answer are dropped")
	fs.DurationVar(&v.writeTimeout, "write-timeout", 10*time.Second, "time limit for writing to one reader")
	fs.DurationVar(&v.sseHeartbeat, "sse-heartbeat", 15*time.Second, "SSE comment heartbeat interval")
	fs.IntVar(&v.readerQueue, "reader-queue", 256, "events a reader may have waiting before it is closed as a slow consumer")
	fs.IntVar(&v.wsWriters, "ws-writers", 0, "goroutines writing frames to WebSocket readers; 0: half the CPUs Go uses, at least 1")
	fs.Var(&v.trustedProxies, "trusted-proxies", "proxies (addresses or CIDRs, such as 10.0.0.0/8) whose X-Forwarded-For names the client; default none")
	fs.Var(&v.metricsAllow, "metrics-allow", "client addresses or CIDRs that may read GET /metrics; default loopback and private networks")
	fs.IntVar(&v.maxReaders, "max-readers", 0, "readers this instance takes before answering new ones 503; 0: the open files limit less 1024 (no limit on Windows); -1: no limit")
	fs.IntVar(&v.readersPerAddress, "readers-per-address", 200, "readers one client address (IPv6: /64) may have open; -1: no limit")
	fs.IntVar(&v.readerConnects, "reader-connects-per-second", 20, "WebSocket and SSE connection attempts per second per client address (bursts of twice that); -1: no limit")
	fs.IntVar(&v.apiRequests, "api-requests-per-second", 20, "public API requests per second per client address (bursts of twice that; editors are not counted); -1: no limit")
	fs.IntVar(&v.authFails, "auth-failures-per-minute", 10, "invalid editor tokens per minute per client address before every attempt gets 429; -1: no limit")
	fs.StringVar(&v.vapidSubject, "vapid-subject", "", "Web Push contact sent to push services: mailto:ops@example.com or https://example.com/contact; empty turns Web Push off")
	fs.StringVar(&v.vapidPublicKey, "vapid-public-key", "", "VAPID public key (base64url); with --vapid-private-key")
	fs.StringVar(&v.vapidPrivateKey, "vapid-private-key", "", "VAPID private key (base64url); never logged")
	fs.StringVar(&v.vapidKeyFile, "vapid-key-file", "", `VAPID key file, JSON {"public_key","private_key"}; default: generated once into DATA/vapid.json`)
	fs.Var(&v.pushAllowedHosts, "push-allowed-hosts", "push-service hosts subscriptions may use (exact or dot-suffix, *.x for suffix only); default: FCM, Mozilla, Apple and Windows push services")
	fs.Var(&v.pushInsecureEndpoints, "push-insecure-test-endpoints", "host:port push services allowed over plain http and on loopback: for tests and local benchmarks only")
	fs.DurationVar(&v.pushTTLFlash, "push-ttl-flash", 6*time.Hour, "how long push services keep an undelivered flash notification")
	fs.DurationVar(&v.pushTTLUrgent, "push-ttl-urgent", 12*time.Hour, "how long push services keep an undelivered urgent notification")
	fs.DurationVar(&v.pushTTLBreaking, "push-ttl-breaking", 24*time.Hour, "how long push services keep an undelivered breaking notification")
	fs.IntVar(&v.pushJobs, "push-jobs", 256, "delivery jobs (an event's share of subscriptions) this instance works on at once")
	fs.IntVar(&v.pushPerHost, "push-per-host", 64, "sends in flight from this instance to one push-service host")
	fs.DurationVar(&v.pushCheckpoint, "push-checkpoint-interval", 20*time.Millisecond, "how often at most a push delivery job records its progress; a crash repeats the sends since (0: after every send, slower)")
	fs.IntVar(&v.pushSubscribePerHour, "push-subscribe-per-hour", 30, "new push subscriptions one client address may create per hour")
	fs.StringVar(&v.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&v.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return f, v
}

// config turns flags into the server's configuration, reporting the first
// bad setting by name.
func (v *serveFlags) config(stderr io.Writer) (server.Config, *slog.Logger, error) {
	var cfg server.Config
	log, err := newLogger(stderr, v.logFormat, v.logLevel)
	if err != nil {
		return cfg, nil, err
	}
	if v.natsReplicas < 0 || v.natsReplicas > 5 {
		return cfg, nil, fmt.Errorf("invalid --nats-replicas %d: must be 0 (automatic) or 1 to 5", v.natsReplicas)
	}
	if v.natsURL == "" && v.natsReplicas > 1 {
		return cfg, nil, fmt.Errorf("invalid --nats-replicas %d: the embedded NATS is a single node; use 1, or a cluster with --nats-url", v.natsReplicas)
	}
	if v.natsURL == "" && v.natsCreds != "" {
		return cfg, nil, fmt.Errorf("invalid --nats-creds: it needs --nats-url")
	}
	if v.natsURL != "" && v.natsListen != "" {
		return cfg, nil, fmt.Errorf("invalid --nats-listen: it opens the embedded server's port, and --nats-url embeds nothing")
	}
	if v.historyMaxEvents < 1 {
		return cfg, nil, fmt.Errorf("invalid --history-max-events %d: must be at least 1", v.historyMaxEvents)
	}
	if v.historyMaxAge < 5*time.Minute {
		return cfg, nil, fmt.Errorf("invalid --history-max-age %s: must be at least 5m", v.historyMaxAge)
	}
	if v.auditMaxAge < time.Hour {
		return cfg, nil, fmt.Errorf("invalid --audit-max-age %s: must be at least 1h", v.auditMaxAge)
	}
	if v.readerQueue < 16 || v.readerQueue > 65536 {
		return cfg, nil, fmt.Errorf("invalid --reader-queue %d: must be 16 to 65536", v.readerQueue)
	}
	if v.wsWriters < 0 || v.wsWriters > 1024 {
		return cfg, nil, fmt.Errorf("invalid --ws-writers %d: must be 0 (automatic) to 1024", v.wsWriters)
	}
	for name, d := range map[string]time.Duration{"shutdown-timeout": v.shutdownTimeout, "start-timeout": v.startTimeout,
		"ws-ping-interval": v.pingInterval, "write-timeout": v.writeTimeout, "sse-heartbeat": v.sseHeartbeat,
		"push-ttl-flash": v.pushTTLFlash, "push-ttl-urgent": v.pushTTLUrgent, "push-ttl-breaking": v.pushTTLBreaking} {
		if err := positiveDuration(name, d); err != nil {
			return cfg, nil, err
		}
	}
	for name, n := range map[string]int{"max-readers": v.maxReaders, "readers-per-address": v.readersPerAddress,
		"reader-connects-per-second": v.readerConnects, "api-requests-per-second": v.apiRequests, "auth-failures-per-minute": v.authFails} {
		if n < -1 || (n == 0 && name != "max-readers") {
			return cfg, nil, fmt.Errorf("invalid --%s %d: must be at least 1, or -1 for no limit", name, n)
		}
	}
	for name, list := range map[string]listFlag{"trusted-proxies": v.trustedProxies, "metrics-allow": v.metricsAllow} {
		for _, p := range list {
			if _, err := netip.ParsePrefix(p); err != nil {
				if _, err := netip.ParseAddr(p); err != nil {
					return cfg, nil, fmt.Errorf("invalid --%s %q: want addresses or CIDRs, such as 10.0.0.0/8", name, p)
				}
			}
		}
	}
	for name, n := range map[string]int{"push-jobs": v.pushJobs, "push-per-host": v.pushPerHost, "push-subscribe-per-hour": v.pushSubscribePerHour} {
		if n < 1 || n > 10000 {
			return cfg, nil, fmt.Errorf("invalid --%s %d: must be 1 to 10000", name, n)
		}
	}
	if v.pushCheckpoint < 0 || v.pushCheckpoint > 10*time.Second {
		return cfg, nil, fmt.Errorf("invalid --push-checkpoint-interval %s: must be 0 to 10s", v.pushCheckpoint)
	}
	for name, d := range map[string]time.Duration{"push-ttl-flash": v.pushTTLFlash, "push-ttl-urgent": v.pushTTLUrgent, "push-ttl-breaking": v.pushTTLBreaking} {
		if d < time.Second || d > 28*24*time.Hour {
			return cfg, nil, fmt.Errorf("invalid --%s %s: must be 1s to 672h", name, d)
		}
	}
	if v.vapidSubject != "" {
		cfg.VAPID = push.IdentityConfig{PublicKey: v.vapidPublicKey, PrivateKey: v.vapidPrivateKey, KeyFile: v.vapidKeyFile, DataDir: v.dataDir, Subject: v.vapidSubject}
		if err := push.CheckSubject(v.vapidSubject); err != nil {
			return cfg, nil, fmt.Errorf("invalid --vapid-subject: %v", err)
		}
		if v.vapidPublicKey != "" || v.vapidPrivateKey != "" {
			if err := push.CheckKeys(v.vapidPublicKey, v.vapidPrivateKey); err != nil {
				return cfg, nil, fmt.Errorf("invalid --vapid-public-key/--vapid-private-key: %v", err)
			}
		}
	} else if v.vapidPublicKey != "" || v.vapidPrivateKey != "" || v.vapidKeyFile != "" {
		return cfg, nil, fmt.Errorf("invalid --vapid-subject: VAPID keys are given but no subject; Web Push needs a mailto: or https: contact")
	}
	if len(v.pushAllowedHosts) > 0 {
		cfg.PushPolicy.AllowedHosts = v.pushAllowedHosts
	}
	cfg.PushPolicy.InsecureTestEndpoints = v.pushInsecureEndpoints
	if _, err := pushpolicy.New(cfg.PushPolicy); err != nil {
		return cfg, nil, fmt.Errorf("invalid --push-allowed-hosts or --push-insecure-test-endpoints: %v", err)
	}
	cfg.Push = push.Config{
		TTL:  map[string]time.Duration{news.PriorityFlash: v.pushTTLFlash, news.PriorityUrgent: v.pushTTLUrgent, news.PriorityBreaking: v.pushTTLBreaking},
		Jobs: v.pushJobs, PerHost: v.pushPerHost, SubscribePerHour: v.pushSubscribePerHour,
		CheckpointInterval: v.pushCheckpoint,
	}
	if v.pushCheckpoint == 0 {
		cfg.Push.CheckpointInterval = -1 // after every change
	}
	if _, _, err := net.SplitHostPort(v.addr); err != nil {
		return cfg, nil, fmt.Errorf("invalid --addr %q: want host:port, such as :8080", v.addr)
	}
	if v.debugAddr != "" {
		if _, _, err := net.SplitHostPort(v.debugAddr); err != nil {
			return cfg, nil, fmt.Errorf("invalid --debug-addr %q: want host:port, such as 127.0.0.1:6060", v.debugAddr)
		}
	}
	if v.taxonomy != "" {
		data, err := os.ReadFile(v.taxonomy)
		if err != nil {
			return cfg, nil, fmt.Errorf("invalid --taxonomy: %v", err)
		}
		if cfg.Taxonomy, err = news.ParseTaxonomy(data); err != nil {
			return cfg, nil, fmt.Errorf("invalid --taxonomy %s: %v", v.taxonomy, err)
		}
	}
	switch {
	case v.editorsFile != "" && v.editorHashes != "":
		return cfg, nil, fmt.Errorf("invalid --editor-hashes: give either --editors or --editor-hashes, not both")
	case v.editorsFile != "":
		data, err := os.ReadFile(v.editorsFile)
		if err != nil {
			return cfg, nil, fmt.Errorf("invalid --editors: %v", err)
		}
		if cfg.Editors, err = editor.ParseEditors(string(data)); err != nil {
			return cfg, nil, fmt.Errorf("invalid --editors %s: %v", v.editorsFile, err)
		}
	case v.editorHashes != "":
		if cfg.Editors, err = editor.ParseEditors(v.editorHashes); err != nil {
			return cfg, nil, fmt.Errorf("invalid --editor-hashes: %v", err)
		}
	}
	cfg.DataDir = v.dataDir
	cfg.Stream = stream.Config{
		URL: v.natsURL, CredsFile: v.natsCreds, Listen: v.natsListen, Replicas: v.natsReplicas,
		MaxStore: int64(v.natsMaxStore), MaxMemory: int64(v.natsMaxMemory),
		MaxAge: v.historyMaxAge, MaxEvents: v.historyMaxEvents, AuditMaxAge: v.auditMaxAge,
	}
	cfg.Live = live.Config{
		QueueSize: v.readerQueue, Writers: v.wsWriters, PingInterval: v.pingInterval, WriteTimeout: v.writeTimeout,
		Heartbeat: v.sseHeartbeat, AllowedOrigins: v.allowedOrigins,
		MaxReaders: v.maxReaders, ReadersPerAddress: v.readersPerAddress,
	}
	cfg.TrustedProxies, cfg.MetricsAllow = v.trustedProxies, v.metricsAllow
	cfg.Limits = server.Limits{ReaderConnects: v.readerConnects, APIRequests: v.apiRequests, AuthFailures: v.authFails}
	cfg.Logger = log
	return cfg, log, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: want text or json", format)
}

func serve(args []string, stdout, stderr io.Writer) int {
	f, v := serveFlagSet()
	f.fs.SetOutput(io.Discard) // flagError reports parse errors, once
	f.fs.Usage = func() {}     // help is printed below, only when asked for
	if err := f.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage(stdout, "newsflash serve [flags]")
		}
		return flagError(stderr, err)
	}
	cfg, log, err := v.config(stderr)
	if err != nil {
		return flagError(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", v.addr)
	if err != nil {
		fmt.Fprintf(stderr, "newsflash: listen on --addr %s: %v\n", v.addr, err)
		return 1
	}
	startCtx, cancel := context.WithTimeout(ctx, v.startTimeout)
	srv, err := server.New(startCtx, cfg)
	cancel()
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "newsflash: start: %v\n", err)
		return 1
	}
	if cfg.Editors == nil && v.natsURL != "" {
		log.Warn("no editors configured with an external NATS: this instance's bootstrap token works on this instance only; give every instance the same --editors")
	}
	log.Info("newsflash listening", "addr", ln.Addr().String(), "nats", natsMode(v), "data_dir", v.dataDir)
	if v.debugAddr != "" {
		dln, err := net.Listen("tcp", v.debugAddr)
		if err != nil {
			fmt.Fprintf(stderr, "newsflash: listen on --debug-addr %s: %v\n", v.debugAddr, err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
		dsrv := profile.Server()
		defer dsrv.Close()
		go func() { _ = dsrv.Serve(dln) }()
		log.Info("serving profiles", "addr", dln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
		log.Error("http server stopped", "err", err)
	case <-ctx.Done():
		log.Info("shutting down", "timeout", v.shutdownTimeout)
	}
	sctx, cancel := context.WithTimeout(context.Background(), v.shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		log.Warn("shutdown incomplete", "err", serr)
	}
	log.Info("stopped")
	if err != nil {
		return 1
	}
	return 0
}

func natsMode(v *serveFlags) string {
	if v.natsURL != "" {
		return "external"
	}
	if v.natsListen != "" {
		return "embedded, client port " + v.natsListen
	}
	return "embedded"
}
