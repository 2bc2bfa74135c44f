package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	nfbench "newsflash/internal/bench"
	"newsflash/internal/editor"
	"newsflash/internal/server"
)

// benchTokenEnv holds the editor token when --token is not given.
const benchTokenEnv = "NEWSFLASH_BENCH_TOKEN"

// Bounds of a spawned server's start and stop.
const (
	spawnStartTimeout = time.Minute
	spawnStopTimeout  = 15 * time.Second
)

type benchFlags struct {
	url, token, scenario, filter, sinkAddr string
	spawn                                  bool
	serverPID, readers, items, subs        int
	rate, connectRate                      float64
	srcIPs                                 listFlag
	duration, drain                        time.Duration
}

func benchFlagSet() (*flag.FlagSet, *benchFlags) {
	v := &benchFlags{srcIPs: listFlag(nfbench.DefaultSrcIPs)}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&v.url, "url", "http://127.0.0.1:8080", "server to load; its host must be a loopback address")
	fs.BoolVar(&v.spawn, "spawn", false, "start a server in this process (temporary data dir, Web Push on) instead of --url")
	fs.IntVar(&v.serverPID, "server-pid", 0, "the server's process id, to read its RSS and CPU from /proc")
	fs.StringVar(&v.token, "token", "", "editor token for posting (default $"+benchTokenEnv+")")
	fs.StringVar(&v.scenario, "scenario", "fanout", "idle, fanout, push or soak")
	fs.IntVar(&v.readers, "readers", 1000, "WebSocket readers (idle, fanout)")
	fs.IntVar(&v.items, "items", 0, "items to post (default 100 for fanout, 1 for push)")
	fs.Float64Var(&v.rate, "rate", 5, "items posted per second")
	fs.IntVar(&v.subs, "subs", 1000, "push subscriptions (push)")
	fs.Var(&v.srcIPs, "src-ips", "loopback source addresses readers are spread over; none: let the kernel pick")
	fs.StringVar(&v.filter, "filter", "", "readers' and subscriptions' filter, e.g. regions=mena&langs=ar")
	fs.Float64Var(&v.connectRate, "connect-rate", 1000, "reader connects started per second")
	fs.DurationVar(&v.duration, "duration", 2*time.Second, "how long idle holds its readers")
	fs.DurationVar(&v.drain, "drain", 10*time.Second, "after posting, wait for deliveries or sends until none came for this long")
	fs.StringVar(&v.sinkAddr, "sink-addr", "127.0.0.1:0", "loopback address of the local push service (push); a separate server must allow it with --push-insecure-test-endpoints")
	return fs, v
}

func benchUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: newsflash bench [flags]

Loads a Newsflash server on this machine over its public API and reports a
summary, then one JSON line with every figure. Scenarios:
  idle     readers connect and stay: connect rate, handshakes, RSS and CPU per reader
  fanout   readers, then items posted at --rate: delivered, missing, duplicated, latency, CPU per delivery
  push     push subscriptions of a local push service, then items: sends/s, CPU per send
  soak     not yet

Exit status: 0 for a clean run, 1 when the run saw failures or could not
run, 2 for bad flags.

