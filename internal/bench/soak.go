package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"newsflash/internal/pushsink"
)

// progressEvery is how often the soak writes a progress line.
const progressEvery = 10 * time.Second

// soakRun is one soak's state, shared by its phases.
type soakRun struct {
	r        *runner
	f        *SoakFigures
	t        soakTally
	t0       time.Time
	lineages []*lineage
	lwg      sync.WaitGroup // the lineages' goroutines
}

// soak runs the soak scenario: readers that churn, posts with corrections
// and retractions, push sends; then it settles who got what and samples the
// server (see SoakFigures and judge).
func (r *runner) soak(ctx context.Context) error {
	cfg := r.cfg
	f := &SoakFigures{DurationS: cfg.Duration.Seconds(), Readers: cfg.Readers, ChurnPerS: cfg.Churn, Rate: cfg.Rate,
		Corrections: cfg.Corrections, Retractions: cfg.Retractions, PushShare: cfg.PushShare, Subs: cfg.Subs,
		Reasons: []string{}}
	r.res.Soak = f
	s := &soakRun{r: r, f: f, t0: time.Now()}

	w, err := r.soakWriter(ctx)
	if err != nil {
		return err
	}
	ln := cfg.SinkListener
	if ln == nil {
		if ln, err = ListenSink(cfg.SinkAddr); err != nil {
			return err
		}
	}
	sinkAddr := ln.Addr().String()
	plog := newPushLog(pushsink.New(pushsink.Options{DecryptSample: cfg.DecryptSample}))
	sinkSrv, stopSink := serveSink(ln, plog)
	defer stopSink()
	if err := r.checkPush(ctx, sinkAddr); err != nil {
		return err
	}

	// A refusal by one of the server's limits, anywhere, ends the soak.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.stopLineages()

	start, _, err := r.settledSample(ctx, s.t0, -1)
	if err != nil {
		return err
	}
	f.ServerStart = &start
	fmt.Fprintf(cfg.Log, "bench: server at the start: %d goroutines, %d descriptors, %d WebSocket readers\n", start.Goroutines, start.OpenFDs, start.ReadersWS)
	if err := s.connect(sctx, cancel); err != nil {
		return err
	}
	connected, settled, err := r.settledSample(ctx, s.t0, start.ReadersWS+int64(len(s.lineages)))
	if err != nil {
		return err
	}
	if !settled {
		fmt.Fprintf(cfg.Log, "bench: warning: the server's figures did not settle after the readers connected\n")
	}
	f.ServerConnected = &connected

	fmt.Fprintf(cfg.Log, "bench: registering %d push subscriptions (region %s) of the sink at %s\n", cfg.Subs, w.pushRegion, sinkAddr)
	var pf PushFigures
	subs, err := r.subscribe(sctx, plog.sink, "http://"+sinkAddr, []string{w.pushRegion}, nil, nil, &pf)
	f.Subscribed, f.SubscribeError = pf.Subscribed, pf.SubscribeError
	if !r.spawned {
		defer func() { f.Unsubscribed = r.unsubscribe(subs) }()
	}
	if err != nil {
		return err
	}
	plog.setSubs(subs)

	// The soak proper: posts, corrections, retractions and churn.
	fmt.Fprintf(cfg.Log, "bench: soaking for %s: %d readers, churn %d/s, %g posts/s (corrected %g, retracted %g, pushed %g)\n",
		cfg.Duration, len(s.lineages), cfg.Churn, cfg.Rate, cfg.Corrections, cfg.Retractions, cfg.PushShare)
	progressCtx, stopProgress := context.WithCancel(sctx)
	var progressDone sync.WaitGroup
	progressDone.Go(func() { s.progress(progressCtx, &w.t, plog) })
	defer func() { stopProgress(); progressDone.Wait() }()

	soakCtx, endSoak := context.WithTimeout(sctx, cfg.Duration)
	defer endSoak()
	var closers sync.WaitGroup
	churnDone := make(chan struct{})
	go func() { defer close(churnDone); churn(soakCtx, s.lineages, cfg.Churn, &s.t, &closers) }()
	before := r.probe.sample()
	var items []*soakItem
	posted := make(chan struct{})
	go func() { defer close(posted); items = w.postFor(soakCtx, sctx, cfg.Rate, cfg) }()
	<-soakCtx.Done()
	during := span(before, r.probe.sample())
	f.SoakS = round(during.wall.Seconds(), 3)
	f.ServerCPUPct = pctOfCore(during.server, during.hasSrv, during.wall)
	f.ToolCPUPct = pctOfCore(during.tool, during.hasTool, during.wall)
	<-churnDone
	<-posted
	closers.Wait()
	if err := context.Cause(sctx); err != nil && sctx.Err() != nil {
		return err
	}

	// Drain: every reader up to the last event, every final version pushed.
	drainStart := time.Now()
	om := ours(items)
	head, err := r.api.head(ctx)
	if err != nil {
		return err
	}
	for seq := range om {
		head = max(head, seq)
	}
	f.FinalSeq = head
	pitems := pushItems(items)
	fmt.Fprintf(cfg.Log, "bench: writes done; waiting for readers to reach seq %d and for %d final pushes\n", head, len(pitems)*len(subs))
	s.drain(ctx, head, func() bool { return plog.missingFinals(pitems, len(subs)) == 0 }, plog)
	f.DrainS = round(time.Since(drainStart).Seconds(), 3)
	stopProgress()
	progressDone.Wait()

	// The server at the end, readers still connected; then without them.
	sinkSrv.SetKeepAlivesEnabled(false) // closes the server's idle connections to the sink
	up := 0
	for _, l := range s.lineages {
		if !l.done.Load() {
			up++
		}
	}
	end, settled, err := r.settledSample(ctx, s.t0, start.ReadersWS+int64(up))
	if err != nil {
		return err
	}
	if !settled {
		fmt.Fprintf(cfg.Log, "bench: warning: the server's figures did not settle at the end\n")
	}
	f.ServerEnd = &end
	s.stopLineages()
	if closed, _, err := r.settledSample(ctx, s.t0, start.ReadersWS); err == nil {
		f.ServerClosed = &closed
	}

	s.account(items, om, head)
	s.accountPush(plog, pitems, len(subs))
	f.judge()
	return nil
}

