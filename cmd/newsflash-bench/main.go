// Command newsflash-bench is Newsflash's load tool: it loads a server on
// this machine over its public API and reports figures (see package
// newsflash/internal/bench, and docs/BENCHMARKS.md for results). It is a
// binary of its own so that the server never links the tool; with --spawn
// it starts a server in its own process.
//
//	newsflash-bench --spawn --scenario fanout
//	newsflash-bench --url http://127.0.0.1:18700 --server-pid PID --scenario soak
//
// This package parses flags into bench.Config; it holds no logic of its own.
// Its flags are plain: they are not read from NEWSFLASH_* variables, but
// for the editor token, which may come from NEWSFLASH_BENCH_TOKEN.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	nfbench "newsflash/internal/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// benchTokenEnv holds the editor token when --token is not given.
const benchTokenEnv = "NEWSFLASH_BENCH_TOKEN"

type benchFlags struct {
	url, token, scenario, filter, sinkAddr string
	platforms, spawnBin                    string
	spawn, prefs                           bool
	serverPID, readers, items, subs, churn int
	rate, connectRate                      float64
	corrections, retractions, pushShare    float64
	srcIPs                                 string
	duration, drain                        time.Duration
}

func benchFlagSet() (*flag.FlagSet, *benchFlags) {
	v := &benchFlags{}
	fs := flag.NewFlagSet("newsflash-bench", flag.ContinueOnError)
	fs.StringVar(&v.url, "url", "http://127.0.0.1:8080", "server to load; its host must be a loopback address")
	fs.BoolVar(&v.spawn, "spawn", false, "start a server in this process (temporary data dir, Web Push on) instead of --url")
	fs.IntVar(&v.serverPID, "server-pid", 0, "the server's process id, to read its RSS and CPU from /proc (Linux only)")
	fs.StringVar(&v.token, "token", "", "editor token for posting (default $"+benchTokenEnv+")")
	fs.StringVar(&v.scenario, "scenario", "fanout", "idle, fanout, push or soak")
	fs.IntVar(&v.readers, "readers", 1000, "WebSocket readers (idle, fanout, soak)")
	fs.IntVar(&v.items, "items", 0, "items to post (default 100 for fanout, 1 for push; soak posts for --duration)")
	fs.Float64Var(&v.rate, "rate", 5, "items posted per second")
	fs.IntVar(&v.subs, "subs", 1000, "push subscriptions (push, soak)")
	fs.IntVar(&v.churn, "churn", 0, "soak: readers replaced per second, each closing normally and resuming at once with since and epoch (default 5% of --readers; 0: none)")
	fs.Float64Var(&v.corrections, "corrections", 0.2, "soak: share of posts corrected (PATCH) 1s after the post")
	fs.Float64Var(&v.retractions, "retractions", 0.05, "soak: share of posts retracted (DELETE) 2s after the post")
	fs.Float64Var(&v.pushShare, "push-share", 0.2, "soak: share of posts in the push subscriptions' filter, so pushed to every one")
	fs.StringVar(&v.srcIPs, "src-ips", strings.Join(nfbench.DefaultSrcIPs, ","), "loopback source addresses readers are spread over, comma-separated; none: let the kernel pick")
	fs.StringVar(&v.filter, "filter", "", "readers' and subscriptions' filter, e.g. regions=mena&langs=ar")
	fs.Float64Var(&v.connectRate, "connect-rate", 1000, "reader connects started per second")
	fs.DurationVar(&v.duration, "duration", 0, "how long idle holds its readers (default 2s) and how long soak runs (default 1m)")
	fs.DurationVar(&v.drain, "drain", 10*time.Second, "after posting, wait for deliveries or sends until none came for this long")
	fs.StringVar(&v.platforms, "platforms", "web", "push: platforms to register --subs subscriptions or devices of each, comma-separated: web (the local push sink), android, ios (the tool's FCM and APNs stand-ins)")
	fs.BoolVar(&v.prefs, "prefs", false, "push: give every subscription and device prefs that hold back none of the alerts (min_priority breaking, quiet hours away from now, max_per_hour 60) and post urgent alerts, so the prefs are decided on every send; at most 60 --items")
	fs.StringVar(&v.spawnBin, "spawn-bin", "", "with --spawn: run this newsflash binary's serve as a child process (its CPU apart from the tool's) instead of a server in this process")
	fs.StringVar(&v.sinkAddr, "sink-addr", "127.0.0.1:0", "loopback address of the local push service (push, soak); a separate server must allow it with --push-insecure-test-endpoints")
	return fs, v
}

func benchUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: newsflash-bench [flags]

Loads a Newsflash server on this machine over its public API and reports a
summary, then one JSON line with every figure. Scenarios:
  idle     readers connect and stay: connect rate, handshakes, RSS and CPU per reader
  fanout   readers, then items posted at --rate: delivered, missing, duplicated, latency, CPU per delivery
  push     push subscriptions of a local push service, then items: sends/s, CPU per send
  soak     for --duration: --readers readers (no filter, backfill=0) of which
           --churn a second close normally and resume at once with since and
           epoch; --rate posts a second, some corrected, some retracted, some
           pushed to --subs subscriptions of the local push service. Reports
           lost and duplicated events per reader across its reconnects, push
           sends missing or repeated, and the server's goroutines, heap, RSS
           and descriptors (from its GET /metrics) at the start, once the
           readers are connected, at the end and after they left. Fails
           unless nothing was lost or repeated and goroutines and descriptors
           grew by no more than the readers still connected cost (measured
           in the run) plus 64 goroutines and 32 descriptors.

A soak (and fanout or push beyond a few readers) from a few loopback
addresses is refused by the server's per-address limits; start the server
for it with
  newsflash serve --addr 127.0.0.1:18700 --readers-per-address 0 \
    --connections-per-address 0 \
    --reader-connects-per-second 0 --api-requests-per-second 0 \
    --push-subscribe-per-hour 10000 --vapid-subject mailto:ops@newsroom.example \
    --push-insecure-test-endpoints 127.0.0.1:18701
and give newsflash-bench --sink-addr 127.0.0.1:18701. A refusal ends the
run at once with the flag to change. A server spawned with --spawn has
these set. For --platforms android or ios the tool starts the FCM and APNs
stand-ins itself and, with --spawn, gives the server their flags
(--fcm-credentials, --fcm-endpoint, --apns-*) and, for a --spawn-bin child,
SSL_CERT_FILE with their certificates (Linux and other Unix systems; macOS
and Windows verify with the platform and cannot trust them this way). For a
server started separately it prints the flags and environment to start it
with, and waits for it.
Native push example (docs/BENCHMARKS.md has the figures):
  newsflash-bench --spawn --spawn-bin ./newsflash --scenario push \
    --platforms web,android,ios --subs 100000
Soak example (docs/BENCHMARKS.md has the figures):
  newsflash-bench --url http://127.0.0.1:18700 --server-pid PID --scenario soak \
    --duration 10m --readers 2000 --churn 50 --rate 5 --corrections 0.2 \
    --retractions 0.05 --subs 1000 --sink-addr 127.0.0.1:18701

Exit status: 0 for a clean run (a soak: its verdict is OK), 1 when the run
saw failures or could not run, 2 for bad flags.

