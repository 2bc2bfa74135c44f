package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

// Bounds of the push scenario's API work.
const (
	subscribeWorkers = 32
	statsWait        = 5 * time.Second // for the server's progress records to settle
)

// pushStats is GET /api/v1/push/stats (the fields the tool reads).
type pushStats struct {
	Subscriptions int `json:"subscriptions"`
	Items         []struct {
		Sent     int `json:"sent"`
		Failed   int `json:"failed"`
		Removed  int `json:"removed"`
		Pending  int `json:"pending"`
		Jobs     int `json:"jobs"`
		JobsDone int `json:"jobs_done"`
	} `json:"items"`
}

// ListenSink opens the listener of push's local push service on a
// loopback addr (host:port, port 0 for a free one). A server started
// separately must allow its address with --push-insecure-test-endpoints.
func ListenSink(addr string) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !isLoopback(ap.Addr()) {
		return nil, fmt.Errorf("%w: --sink-addr %q: want a loopback ip:port such as 127.0.0.1:18700", ErrUsage, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("push sink: %w", err)
	}
	return ln, nil
}

// push registers subscriptions of a local push sink (web) and devices of
// the FCM and APNs stand-ins (android, ios), posts the items and waits for
// the sends.
func (r *runner) push(ctx context.Context) error {
	f := &PushFigures{Subs: r.cfg.Subs, Prefs: r.cfg.Prefs, DecryptSample: r.cfg.DecryptSample}
	r.res.Push = f
	var counts []*platformCount
	if slices.Contains(r.cfg.Platforms, PlatformWeb) {
		ln := r.cfg.SinkListener
		if ln == nil {
			var err error
			if ln, err = ListenSink(r.cfg.SinkAddr); err != nil {
				return err
			}
		}
		sinkAddr := ln.Addr().String()
		sink := pushsink.New(pushsink.Options{DecryptSample: r.cfg.DecryptSample})
		_, stopSink := serveSink(ln, sink)
		defer stopSink()
		if err := r.checkPush(ctx, sinkAddr); err != nil {
			return err
		}
		fmt.Fprintf(r.cfg.Log, "bench: registering %d push subscriptions of the sink at %s\n", r.cfg.Subs, sinkAddr)
		subs, err := r.subscribe(ctx, sink, "http://"+sinkAddr, r.filter.regions, r.filter.topics, r.filter.langs, f)
		if !r.spawned && !r.cfg.Disposable {
			defer func() { f.Unsubscribed += r.unsubscribe(subs) }()
		}
		if err != nil {
			return err
		}
		counts = append(counts, &platformCount{plat: PlatformWeb, subs: len(subs), hint: sinkAddr,
			count: func() int { a, _ := sink.Count(); return a }})
		defer func() { _, f.Refused = sink.Count() }()
	}
	if natives := slices.DeleteFunc(slices.Clone(r.cfg.Platforms), func(p string) bool { return p == PlatformWeb }); len(natives) > 0 {
		st := r.cfg.StandIns
		if st == nil {
			var err error
			if st, err = StartStandIns(natives); err != nil {
				return fmt.Errorf("start the stand-ins: %w", err)
			}
			defer st.Close()
			fmt.Fprintf(r.cfg.Log, "bench: FCM and APNs stand-ins started; start the server for them with\n  %s\n(with the web flags the push scenario needs, see --help); waiting up to %s for it\n", st.Command(), standInWait)
		}
		for _, plat := range natives {
			if plat == PlatformAndroid && st.FCM == nil || plat == PlatformIOS && st.APNs == nil {
				return fmt.Errorf("%w: --platforms %s: the stand-ins given have none for it", ErrUsage, plat)
			}
			fmt.Fprintf(r.cfg.Log, "bench: registering %d %s devices\n", r.cfg.Subs, plat)
			toks, err := r.registerDevices(ctx, plat, f)
			if !r.spawned && !r.cfg.Disposable {
				defer func() { f.Unsubscribed += r.unregisterDevices(plat, toks) }()
			}
			if err != nil {
				return err
			}
			counts = append(counts, &platformCount{plat: plat, subs: len(toks), count: func() int { return st.accepted(plat) }})
		}
	}
	for _, c := range counts {
		c.base = c.count() // sends a separate server made before this run's
	}

	fmt.Fprintf(r.cfg.Log, "bench: posting %d items at %g/s to %d subscriptions and devices\n", r.cfg.Items, r.cfg.Rate, f.Subscribed)
	before := r.probe.sample()
	d := r.filter.draft()
	d.Alert = true   // only alerts are pushed; ticker-only items are not
	d.Confirm = true // a load test floods on purpose: past the flood guard
	if r.cfg.Prefs {
		d.Priority = news.PriorityUrgent // flash would pass quiet hours and the cap undecided
	}
	ps := r.api.postAll(ctx, r.run, r.cfg.Items, r.cfg.Rate, d)
	pf := sumPosts(ps)
	f.PostFigures = postFiguresOf(r.cfg.Items, r.cfg.Rate, pf)
	if pf.ok == 0 {
		return fmt.Errorf("no item could be posted: %v", pf.firstErr)
	}
	for _, c := range counts {
		c.expected = c.subs * pf.ok
		f.Expected += c.expected
	}
	total := &platformCount{expected: f.Expected}
	poll := func() int64 {
		now := time.Now()
		sum := 0
		for _, c := range counts {
			sum += c.poll(now, c.count()-c.base)
		}
		total.poll(now, sum)
		return int64(sum)
	}
	lastSend := drain(ctx, r.cfg.Drain, poll, func() bool { poll(); return !total.at100.IsZero() })
	sp := span(before, r.probe.sample())
	f.Sent = total.n
	// The 201 of the last post: with one item, the alert's.
	answered := pf.last
	for _, c := range counts {
		f.Platforms = append(f.Platforms, c.figures(pf.first, answered))
		if c.n == 0 && c.plat == PlatformWeb {
			fmt.Fprintf(r.cfg.Log, "bench: no push reached the sink at %s: is the server started with --push-insecure-test-endpoints %s?\n", c.hint, c.hint)
		}
	}
	if f.Sent > 0 {
		window := lastSend.Sub(pf.first)
		f.PostToLastSendMs = ms(window)
		if window > 0 {
			f.SendsPerS = round(float64(f.Sent)/window.Seconds(), 1)
		}
		f.Send90Ms, f.Send100Ms = total.after(answered)
	}
	// The CPU window ends with the drain; when every push came it ends at
	// the last one (within the 5 ms the drain checks in).
	f.ServerCPUUsPerSend = perOp(sp.server, sp.hasSrv, f.Sent)
	f.ToolCPUUsPerSend = perOp(sp.tool, sp.hasTool, f.Sent)
	if len(f.Platforms) == 1 {
		f.Platforms[0].ServerCPUUsPerSend = f.ServerCPUUsPerSend
	}
	r.readPushStats(ctx, pf.ids, f)
	return nil
}