// soakWriter reads the taxonomy for a language and two regions: one for
// the posts the push subscriptions get, one for the others.
func (r *runner) soakWriter(ctx context.Context) (*writer, error) {
	var tax struct {
		Regions   []struct{ Slug string } `json:"regions"`
		Languages []struct{ Slug string } `json:"languages"`
	}
	if err := r.api.do(ctx, http.MethodGet, "/api/v1/taxonomy", nil, nil, &tax, http.StatusOK); err != nil {
		return nil, fmt.Errorf("GET /api/v1/taxonomy: %w", asRefused("read the taxonomy", err))
	}
	if len(tax.Regions) == 0 || len(tax.Languages) == 0 {
		return nil, errors.New("the server's taxonomy has no region or no language")
	}
	w := &writer{api: r.api, run: r.run, lang: tax.Languages[0].Slug, pushRegion: tax.Regions[0].Slug, otherRegion: tax.Regions[0].Slug}
	for _, l := range tax.Languages {
		if l.Slug == "en" {
			w.lang = "en"
		}
	}
	if len(tax.Regions) > 1 {
		w.otherRegion = tax.Regions[1].Slug
	} else if r.cfg.PushShare > 0 && r.cfg.PushShare < 1 {
		return nil, fmt.Errorf("%w: --push-share %g needs two regions in the server's taxonomy (one pushed, one not); it has one: use --push-share 1", ErrUsage, r.cfg.PushShare)
	}
	return w, nil
}

