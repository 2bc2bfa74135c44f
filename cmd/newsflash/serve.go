package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"newsflash/internal/editor"
	"newsflash/internal/feed"
	"newsflash/internal/live"
	"newsflash/internal/news"
	"newsflash/internal/profile"
	"newsflash/internal/push"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/schedule"
	"newsflash/internal/server"
	"newsflash/internal/story"
	"newsflash/internal/stream"
	"newsflash/internal/webhook"
)

// Settings of the command itself (no package owns them).
const (
	defaultAddr            = ":8080"
	defaultShutdownTimeout = 15 * time.Second
	defaultStartTimeout    = time.Minute
	defaultLogFormat       = "text"
	defaultLogLevel        = "info"
)

type serveFlags struct {
	addr, dataDir, debugAddr                 string
	natsURL, natsCreds, natsListen           string
	natsUser, natsPassword                   string
	natsReplicas                             autoInt
	natsMaxStore, natsMaxMemory              byteSize
	historyMaxAge                            time.Duration
	historyMaxEvents                         int64
	auditMaxAge                              time.Duration
	taxonomy, editorsFile, editorHashes      string
	allowedOrigins                           listFlag
	shutdownTimeout, pingInterval            time.Duration
	writeTimeout, sseHeartbeat, startTimeout time.Duration
	readerQueue                              int
	wsWriters                                autoInt
	trustedProxies, metricsAllow             listFlag
	maxReaders                               autoInt
	readersPerAddress                        int
	connectionsPerAddress                    int
	readerConnects, apiRequests, authFails   int
	logFormat, logLevel                      string
	alertMinInterval, alertDuplicateWindow   time.Duration
	scheduleMaxLate, scheduleMaxAhead        time.Duration
	scheduleMaxPending                       int
	storiesMaxOpen                           int
	publicURL                                string

	vapidPublicKey, vapidPrivateKey, vapidKeyFile, vapidSubject string
	pushAllowedHosts, pushInsecureEndpoints                     listFlag
	outboundInsecureURLs                                        listFlag
	webhookWorkers                                              int
	pushTTLFlash, pushTTLUrgent, pushTTLBreaking                time.Duration
	pushJobs, pushPerHost, pushSubscribePerHour                 int
	receiptRate                                                 int
	pushCheckpoint                                              time.Duration
	appPush                                                     appPushFlags

	fl *flags // where each value came from, to name a bad one
}