// platformCount follows one platform's sends (or all of them) as they
// arrive, for the times at which 90 % and all of them had come.
type platformCount struct {
	plat        string
	subs        int // registered
	expected    int
	hint        string     // the sink's address (web)
	count       func() int // sends received so far
	base        int        // count before the posts
	n           int        // sends of this run received
	lastAt      time.Time  // when n last grew
	at90, at100 time.Time
}

// poll records n sends received at now.
func (c *platformCount) poll(now time.Time, n int) int {
	if n != c.n {
		c.n, c.lastAt = n, now
	}
	if c.expected > 0 {
		if c.at90.IsZero() && n*10 >= c.expected*9 {
			c.at90 = now
		}
		if c.at100.IsZero() && n >= c.expected {
			c.at100 = now
		}
	}
	return n
}

// after gives the times from t to 90 % and to all of the sends, in ms
// (nil where they did not all come).
func (c *platformCount) after(t time.Time) (p90, p100 *float64) {
	if !c.at90.IsZero() {
		p90 = ptr(ms(c.at90.Sub(t)))
	}
	if !c.at100.IsZero() {
		p100 = ptr(ms(c.at100.Sub(t)))
	}
	return p90, p100
}

func (c *platformCount) figures(first, answered time.Time) PlatformFigures {
	pf := PlatformFigures{Platform: c.plat, Registered: c.subs, Expected: c.expected, Sent: c.n}
	if c.n > 0 {
		if w := c.lastAt.Sub(first); w > 0 {
			pf.SendsPerS = round(float64(c.n)/w.Seconds(), 1)
		}
	}
	pf.Send90Ms, pf.Send100Ms = c.after(answered)
	return pf
}