// connect starts the lineages at the connect rate and waits for each one's
// first welcome. Any reader that cannot connect ends the soak: it is about
// what the readers get, and all must take part.
func (s *soakRun) connect(ctx context.Context, fail context.CancelCauseFunc) error {
	cfg := s.r.cfg
	fmt.Fprintf(cfg.Log, "bench: connecting %d readers at %g/s from %d source address(es)\n", cfg.Readers, cfg.ConnectRate, len(s.r.clients))
	base := s.r.wsURL()
	first := make(chan error, cfg.Readers)
	interval := time.Duration(float64(time.Second) / cfg.ConnectRate)
	pending, failed := 0, 0
	var firstErr error
	collect := func() {
		if err := <-first; err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
		}
		pending--
	}
	start := time.Now()
	lastReport := start
	for i := range cfg.Readers {
		for pending >= maxDialsInFlight {
			collect()
		}
		if failed > 0 || !sleepUntil(ctx, start.Add(time.Duration(i)*interval)) {
			break
		}
		if now := time.Now(); now.Sub(lastReport) >= 2*time.Second {
			fmt.Fprintf(cfg.Log, "bench: %d of %d readers connected\n", len(s.lineages)-pending, cfg.Readers)
			lastReport = now
		}
		l := &lineage{client: s.r.clients[i%len(s.r.clients)]}
		s.lineages = append(s.lineages, l)
		pending++
		s.lwg.Go(func() { l.run(ctx, base, &s.t, first, func(err error) { fail(err) }) })
	}
	for pending > 0 {
		collect()
	}
	s.f.Lineages = len(s.lineages) - failed
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	if failed > 0 || len(s.lineages) < cfg.Readers {
		return fmt.Errorf("%d of %d readers could not connect to %s: %v", cfg.Readers-s.f.Lineages, cfg.Readers, base, firstErr)
	}
	fmt.Fprintf(cfg.Log, "bench: %d readers connected in %.2fs\n", len(s.lineages), time.Since(start).Seconds())
	return nil
}

// stopLineages closes every reader and waits, at most 10 s, for their
// goroutines. It may be called again.
func (s *soakRun) stopLineages() {
	for _, l := range s.lineages {
		l.stop()
	}
	done := make(chan struct{})
	go func() { s.lwg.Wait(); close(done) }()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		fmt.Fprintf(s.r.cfg.Log, "bench: readers did not stop within 10s\n")
	}
}

// drain waits until every reader still going has reached head and pushed
// reports true, or nothing new arrived for Config.Drain, or ctx ends.
func (s *soakRun) drain(ctx context.Context, head uint64, pushed func() bool, plog *pushLog) {
	done := func() bool {
		for _, l := range s.lineages {
			if !l.done.Load() && l.cursor.Load() < head {
				return false
			}
		}
		return pushed()
	}
	progress := func() int64 { return s.t.frames.Load() + plog.accepted.Load() }
	last, lastAt := progress(), time.Now()
	for !done() {
		if !sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) {
			return
		}
		if p := progress(); p != last {
			last, lastAt = p, time.Now()
		} else if time.Since(lastAt) >= s.r.cfg.Drain {
			fmt.Fprintf(s.r.cfg.Log, "bench: nothing new for %s: the drain ends\n", s.r.cfg.Drain)
			return
		}
	}
}

// progress writes a line every progressEvery until ctx ends.
func (s *soakRun) progress(ctx context.Context, wt *writeTally, plog *pushLog) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			fmt.Fprintf(s.r.cfg.Log, "bench: soak %.0fs of %s: %d readers up, %d reconnects, %d drops; %d posts (%d corrected, %d retracted, %d failed); %d events delivered, lost so far %d, repeated %d; %d pushes\n",
				now.Sub(s.t0).Seconds(), s.r.cfg.Duration, s.t.up.Load(), s.t.reconnects.Load(), s.t.drops.Load(),
				wt.posted.Load(), wt.corrected.Load(), wt.retracted.Load(), wt.failed.Load(),
				s.t.frames.Load(), s.t.gaps.Load(), s.t.dups.Load(), plog.accepted.Load())
		}
	}
}