func serveFlagSet() (*flags, *serveFlags) {
	f := newFlags("serve")
	v := &serveFlags{natsMaxStore: stream.DefaultMaxStore, natsMaxMemory: stream.DefaultMaxMemory, fl: f,
		natsReplicas: autoInt{Auto: true}, wsWriters: autoInt{Auto: true}, maxReaders: autoInt{Auto: true}}
	fs := f.fs
	fs.StringVar(&v.addr, "addr", defaultAddr, "HTTP listen address")
	fs.StringVar(&v.publicURL, "public-url", "", "where readers reach this server (https://news.example.com, an optional path prefix): the base of the feeds' self and hub links and of their entries' ids; default: taken from each request's Host, which is not stable behind proxies")
	fs.StringVar(&v.debugAddr, "debug-addr", "", "serve Go runtime profiles (/debug/pprof/) at host:port, such as 127.0.0.1:6060; keep it private (default: off)")
	fs.StringVar(&v.dataDir, "data-dir", server.DefaultDataDir, "data directory: embedded JetStream in DIR/nats, bootstrap editor token")
	fs.StringVar(&v.natsURL, "nats-url", "", "external NATS servers (nats://h1:4222,nats://h2:4222); empty runs an embedded server")
	fs.StringVar(&v.natsCreds, "nats-creds", "", "NATS credentials file for --nats-url")
	fs.StringVar(&v.natsListen, "nats-listen", "", "open the embedded NATS client port at host:port (port 0: any free one); it requires --nats-user and --nats-password, generated into DATA/nats-credentials when not given (default: no port)")
	fs.StringVar(&v.natsUser, "nats-user", "", "NATS user: the one the embedded client port requires, or the one sent to --nats-url; with --nats-password")
	fs.StringVar(&v.natsPassword, "nats-password", "", "NATS password for --nats-user; never logged (prefer the variable to the flag)")
	fs.Var(&v.natsReplicas, "nats-replicas", "JetStream replicas of the stream and buckets: 1 to 5, or auto: 3 when the NATS cluster has at least 3 servers, else 1")
	fs.Var(&v.natsMaxStore, "nats-max-store", "embedded JetStream disk limit (an external cluster sets its own)")
	fs.Var(&v.natsMaxMemory, "nats-max-memory", "embedded JetStream memory limit (an external cluster sets its own)")
	fs.DurationVar(&v.historyMaxAge, "history-max-age", stream.DefaultMaxAge, "how long events are kept for resuming readers and lists")
	fs.Int64Var(&v.historyMaxEvents, "history-max-events", stream.DefaultMaxEvents, "how many events are kept at most")
	fs.DurationVar(&v.auditMaxAge, "audit-max-age", stream.DefaultAuditMaxAge, "how long the audit trail keeps every post, correction and retraction (at least 1h)")
	fs.StringVar(&v.taxonomy, "taxonomy", "", "JSON file replacing the default regions, topics and languages")
	fs.StringVar(&v.editorsFile, "editors", "", "file of editors, one name:sha256hex[:role] line each, role reporter, editor (the default) or admin (see newsflash token new)")
	fs.StringVar(&v.editorHashes, "editor-hashes", "", "editors as name:sha256hex[:role] entries separated by commas (instead of --editors)")
	fs.Var(&v.allowedOrigins, "allowed-origins", "host patterns of sites whose pages may open readers (e.g. news.example.com,*.example.com); default same host")
	fs.DurationVar(&v.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long a graceful stop may take")
	fs.DurationVar(&v.startTimeout, "start-timeout", defaultStartTimeout, "how long start-up may wait for NATS and the stream")
	fs.DurationVar(&v.pingInterval, "ws-ping-interval", live.DefaultPingInterval, "WebSocket ping interval; peers that do not answer are dropped")
	fs.DurationVar(&v.writeTimeout, "write-timeout", live.DefaultWriteTimeout, "time limit for writing to one reader")
	fs.DurationVar(&v.sseHeartbeat, "sse-heartbeat", live.DefaultHeartbeat, "SSE comment heartbeat interval")
	fs.IntVar(&v.readerQueue, "reader-queue", live.DefaultQueueSize, "events a reader may have waiting before it is closed as a slow consumer")
	fs.Var(&v.wsWriters, "ws-writers", "goroutines writing frames to WebSocket readers: 1 to 1024, or auto: half the CPUs Go uses, at least 1")
	fs.Var(&v.trustedProxies, "trusted-proxies", "proxies (addresses or CIDRs, such as 10.0.0.0/8) whose X-Forwarded-For names the client; default none")
	fs.Var(&v.metricsAllow, "metrics-allow", "client addresses or CIDRs that may read GET /metrics; default loopback and private networks")
	fs.Var(&v.maxReaders, "max-readers", "readers this instance takes before answering new ones 503; auto: the open files limit less 1024 (no limit on Windows); 0: no limit")
	fs.IntVar(&v.readersPerAddress, "readers-per-address", live.DefaultReadersPerAddress, "readers one client address (IPv6: /64) may have open; 0: no limit")
	fs.IntVar(&v.connectionsPerAddress, "connections-per-address", server.DefaultConnectionsPerAddress, "TCP connections one client address (IPv6: /64) may have open, readers included; more are closed unanswered; trusted proxies are not counted; above --readers-per-address; 0: no limit")
	fs.IntVar(&v.readerConnects, "reader-connects-per-second", server.DefaultReaderConnects, "WebSocket and SSE connection attempts per second per client address (bursts of twice that); 0: no limit")
	fs.IntVar(&v.apiRequests, "api-requests-per-second", server.DefaultAPIRequests, "public API requests per second per client address (bursts of twice that; editors are not counted); 0: no limit")
	fs.IntVar(&v.authFails, "auth-failures-per-minute", server.DefaultAuthFailures, "invalid editor tokens per minute per client address before further invalid ones get 429 (valid tokens always pass); 0: no limit")
	fs.StringVar(&v.vapidSubject, "vapid-subject", "", "Web Push contact sent to push services: mailto:ops@example.com or https://example.com/contact; empty turns Web Push off")
	fs.StringVar(&v.vapidPublicKey, "vapid-public-key", "", "VAPID public key (base64url); with --vapid-private-key")
	fs.StringVar(&v.vapidPrivateKey, "vapid-private-key", "", "VAPID private key (base64url); never logged")
	fs.StringVar(&v.vapidKeyFile, "vapid-key-file", "", `VAPID key file, JSON {"public_key","private_key"}; default: generated once into DATA/vapid.json`)
	fs.Var(&v.pushAllowedHosts, "push-allowed-hosts", "push-service hosts subscriptions may use (exact or dot-suffix, *.x for suffix only); default: FCM, Mozilla, Apple and Windows push services")
	fs.Var(&v.pushInsecureEndpoints, "push-insecure-test-endpoints", "host:port push services allowed over plain http and on loopback: for tests and local benchmarks only")
	fs.Var(&v.outboundInsecureURLs, "outbound-insecure-test-urls", "host:port receivers that webhook URLs may name over plain http and on loopback or private addresses: for tests only")
	fs.IntVar(&v.webhookWorkers, "webhook-workers", webhook.DefaultWorkers, "webhook deliveries this instance makes at once")
	fs.DurationVar(&v.pushTTLFlash, "push-ttl-flash", push.DefaultTTLFlash, "how long push services keep an undelivered flash notification")
	fs.DurationVar(&v.pushTTLUrgent, "push-ttl-urgent", push.DefaultTTLUrgent, "how long push services keep an undelivered urgent notification")
	fs.DurationVar(&v.pushTTLBreaking, "push-ttl-breaking", push.DefaultTTLBreaking, "how long push services keep an undelivered breaking notification")
	fs.IntVar(&v.pushJobs, "push-jobs", push.DefaultJobs, "delivery jobs (an event's share of subscriptions) this instance works on at once")
	fs.IntVar(&v.pushPerHost, "push-per-host", push.DefaultPerHost, "sends in flight from this instance to one push-service host")
	fs.DurationVar(&v.pushCheckpoint, "push-checkpoint-interval", push.DefaultCheckpointInterval, "how often at most a push delivery job records its progress; a crash repeats the sends since (0: no interval, record after every send, slower)")
	fs.IntVar(&v.pushSubscribePerHour, "push-subscribe-per-hour", push.DefaultSubscribePerHour, "new push subscriptions one client address may create per hour")
	fs.IntVar(&v.receiptRate, "receipt-rate", push.DefaultReceiptRate, "alert receipts (shown, clicked) one client address may post per minute (0: no limit)")
	v.appPush.register(fs)
	fs.DurationVar(&v.alertMinInterval, "alert-min-interval", editor.DefaultAlertMinInterval, `least time between two alerts from anyone on any instance; a sooner one is refused (409 alert_too_soon) unless sent with "confirm": true (0: off)`)
	fs.DurationVar(&v.scheduleMaxLate, "schedule-max-late", schedule.DefaultMaxLate, "how late a scheduled item may still be published (no instance running at its publish_at); later it is marked missed and not published (0: however late)")
	fs.DurationVar(&v.scheduleMaxAhead, "schedule-max-ahead", stream.DefaultScheduleMaxAhead, "how far ahead an item may be scheduled (publish_at)")
	fs.IntVar(&v.storiesMaxOpen, "stories-max-open", story.DefaultMaxOpen, "most open stories, on all instances (409 too_many_stories over it; 0: no bound)")
	fs.IntVar(&v.scheduleMaxPending, "schedule-max-pending", editor.DefaultScheduleMaxPending, "most scheduled items waiting to be published, on all instances (409 too_many_scheduled over it; 0: no bound)")
	fs.DurationVar(&v.alertDuplicateWindow, "alert-duplicate-window", editor.DefaultAlertDuplicateWindow, `how long the same alert text (white space and case folded) is refused (409 duplicate_alert) unless sent with "confirm": true (0: off)`)
	fs.StringVar(&v.logFormat, "log-format", defaultLogFormat, "log format: text or json")
	fs.StringVar(&v.logLevel, "log-level", defaultLogLevel, "log level: debug, info, warn or error")
	f.secret("nats-password", "vapid-private-key")
	return f, v
}

// config turns flags into the server's configuration, reporting the first
// bad setting by name (see flags.invalid).
func (v *serveFlags) config(stderr io.Writer) (server.Deps, server.Options, error) {
	var (
		deps server.Deps
		cfg  server.Options
	)
	bad := func(name, why string, args ...any) (server.Deps, server.Options, error) {
		return deps, cfg, v.fl.invalid(name, fmt.Sprintf(why, args...))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(v.logLevel)); err != nil {
		return bad("log-level", "want debug, info, warn or error")
	}
	if v.logFormat != "text" && v.logFormat != "json" {
		return bad("log-format", "want text or json")
	}
	log := newLogger(stderr, v.logFormat, level)
	// 0 is an old spelling of auto.
	replicas := v.natsReplicas.N
	if !v.natsReplicas.Auto && (replicas < 0 || replicas > 5) {
		return bad("nats-replicas", "must be auto or 1 to 5")
	}
	if v.natsURL == "" && replicas > 1 {
		return bad("nats-replicas", "the embedded NATS is a single node; use 1, or a cluster with --nats-url")
	}
	if v.natsURL == "" && v.natsCreds != "" {
		return bad("nats-creds", "it needs --nats-url")
	}
	if (v.natsUser == "") != (v.natsPassword == "") {
		if v.natsUser == "" {
			return bad("nats-user", "--nats-password is given without it: give both or neither")
		}
		return bad("nats-password", "--nats-user is given without it: give both or neither")
	}
	if v.natsCreds != "" && v.natsUser != "" {
		return bad("nats-creds", "give either --nats-creds or --nats-user and --nats-password, not both")
	}
	if v.natsURL != "" && v.natsListen != "" {
		return bad("nats-listen", "it opens the embedded server's port, and --nats-url embeds nothing")
	}
	if v.historyMaxEvents < 1 {
		return bad("history-max-events", "must be at least 1")
	}
	if v.historyMaxAge < 5*time.Minute {
		return bad("history-max-age", "must be at least 5m")
	}
	if v.auditMaxAge < time.Hour {
		return bad("audit-max-age", "must be at least 1h")
	}
	if v.readerQueue < live.MinQueueSize || v.readerQueue > live.MaxQueueSize {
		return bad("reader-queue", "must be %d to %d", live.MinQueueSize, live.MaxQueueSize)
	}
	// 0 is an old spelling of auto.
	if w := v.wsWriters.N; !v.wsWriters.Auto && (w < 0 || w > live.MaxWriters) {
		return bad("ws-writers", "must be auto or 1 to %d", live.MaxWriters)
	}
	for name, d := range map[string]time.Duration{"shutdown-timeout": v.shutdownTimeout, "start-timeout": v.startTimeout,
		"ws-ping-interval": v.pingInterval, "write-timeout": v.writeTimeout, "sse-heartbeat": v.sseHeartbeat} {
		if d <= 0 {
			return bad(name, "must be positive")
		}
	}
	// Limits: 0 is no limit (-1 is its old spelling, still taken).
	for name, n := range map[string]int{"max-readers": v.maxReaders.N, "readers-per-address": v.readersPerAddress,
		"connections-per-address": v.connectionsPerAddress, "reader-connects-per-second": v.readerConnects, "api-requests-per-second": v.apiRequests, "auth-failures-per-minute": v.authFails} {
		if n < -1 {
			return bad(name, "must be 0 (no limit) or more")
		}
	}
	if c, r := v.connectionsPerAddress, v.readersPerAddress; c > 0 && r > 0 && c <= r {
		return bad("connections-per-address", "must be above --readers-per-address %d (each reader holds a connection), or 0 for no limit", r)
	}
	for name, list := range map[string]listFlag{"trusted-proxies": v.trustedProxies, "metrics-allow": v.metricsAllow} {
		for _, p := range list {
			if _, err := netip.ParsePrefix(p); err != nil {
				if _, err := netip.ParseAddr(p); err != nil {
					return bad(name, "%q is not an address or CIDR (such as 10.0.0.0/8)", p)
				}
			}
		}
	}
	for name, n := range map[string]int{"push-jobs": v.pushJobs, "push-per-host": v.pushPerHost, "push-subscribe-per-hour": v.pushSubscribePerHour} {
		if n < 1 || n > 10000 {
			return bad(name, "must be 1 to 10000")
		}
	}
	if v.receiptRate < 0 || v.receiptRate > 100000 {
		return bad("receipt-rate", "must be 0 to 100000")
	}
	if v.pushCheckpoint < 0 || v.pushCheckpoint > 10*time.Second {
		return bad("push-checkpoint-interval", "must be 0 to 10s")
	}
	for name, d := range map[string]time.Duration{"push-ttl-flash": v.pushTTLFlash, "push-ttl-urgent": v.pushTTLUrgent, "push-ttl-breaking": v.pushTTLBreaking} {
		if d < push.MinTTL || d > push.MaxTTL {
			return bad(name, "must be %s to %s", push.MinTTL, push.MaxTTL)
		}
	}
	if v.vapidSubject != "" {
		cfg.VAPID = push.IdentityConfig{PublicKey: v.vapidPublicKey, PrivateKey: v.vapidPrivateKey, KeyFile: v.vapidKeyFile, DataDir: v.dataDir, Subject: v.vapidSubject}
		if err := push.CheckSubject(v.vapidSubject); err != nil {
			return bad("vapid-subject", "%v", err)
		}
		if v.vapidPublicKey != "" || v.vapidPrivateKey != "" {
			if err := push.CheckKeys(v.vapidPublicKey, v.vapidPrivateKey); err != nil {
				return bad("vapid-public-key", "with --vapid-private-key: %v", err)
			}
		}
	} else if v.vapidPublicKey != "" || v.vapidPrivateKey != "" || v.vapidKeyFile != "" {
		return bad("vapid-subject", "VAPID keys are given but no subject; Web Push needs a mailto: or https: contact")
	}
	if len(v.pushAllowedHosts) > 0 {
		cfg.PushPolicy.AllowedHosts = v.pushAllowedHosts
		if _, err := pushpolicy.New(cfg.PushPolicy); err != nil {
			return bad("push-allowed-hosts", "%v", err)
		}
	}
	cfg.PushPolicy.InsecureTestEndpoints = v.pushInsecureEndpoints
	if _, err := pushpolicy.New(cfg.PushPolicy); err != nil {
		return bad("push-insecure-test-endpoints", "%v", err)
	}
	cfg.OutboundInsecureTestURLs = v.outboundInsecureURLs
	if _, err := pushpolicy.New(pushpolicy.Options{AnyPublicHost: true, InsecureTestEndpoints: v.outboundInsecureURLs}); err != nil {
		return bad("outbound-insecure-test-urls", "%v", err)
	}
	if v.webhookWorkers < 1 {
		return bad("webhook-workers", "must be at least 1")
	}
	cfg.Webhooks = webhook.Options{Workers: v.webhookWorkers}
	cfg.Push = push.Options{
		TTL:  map[string]time.Duration{news.PriorityFlash: v.pushTTLFlash, news.PriorityUrgent: v.pushTTLUrgent, news.PriorityBreaking: v.pushTTLBreaking},
		Jobs: v.pushJobs, PerHost: v.pushPerHost, SubscribePerHour: v.pushSubscribePerHour,
		CheckpointInterval: v.pushCheckpoint, ReceiptRate: v.receiptRate,
	}
	if v.receiptRate == 0 {
		cfg.Push.ReceiptRate = -1 // the flag's 0 is no limit
	}
	if v.pushCheckpoint == 0 {
		// The flag's 0 is "no interval": the option's negative value, since
		// the option's 0 is its default.
		cfg.Push.CheckpointInterval = -1
	}
	if name, err := v.appPush.configure(&cfg); err != nil {
		return bad(name, "%v", err)
	}
	for name, d := range map[string]time.Duration{"alert-min-interval": v.alertMinInterval, "alert-duplicate-window": v.alertDuplicateWindow} {
		if d < 0 {
			return bad(name, "must be 0 (off) or more")
		}
	}
	// The flags' 0 is "off": the options' negative value, since their 0 is
	// the default.
	cfg.Editor = editor.Options{AlertMinInterval: cmp.Or(v.alertMinInterval, -1), AlertDuplicateWindow: cmp.Or(v.alertDuplicateWindow, -1)}
	if v.scheduleMaxLate < 0 {
		return bad("schedule-max-late", "must be 0 (however late) or more")
	}
	if v.scheduleMaxAhead <= 0 {
		return bad("schedule-max-ahead", "must be more than 0")
	}
	if v.scheduleMaxPending < 0 {
		return bad("schedule-max-pending", "must be 0 (no bound) or more")
	}
	cfg.Editor.ScheduleMaxAhead, cfg.Editor.ScheduleMaxPending = v.scheduleMaxAhead, cmp.Or(v.scheduleMaxPending, -1)
	cfg.Schedule = schedule.Options{MaxLate: cmp.Or(v.scheduleMaxLate, -1)}
	if v.storiesMaxOpen < 0 {
		return bad("stories-max-open", "must be 0 (no bound) or more")
	}
	cfg.Stories = story.Options{MaxOpen: cmp.Or(v.storiesMaxOpen, -1)}
	if v.publicURL != "" {
		if err := feed.CheckPublicURL(v.publicURL); err != nil {
			return bad("public-url", "%v", err)
		}
		cfg.Feed.PublicURL = v.publicURL
	}
	if _, _, err := net.SplitHostPort(v.addr); err != nil {
		return bad("addr", "want host:port, such as :8080")
	}
	if v.debugAddr != "" {
		if _, _, err := net.SplitHostPort(v.debugAddr); err != nil {
			return bad("debug-addr", "want host:port, such as 127.0.0.1:6060")
		}
	}
	if v.taxonomy != "" {
		data, err := os.ReadFile(v.taxonomy)
		if err != nil {
			return bad("taxonomy", "%v", err)
		}
		if deps.Taxonomy, err = news.ParseTaxonomy(data); err != nil {
			return bad("taxonomy", "%v", err)
		}
	}
	var err error
	switch {
	case v.editorsFile != "" && v.editorHashes != "":
		return bad("editor-hashes", "give either --editors or --editor-hashes, not both")
	case v.editorsFile != "":
		data, err := os.ReadFile(v.editorsFile)
		if err != nil {
			return bad("editors", "%v", err)
		}
		if deps.Editors, err = editor.ParseEditors(string(data)); err != nil {
			return bad("editors", "%v", err)
		}
	case v.editorHashes != "":
		if deps.Editors, err = editor.ParseEditorList(v.editorHashes); err != nil {
			return bad("editor-hashes", "%v", err)
		}
	}
	cfg.DataDir = v.dataDir
	cfg.Stream = stream.Options{
		URL: v.natsURL, CredsFile: v.natsCreds, Listen: v.natsListen, Replicas: replicas,
		User: v.natsUser, Password: v.natsPassword,
		MaxStore: int64(v.natsMaxStore), MaxMemory: int64(v.natsMaxMemory),
		MaxAge: v.historyMaxAge, MaxEvents: v.historyMaxEvents, AuditMaxAge: v.auditMaxAge,
	}
	cfg.Live = live.Options{
		QueueSize: v.readerQueue, PingInterval: v.pingInterval, WriteTimeout: v.writeTimeout,
		Heartbeat: v.sseHeartbeat, AllowedOrigins: v.allowedOrigins,
		ReadersPerAddress: noLimit(v.readersPerAddress),
	}
	if !v.wsWriters.Auto {
		cfg.Live.Writers = v.wsWriters.N // 0, the old auto, is the option's default too
	}
	if !v.maxReaders.Auto {
		cfg.Live.MaxReaders = noLimit(v.maxReaders.N)
	}
	cfg.TrustedProxies, cfg.MetricsAllow = v.trustedProxies, v.metricsAllow
	cfg.Limits = server.Limits{ReaderConnects: noLimit(v.readerConnects), APIRequests: noLimit(v.apiRequests),
		AuthFailures: noLimit(v.authFails), ConnectionsPerAddress: noLimit(v.connectionsPerAddress)}
	deps.Logger = log
	return deps, cfg, nil
}

// newLogger logs in format, "text" or "json" (config checked it), at level.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
	deps, cfg, err := v.config(stderr)
	if err != nil {
		return flagError(stderr, err)
	}
	log := deps.Logger
	warnSecretFlags(log, f, v)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", v.addr)
	if err != nil {
		fmt.Fprintf(stderr, "newsflash: listen on --addr %s: %v\n", v.addr, err)
		return 1
	}
	startCtx, cancel := context.WithTimeout(ctx, v.startTimeout)
	srv, err := server.New(startCtx, deps, cfg)
	cancel()
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "newsflash: start: %v\n", err)
		return 1
	}
	if deps.Editors == nil && v.natsURL != "" {
		log.Warn("no editors configured with an external NATS: this instance's bootstrap token works on this instance only; give every instance the same --editors")
	}
	log.Info("newsflash listening", "addr", ln.Addr().String(), "nats", natsMode(v, srv), "data_dir", v.dataDir, "version", readBuildInfo().String())
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

func natsMode(v *serveFlags, srv *server.Server) string {
	if v.natsURL != "" {
		return "external"
	}
	if u := srv.Stream().ClientURL(); u != "" {
		return "embedded, client port " + u
	}
	return "embedded"
}

// warnSecretFlags warns of secrets given on the command line, where any
// user of the machine can read them (ps, /proc/PID/cmdline), naming the
// flag and the variable to use instead, never the value.
func warnSecretFlags(log *slog.Logger, f *flags, v *serveFlags) {
	const msg = "a secret is given on the command line, where other users of this machine can read it; set its variable instead (or use a file where the flag has one)"
	for _, name := range f.secretsOnCommandLine() {
		log.Warn(msg, "flag", "--"+name, "variable", envName(name))
	}
	if f.given["nats-url"] && urlHasPassword(v.natsURL) {
		log.Warn(msg, "flag", "--nats-url", "variable", envName("nats-url"), "instead", "--nats-user with NEWSFLASH_NATS_PASSWORD")
	}
}

// urlHasPassword reports whether any of the comma-separated URLs carries a
// password (or a token, nats://TOKEN@host).
func urlHasPassword(urls string) bool {
	for _, s := range strings.Split(urls, ",") {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			return true
		}
	}
	return false
}