// serveSink serves h (the push sink) on ln until stop is called, which
// closes the listener and every connection and waits for Serve to return.
func serveSink(ln net.Listener, h http.Handler) (srv *http.Server, stop func()) {
	srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	return srv, func() {
		// Close, not Shutdown: the run is over, and Shutdown would wait 5 s
		// for connections the server's push client dialled and never used.
		_ = srv.Close()
		<-served
	}
}

// checkPush checks that the server has Web Push on.
func (r *runner) checkPush(ctx context.Context, sinkAddr string) error {
	if err := r.api.do(ctx, http.MethodGet, "/api/v1/push/key", nil, nil, nil, http.StatusOK); err != nil {
		return fmt.Errorf("the server's Web Push is not usable (start it with --vapid-subject and --push-insecure-test-endpoints %s): GET /api/v1/push/key: %w", sinkAddr, err)
	}
	return nil
}

// subscribe registers cfg.Subs subscriptions of sink with the filter
// (regions, topics, langs), spread over the source addresses (the server
// limits new subscriptions per client address). It stops at the first
// answer that retrying cannot change.
func (r *runner) subscribe(ctx context.Context, sink *pushsink.Sink, sinkURL string, regions, topics, langs []string, f *PushFigures) ([]pushsink.Subscription, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body, err := json.Marshal(map[string][]string{"regions": nonNil(regions), "topics": nonNil(topics), "langs": nonNil(langs)})
	if err != nil {
		return nil, err
	}
	filterJSON := string(body)
	var (
		mu       sync.Mutex
		subs     []pushsink.Subscription
		failed   int
		firstErr error
	)
	start := time.Now()
	r.each(ctx, r.cfg.Subs, func(a *api, _ int) {
		sub, err := sink.Subscribe(sinkURL)
		if err == nil {
			b, _ := json.Marshal(sub)
			req := []byte(`{"subscription":` + string(b) + `,"filter":` + filterJSON + r.prefsMember() + `}`)
			err = withRetry(ctx, func() error {
				return a.do(ctx, http.MethodPost, "/api/v1/push/subscriptions", req, nil, nil, http.StatusCreated, http.StatusOK)
			})
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			if firstErr == nil && ctx.Err() == nil {
				firstErr = err
			}
			cancel() // the same answer would come for the others
			return
		}
		subs = append(subs, sub)
	})
	elapsed := time.Since(start)
	f.Subscribed, f.SubscribeFailed = len(subs), r.cfg.Subs-len(subs)
	f.SubscribeS = round(elapsed.Seconds(), 3)
	if elapsed > 0 {
		f.SubscribeRate = round(float64(len(subs))/elapsed.Seconds(), 1)
	}
	if firstErr != nil {
		f.SubscribeError = firstErr.Error()
		if err := asRefused("register push subscription", firstErr); err != firstErr {
			return subs, err
		}
		hint := ""
		var ae *apiError
		if errors.As(firstErr, &ae) {
			switch ae.code() {
			case "endpoint_not_allowed", "invalid_endpoint":
				hint = ": start the server with --push-insecure-test-endpoints " + strings.TrimPrefix(sinkURL, "http://") + " (and give bench that --sink-addr)"
			}
		}
		return subs, fmt.Errorf("register push subscription: %w%s", firstErr, hint)
	}
	return subs, nil
}

