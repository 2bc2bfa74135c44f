package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"
)

// readyWait bounds how long Run waits for the server's /readyz.
const readyWait = 10 * time.Second

// runner is one run's shared state.
type runner struct {
	cfg     Config
	filter  filter
	base    string         // http://addr:port of the server
	api     *api           // posts and other API calls, from the default source address
	clients []*http.Client // one per source address, for readers and subscriptions
	probe   probe
	spawned bool
	run     string // this run's tag, in item texts and Idempotency-Keys
	res     *Result
}

// Run plays cfg's scenario, writes the summary and the JSON line to
// cfg.Out and returns the figures. An error means the run could not be
// made (wrapping ErrUsage for a bad configuration; a refusal by one of the
// server's limits names the serve flag to change); failures the run
// measured are in the Result (see Result.Clean).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.SinkListener != nil && cfg.Scenario != ScenarioPush && cfg.Scenario != ScenarioSoak {
		cfg.SinkListener.Close()
	}
	if cfg.Token == "" && cfg.Scenario != ScenarioIdle {
		return nil, fmt.Errorf("%w: scenario %s posts items and needs an editor token: --token or NEWSFLASH_BENCH_TOKEN", ErrUsage, cfg.Scenario)
	}
	r := &runner{cfg: cfg, probe: probe{pid: cfg.ServerPID}, spawned: cfg.ServerPID == os.Getpid()}
	if r.filter, err = parseFilter(cfg.Filter); err != nil {
		return nil, err
	}
	base, addr, err := resolveTarget(ctx, cfg.URL, defaultLookup)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	r.base = base
	srcIPs := cfg.SrcIPs
	if srcIPs == nil && addr.Addr().Is4() {
		srcIPs = DefaultSrcIPs
	}
	srcs, err := parseSources(srcIPs, addr.Addr())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if err := r.checkLimits(len(srcs)); err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		r.clients = []*http.Client{newClient(netip.Addr{})}
	}
	for _, a := range srcs {
		r.clients = append(r.clients, newClient(a))
	}
	r.api = &api{base: base, token: cfg.Token, client: newClient(netip.Addr{})}
	defer closeIdle(append(r.clients, r.api.client))
	var tag [4]byte
	rand.Read(tag[:])
	r.run = hex.EncodeToString(tag[:])

	if err := r.api.ready(ctx, readyWait); err != nil {
		return nil, err
	}
	r.res = &Result{Scenario: cfg.Scenario, URL: base, Spawned: r.spawned, ServerPID: cfg.ServerPID,
		SrcIPs: make([]string, 0, len(srcs)), Filter: cfg.Filter, Run: r.run}
	for _, a := range srcs {
		r.res.SrcIPs = append(r.res.SrcIPs, a.String())
	}
	fmt.Fprintf(cfg.Log, "bench: %s against %s, run %s\n", cfg.Scenario, base, r.run)
	start := r.probe.sample()
	switch cfg.Scenario {
	case ScenarioIdle:
		err = r.idle(ctx)
	case ScenarioFanout:
		err = r.fanout(ctx)
	case ScenarioPush:
		err = r.push(ctx)
	case ScenarioSoak:
		err = r.soak(ctx)
	}
	if err != nil {
		return nil, err
	}
	end := r.probe.sample()
	all := span(start, end)
	r.res.WallS = round(all.wall.Seconds(), 3)
	r.res.ToolCPUS = round(all.tool.Seconds(), 2)
	if all.hasSrv {
		r.res.ServerCPUS = ptr(round(all.server.Seconds(), 2))
	}
	r.res.ToolRSSKiB, _ = readRSS(0)
	if kib := r.probe.rss(); kib >= 0 {
		r.res.ServerRSSKiB = &kib
	}
	r.res.write(cfg.Out)
	return r.res, nil
}

// fileReserve is the open files a run needs besides its readers: API
// clients (up to 32 posts in flight, both ends when spawned), /proc reads.
const fileReserve = 128