// account settles the lineages and the writes. Call once the lineages
// have stopped.
func (s *soakRun) account(items []*soakItem, om map[uint64]byte, final uint64) {
	f := s.f
	for _, l := range s.lineages {
		a := &l.acct
		f.Reconnects += max(a.connects-1, 0)
		f.Recovered += a.recovered
		f.NotRecovered += a.notRecovered
		f.EpochChanges += a.epochChanges
		f.OtherFrames += l.other
		if l.firstErr != nil && f.DropError == "" {
			f.DropError = l.firstErr.Error()
		}
		if l.failed != nil {
			f.LineagesFailed++
			if f.LineageError == "" {
				f.LineageError = l.failed.Error()
			}
			continue // what it missed after giving up is counted there, not as lost
		}
		lf := a.settle(final, om)
		f.Expected += int64(lf.expected)
		f.Delivered += int64(lf.delivered)
		f.Lost += int64(lf.lost)
		f.Duplicated += int64(a.dup)
		f.OutOfOrder += int64(a.outOfOrder)
		f.Early += int64(a.early)
		f.WrongKind += int64(lf.wrongKind)
		f.ItemFramesExpected += int64(lf.oursExpected[kindItem])
		f.ItemFramesDelivered += int64(lf.oursDelivered[kindItem])
		f.UpdateFramesExpected += int64(lf.oursExpected[kindUpdate])
		f.UpdateFramesDelivered += int64(lf.oursDelivered[kindUpdate])
		f.RetractFramesExpected += int64(lf.oursExpected[kindRetract])
		f.RetractFramesDelivered += int64(lf.oursDelivered[kindRetract])
	}
	f.Churned, f.ChurnSkipped, f.Drops = s.t.churned.Load(), s.t.skipped.Load(), s.t.drops.Load()
	f.ReconnectP50Ms, f.ReconnectP99Ms = ms(s.t.reconnect.quantile(0.5)), ms(s.t.reconnect.quantile(0.99))

	var took []time.Duration
	for _, it := range items {
		switch {
		case it.postSeq == 0:
			f.PostFailed++
		case it.correct && it.correctSeq == 0:
			f.CorrectFailed++
		case it.retract && it.retractSeq == 0:
			f.RetractFailed++
		}
		if it.postSeq != 0 {
			f.Posted++
			took = append(took, it.postTook)
		}
		if it.correctSeq != 0 {
			f.Corrected++
		}
		if it.retractSeq != 0 {
			f.Retracted++
		}
		if it.err != nil && f.WriteError == "" {
			f.WriteError = it.err.Error()
		}
	}
	slices.Sort(took)
	f.PostP50Ms, f.PostP99Ms = ms(percentile(took, 50)), ms(percentile(took, 99))
}

// accountPush settles the pushes.
func (s *soakRun) accountPush(plog *pushLog, items []pushItem, nsubs int) {
	f := s.f
	pf := plog.settle(items, nsubs)
	f.PushedItems = len(items)
	f.PushExpected, f.PushReceived, f.PushMissing, f.PushDuplicated = pf.expected, pf.received, pf.missing, pf.duplicated
	f.PushSuperseded, f.PushUnexpected, f.PushForeign = pf.superseded, pf.unexpected, pf.foreign
	f.PushAccepted = plog.accepted.Load()
	plog.mu.Lock()
	f.PushRefused, f.PushRefusal, f.PushStrays = plog.refused, plog.firstRefusal, plog.strays
	f.PushUnexpected += plog.noTopic // the server sets Topic on every push of an item
	plog.mu.Unlock()
}