Flags:
`)
	var all []*flag.Flag
	fs.VisitAll(func(fl *flag.Flag) { all = append(all, fl) })
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for _, fl := range all {
		def := fl.DefValue
		switch {
		case fl.Name == "items", fl.Name == "duration", fl.Name == "churn":
			def = "per scenario"
		case def == "":
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (default %s)\n      %s\n", fl.Name, def, fl.Usage)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
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
		Readers: v.readers, Items: v.items, Rate: v.rate, Subs: v.subs, SrcIPs: splitList(v.srcIPs),
		Filter: v.filter, ConnectRate: v.connectRate, Duration: v.duration, Drain: v.drain,
		Churn: v.churn, Corrections: v.corrections, Retractions: v.retractions, PushShare: v.pushShare,
		SinkAddr: v.sinkAddr, Platforms: splitList(v.platforms), Prefs: v.prefs, Out: stdout, Log: stderr,
	}
	if _, err := nfbench.ParsePlatforms(cfg.Platforms); err != nil {
		return flagError(stderr, errors.New(strings.TrimPrefix(err.Error(), nfbench.ErrUsage.Error()+": ")))
	}
	if given["spawn-bin"] && !v.spawn {
		return flagError(stderr, errors.New("--spawn-bin goes with --spawn"))
	}
	// In Config zero means the default and negative none; on the command
	// line 0 means none.
	if given["churn"] && v.churn == 0 {
		cfg.Churn = -1
	}
	for name, p := range map[string]*float64{"corrections": &cfg.Corrections, "retractions": &cfg.Retractions, "push-share": &cfg.PushShare} {
		if *p < 0 || *p > 1 {
			return flagError(stderr, fmt.Errorf("invalid --%s %g: a share of the posts, from 0 to 1", name, *p))
		}
		if *p == 0 {
			*p = -1
		}
	}
	if v.churn < 0 {
		return flagError(stderr, fmt.Errorf("invalid --churn %d: must be 0 or more", v.churn))
	}
	if given["src-ips"] && (len(cfg.SrcIPs) == 0 || len(cfg.SrcIPs) == 1 && cfg.SrcIPs[0] == "none") {
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
		if name == "duration" && !given[name] {
			continue // per scenario
		}
		if d <= 0 {
			return flagError(stderr, fmt.Errorf("invalid --%s %s: must be positive", name, d))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if v.spawn {
		if given["url"] || given["server-pid"] {
			return flagError(stderr, errors.New("--spawn starts its own server: leave out --url and --server-pid"))
		}
		var st *nfbench.StandIns
		if cfg.Scenario == nfbench.ScenarioPush {
			var err error
			if st, err = nfbench.StartStandIns(cfg.Platforms); err != nil {
				return benchResult(nil, fmt.Errorf("start the FCM and APNs stand-ins: %w", err), stderr)
			}
			defer st.Close()
			cfg.StandIns = st
		}
		var sp *spawned
		var err error
		if v.spawnBin != "" {
			sp, err = spawnProcess(ctx, v.spawnBin, v.sinkAddr, st, stderr)
		} else {
			sp, err = spawnServer(ctx, v.sinkAddr, st, stderr)
		}
		if err != nil {
			return benchResult(nil, err, stderr)
		}
		defer sp.stop(stderr)
		cfg.URL, cfg.Token, cfg.ServerPID, cfg.SinkListener = sp.url, sp.token, os.Getpid(), sp.sink
		cfg.Disposable = true
		if sp.proc != nil {
			cfg.ServerPID = sp.proc.cmd.Process.Pid
		}
	}
	res, err := nfbench.Run(ctx, cfg)
	return benchResult(res, err, stderr)
}

// benchResult maps a run's outcome to an exit status.
func benchResult(res *nfbench.Result, err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, nfbench.ErrUsage):
		fmt.Fprintf(stderr, "newsflash-bench: %v\n", strings.TrimPrefix(err.Error(), nfbench.ErrUsage.Error()+": "))
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "newsflash-bench: %v\n", err)
		return 1
	case !res.Clean():
		return 1
	}
	return 0
}

// flagError reports a usage problem in one line and the exit code 2.
func flagError(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "newsflash-bench: %v\n", err)
	return 2
}

// splitList splits a comma-separated list, leaving out empty entries.
func splitList(s string) []string {
	var l []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l = append(l, p)
		}
	}
	return l
}
