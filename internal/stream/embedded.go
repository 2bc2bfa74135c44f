package stream

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded runs an in-process nats-server with JetStream that fsyncs
// every write before acknowledging it. It opens no TCP port unless listen
// ("host:port") is given. With a user, every client must give it and its
// password, this instance's in-process connection too.
func startEmbedded(cfg Options, log *slog.Logger) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "newsflash",
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		SyncAlways:         true,
		SyncInterval:       2 * time.Minute, // unused with SyncAlways; set so the default is not applied
		DontListen:         cfg.Listen == "",
		NoSigs:             true,
		MaxPayload:         1 << 20,
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats-listen %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < -1 || p > 65535 {
			return nil, fmt.Errorf("nats-listen %q: bad port", cfg.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT // as net.Listen does; nats-server's 0 is 4222
		}
		opts.Host, opts.Port = host, p
	}
	if cfg.User != "" {
		opts.Username, opts.Password = cfg.User, cfg.Password
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.SetLoggerV2(&natsLogger{log: log.With("component", "nats-server")}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 30s (store %s)", cfg.StoreDir)
	}
	return ns, nil
}

// natsLogger sends the embedded server's log lines to slog.
type natsLogger struct{ log *slog.Logger }

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Debugf(format string, v ...any)  {}
func (l *natsLogger) Tracef(format string, v ...any)  {}

func (l *natsLogger) Warnf(format string, v ...any) {
	// The server warns of any password it is given unhashed, since it
	// expects them from config files; ours comes from memory, random or
	// given by the operator, and is kept nowhere else by the server.
	if format == plaintextPasswordWarning {
		l.log.Debug(format)
		return
	}
	l.log.Warn(fmt.Sprintf(format, v...))
}

const plaintextPasswordWarning = "Plaintext passwords detected, use nkeys or bcrypt"