Flags:
`)
	var all []*flag.Flag
	fs.VisitAll(func(fl *flag.Flag) { all = append(all, fl) })
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for _, fl := range all {
		def := fl.DefValue
		switch {
		case fl.Name == "items":
			def = "per scenario"
		case def == "":
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (default %s)\n      %s\n", fl.Name, def, fl.Usage)
	}
}

func bench(args []string, stdout, stderr io.Writer) int {
	fs, v := benchFlagSet()
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			benchUsage(stdout, fs)
		}
		return flagError(stderr, err)
	}
	if fs.NArg() > 0 {
		return flagError(stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	cfg := nfbench.Config{
		URL: v.url, Token: v.token, ServerPID: v.serverPID, Scenario: v.scenario,
		Readers: v.readers, Items: v.items, Rate: v.rate, Subs: v.subs, SrcIPs: v.srcIPs,
		Filter: v.filter, ConnectRate: v.connectRate, Duration: v.duration, Drain: v.drain,
		SinkAddr: v.sinkAddr, Out: stdout, Log: stderr,
	}
	if given["src-ips"] && (len(v.srcIPs) == 0 || len(v.srcIPs) == 1 && v.srcIPs[0] == "none") {
		cfg.SrcIPs = []string{}
	}
	if cfg.Token == "" {
		cfg.Token = os.Getenv(benchTokenEnv)
	}
	for name, n := range map[string]int{"readers": v.readers, "subs": v.subs} {
		if n < 1 {
			return flagError(stderr, fmt.Errorf("invalid --%s %d: must be at least 1", name, n))
		}
	}
	for name, d := range map[string]time.Duration{"duration": v.duration, "drain": v.drain} {
		if err := positiveDuration(name, d); err != nil {
			return flagError(stderr, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if v.spawn {
		if given["url"] || given["server-pid"] {
			return flagError(stderr, errors.New("--spawn starts its own server: leave out --url and --server-pid"))
		}
		if v.scenario == nfbench.ScenarioSoak {
			return benchResult(nil, fmt.Errorf("scenario soak: %w (a later issue adds it)", nfbench.ErrNotYet), stderr)
		}
		sp, err := spawnServer(ctx, v.sinkAddr, stderr)
		if err != nil {
			return benchResult(nil, err, stderr)
		}
		defer sp.stop(stderr)
		cfg.URL, cfg.Token, cfg.ServerPID, cfg.SinkListener = sp.url, sp.token, os.Getpid(), sp.sink
	}
	res, err := nfbench.Run(ctx, cfg)
	return benchResult(res, err, stderr)
}

// benchResult maps a run's outcome to an exit status.
func benchResult(res *nfbench.Result, err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, nfbench.ErrUsage):
		fmt.Fprintf(stderr, "newsflash bench: %v\n", strings.TrimPrefix(err.Error(), nfbench.ErrUsage.Error()+": "))
		return 2
	case errors.Is(err, nfbench.ErrNotYet):
		fmt.Fprintf(stderr, "newsflash bench: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "newsflash bench: %v\n", err)
		return 1
	case !res.Clean():
		return 1
	}
	return 0
}

// spawned is a server started in this process for a bench run.
type spawned struct {
	srv   *server.Server
	url   string
	token string
	sink  net.Listener // where the bench's push sink listens; the server may push there
	dir   string
	done  chan error
}

// spawnServer starts a server on a free loopback port with a temporary
// data directory, a fresh editor token and Web Push on, allowed to push to
// the bench's sink.
func spawnServer(ctx context.Context, sinkAddr string, stderr io.Writer) (*spawned, error) {
	sink, err := nfbench.ListenSink(sinkAddr)
	if err != nil {
		return nil, err
	}
	sp := &spawned{sink: sink, done: make(chan error, 1)}
	fail := func(err error) (*spawned, error) {
		sink.Close()
		if sp.dir != "" {
			os.RemoveAll(sp.dir)
		}
		return nil, err
	}
	if sp.dir, err = os.MkdirTemp("", "newsflash-bench-"); err != nil {
		return fail(err)
	}
	tok, line, err := editor.NewToken("bench")
	if err != nil {
		return fail(err)
	}
	eds, err := editor.ParseEditors(line)
	if err != nil {
		return fail(err)
	}
	sp.token = tok
	cfg := server.Config{DataDir: sp.dir, Editors: eds, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	cfg.VAPID.Subject = "mailto:bench@newsroom.example"
	cfg.PushPolicy.InsecureTestEndpoints = []string{sink.Addr().String()}
	cfg.Push.SubscribePerHour = 1 << 20
	startCtx, cancel := context.WithTimeout(ctx, spawnStartTimeout)
	defer cancel()
	if sp.srv, err = server.New(startCtx, cfg); err != nil {
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
