package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/bench"
	"newsflash/internal/editor"
	"newsflash/internal/fcm"
	"newsflash/internal/server"
)

// Bounds of a spawned server's start and stop.
const (
	spawnStartTimeout = time.Minute
	spawnStopTimeout  = 15 * time.Second
)

// spawned is a server started in this process for a bench run.
type spawned struct {
	srv   *server.Server // nil for a server process
	proc  *serverProcess // nil for a server in this process
	url   string
	token string
	sink  net.Listener // where the bench's push sink listens; the server may push there
	dir   string
	done  chan error
}

// spawnServer starts a server on a free loopback port with a temporary
// data directory, a fresh editor token and Web Push on, allowed to push to
// the bench's sink, Android and iOS on the stand-ins st (when not nil), and
// without the per-address limits (every reader comes from the few loopback
// source addresses).
func spawnServer(ctx context.Context, sinkAddr string, st *bench.StandIns, stderr io.Writer) (*spawned, error) {
	sp, line, err := newSpawned(sinkAddr)
	if err != nil {
		return nil, err
	}
	sink, fail := sp.sink, sp.fail
	eds, err := editor.ParseEditors(line)
	if err != nil {
		return fail(err)
	}
	deps := server.Deps{Editors: eds, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	cfg := server.Options{DataDir: sp.dir}
	cfg.VAPID.Subject = "mailto:bench@newsroom.example"
	cfg.PushPolicy.InsecureTestEndpoints = []string{sink.Addr().String()}
	cfg.Push.SubscribePerHour = 1 << 20
	cfg.Live.ReadersPerAddress = -1
	cfg.Limits.ConnectionsPerAddress = -1
	cfg.Limits.ReaderConnects, cfg.Limits.APIRequests = -1, -1
	if st != nil && st.FCM != nil {
		cfg.FCM = fcm.Options{Endpoint: st.FCM.URL(), Credentials: st.FCM.Credentials()}
		deps.FCMClient = st.Client()
	}
	if st != nil && st.APNs != nil {
		key, err := apns.LoadKey(st.KeyFile())
		if err != nil {
			return fail(err)
		}
		cfg.APNs = apns.Options{Endpoint: st.APNs.URL, Key: key, KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
		deps.APNsClient = st.Client()
	}
	startCtx, cancel := context.WithTimeout(ctx, spawnStartTimeout)
	defer cancel()
	if sp.srv, err = server.New(startCtx, deps, cfg); err != nil {
		return fail(fmt.Errorf("start server: %w", err))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sp.srv.Shutdown(startCtx)
		return fail(err)
	}
	sp.url = "http://" + ln.Addr().String()
	go func() { sp.done <- sp.srv.Serve(ln) }()
	select {
	case <-sp.srv.CaughtUp():
	case <-startCtx.Done():
		sp.stop(stderr)
		return nil, fmt.Errorf("start server: history did not catch up: %w", startCtx.Err())
	}
	fmt.Fprintf(stderr, "bench: spawned a server at %s (data in %s)\n", sp.url, sp.dir)
	return sp, nil
}

// stop shuts the server down and removes its data.
func (sp *spawned) stop(stderr io.Writer) {
	if sp.proc != nil {
		sp.proc.stop(stderr)
		sp.sink.Close()
		os.RemoveAll(sp.dir)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), spawnStopTimeout)
	defer cancel()
	if err := sp.srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "bench: spawned server shutdown: %v\n", err)
	}
	select {
	case err := <-sp.done:
		if err != nil {
			fmt.Fprintf(stderr, "bench: spawned server: %v\n", err)
		}
	case <-ctx.Done():
	}
	sp.sink.Close()
	os.RemoveAll(sp.dir)
}

// newSpawned opens the sink's listener, a temporary data directory and a
// fresh editor token (sp.token; line is its editors line) for a server the
// tool starts.
func newSpawned(sinkAddr string) (sp *spawned, line string, err error) {
	sink, err := bench.ListenSink(sinkAddr)
	if err != nil {
		return nil, "", err
	}
	sp = &spawned{sink: sink, done: make(chan error, 1)}
	if sp.dir, err = os.MkdirTemp("", "newsflash-bench-"); err != nil {
		_, err = sp.fail(err)
		return nil, "", err
	}
	if sp.token, line, err = editor.NewToken("bench"); err != nil {
		_, err = sp.fail(err)
		return nil, "", err
	}
	return sp, line, nil
}

// fail undoes newSpawned and returns err.
func (sp *spawned) fail(err error) (*spawned, error) {
	sp.sink.Close()
	if sp.dir != "" {
		os.RemoveAll(sp.dir)
	}
	return nil, err
}