// unsubscribe removes the run's subscriptions from the server, so that
// later items are not pushed to a sink that has gone. It returns how many
// it removed.
func (r *runner) unsubscribe(subs []pushsink.Subscription) int {
	if len(subs) == 0 {
		return 0
	}
	fmt.Fprintf(r.cfg.Log, "bench: removing %d push subscriptions\n", len(subs))
	ctx := context.Background() // each request has its own timeout
	var removed atomic.Int64
	r.each(ctx, len(subs), func(a *api, i int) {
		b, _ := json.Marshal(map[string]string{"endpoint": subs[i].Endpoint, "auth": subs[i].Keys.Auth})
		if err := withRetry(ctx, func() error {
			return a.do(ctx, http.MethodDelete, "/api/v1/push/subscriptions", b, nil, nil, http.StatusNoContent)
		}); err == nil {
			removed.Add(1)
		}
	})
	return int(removed.Load())
}

// each calls fn for 0..n-1 on up to subscribeWorkers goroutines until
// done or ctx ends; call i goes out from source address i mod the number
// of them, so that each address makes an even share (the server limits
// the subscriptions and devices one address may create).
func (r *runner) each(ctx context.Context, n int, fn func(a *api, i int)) {
	apis := make([]*api, len(r.clients))
	for k, c := range r.clients {
		apis[k] = &api{base: r.base, client: c}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(subscribeWorkers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				fn(apis[i%len(apis)], i)
			}
		})
	}
	wg.Wait()
}

// readPushStats reads the server's counts for the posted items, waiting at
// most statsWait for every delivery job to be recorded as done.
func (r *runner) readPushStats(ctx context.Context, ids []string, f *PushFigures) {
	deadline := time.Now().Add(statsWait)
	for {
		var sent, failed, removed, pending, subs int
		settled := true
		for _, id := range ids {
			var st pushStats
			if err := r.api.do(ctx, http.MethodGet, "/api/v1/push/stats?item="+id, nil,
				map[string]string{"Authorization": "Bearer " + r.cfg.Token}, &st, http.StatusOK); err != nil {
				fmt.Fprintf(r.cfg.Log, "bench: push stats: %v\n", err)
				return
			}
			subs = st.Subscriptions
			if len(st.Items) == 0 {
				settled = false
			}
			for _, it := range st.Items {
				sent, failed, removed, pending = sent+it.Sent, failed+it.Failed, removed+it.Removed, pending+it.Pending
				if it.Jobs == 0 || it.JobsDone < it.Jobs || it.Pending > 0 {
					settled = false
				}
			}
		}
		if settled || time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) {
			f.ServerSubscriptions, f.ServerSent, f.ServerFailed, f.ServerRemoved, f.ServerPending = &subs, &sent, &failed, &removed, &pending
			return
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// benchMaxPerHour is the cap of Config.Prefs: the most alerts a run with
// prefs may post without its own alerts being held back.
const benchMaxPerHour = 60

// prefsMember is `,"prefs":{…}` for a push run with Config.Prefs (see
// there), else "": preferences that hold back none of the run's urgent
// alerts, with quiet hours six to eight hours from now in Asia/Beirut
// (UTC where the zone database is missing).
func (r *runner) prefsMember() string {
	if !r.cfg.Prefs || r.cfg.Scenario != ScenarioPush {
		return ""
	}
	zone, name := time.UTC, "UTC"
	if z, err := time.LoadLocation("Asia/Beirut"); err == nil {
		zone, name = z, "Asia/Beirut"
	}
	now := time.Now().In(zone)
	b, _ := json.Marshal(map[string]any{
		"min_priority": news.PriorityBreaking,
		"quiet_hours":  map[string]string{"from": now.Add(6 * time.Hour).Format("15:04"), "to": now.Add(8 * time.Hour).Format("15:04"), "tz": name},
		"max_per_hour": benchMaxPerHour,
	})
	return `,"prefs":` + string(b)
}