// checkLimits raises the open files limit and refuses a run that cannot
// fit in it or in the ephemeral ports of its source addresses; it warns
// when the server's own limit looks too small.
func (r *runner) checkLimits(sources int) error {
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	open, err := openFiles(0) // 0 where it is not known
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("count open files: %w", err)
	}
	readers := 0
	switch r.cfg.Scenario {
	case ScenarioIdle, ScenarioFanout:
		readers = r.cfg.Readers
	case ScenarioSoak:
		readers = r.cfg.Readers + maxClosing // connections still closing while their lineage reconnects
	}
	perReader := 1
	if r.spawned {
		perReader = 2 // the tool's end and the server's end of each connection
	}
	if need := open + perReader*readers + fileReserve; need > limit {
		how := "raise it (ulimit -n) or use fewer --readers"
		if r.spawned {
			how = "each reader takes two files in this process (the tool's end and the server's end); run the server as its own process (newsflash serve) and pass --url and --server-pid, or use fewer --readers"
		}
		return fmt.Errorf("%w: %d readers need about %d open files (%d open now, %d per reader, %d in reserve) but this process may open %d: %s",
			ErrUsage, readers, need, open, perReader, fileReserve, limit, how)
	}
	ports := ephemeralPorts()
	if per := (readers + max(sources, 1) - 1) / max(sources, 1); per > ports-1000 {
		return fmt.Errorf("%w: %d readers from %d source addresses is %d connections per address, but one address has %d ephemeral ports towards the server: add loopback addresses to --src-ips",
			ErrUsage, readers, max(sources, 1), per, ports)
	}
	if r.cfg.ServerPID != 0 && !r.spawned && readers > 0 {
		srvLimit, err1 := fileLimit(r.cfg.ServerPID)
		srvOpen, err2 := openFiles(r.cfg.ServerPID)
		if err1 == nil && err2 == nil && srvOpen+readers+64 > srvLimit {
			fmt.Fprintf(r.cfg.Log, "bench: warning: the server (pid %d) has %d files open and may open %d: %d more readers will not fit\n",
				r.cfg.ServerPID, srvOpen, srvLimit, readers)
		}
	}
	return nil
}

// wsURL is the readers' URL.
func (r *runner) wsURL() string {
	return "ws" + strings.TrimPrefix(r.base, "http") + "/api/v1/ws?" + r.filter.query
}

// connect opens the readers and records the connect phase's figures.
func (r *runner) connect(ctx context.Context, fl *fleet) error {
	fmt.Fprintf(r.cfg.Log, "bench: connecting %d readers at %g/s from %d source address(es)\n", r.cfg.Readers, r.cfg.ConnectRate, len(r.clients))
	before := r.probe.sample()
	fl.connect(ctx, r.cfg.Readers, r.cfg.ConnectRate, r.clients, r.wsURL(), r.cfg.Log)
	sp := span(before, r.probe.sample())
	n := len(fl.readers)
	c := &ConnectFigures{Readers: r.cfg.Readers, Connected: n, ConnectFailed: fl.failed + (r.cfg.Readers - fl.attempted),
		ConnectS: round(fl.elapsed.Seconds(), 3)}
	if fl.firstErr != nil {
		c.ConnectError = fl.firstErr.Error()
	}
	if fl.elapsed > 0 {
		c.ConnectRate = round(float64(n)/fl.elapsed.Seconds(), 1)
	}
	h := summarize(fl.handshakes)
	c.HandshakeP50Ms, c.HandshakeP90Ms, c.HandshakeP99Ms, c.HandshakeMaxMs = h.P50, h.P90, h.P99, h.Max
	c.ServerCPUUsPerConnect = perOp(sp.server, sp.hasSrv, n)
	c.ToolCPUUsPerConnect = perOp(sp.tool, sp.hasTool, n)
	r.res.Connect = c
	if n == 0 {
		return fmt.Errorf("no reader connected to %s: %v", r.wsURL(), errors.Join(fl.firstErr, ctx.Err()))
	}
	fmt.Fprintf(r.cfg.Log, "bench: %d readers connected in %.2fs\n", n, fl.elapsed.Seconds())
	return nil
}

// closeReaders closes the readers and records the ones dropped early.
func (r *runner) closeReaders(fl *fleet) {
	if err := fl.close(10 * time.Second); err != nil {
		fmt.Fprintf(r.cfg.Log, "bench: %v\n", err)
	}
	n, first := fl.dropped()
	if r.res.Connect != nil {
		r.res.Connect.Disconnected = n
		if first != nil {
			r.res.Connect.DisconnectError = first.Error()
		}
	}
}

// drain waits until done reports true, or until progress has not changed
// for idle, or ctx ends. It checks every 5 ms and returns when progress
// last changed.
func drain(ctx context.Context, idle time.Duration, progress func() int64, done func() bool) time.Time {
	last, lastAt := progress(), time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return lastAt
		case now := <-tick.C:
			if p := progress(); p != last {
				last, lastAt = p, now
			} else if now.Sub(lastAt) >= idle {
				return lastAt
			}
		}
	}
	return time.Now()
}

// postFiguresOf gives the figures of a run's posts.
func postFiguresOf(items int, rate float64, pf postFigures) PostFigures {
	f := PostFigures{Items: items, Rate: rate, Posted: pf.ok, PostFailed: pf.failed}
	if pf.firstErr != nil {
		f.PostError = pf.firstErr.Error()
	}
	if !pf.first.IsZero() {
		f.PostS = round(pf.last.Sub(pf.first).Seconds(), 3)
	}
	s := summarize(pf.took)
	f.PostP50Ms, f.PostP99Ms = s.P50, s.P99
	return f
}
