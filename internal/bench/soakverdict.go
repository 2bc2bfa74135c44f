package bench

import (
	"fmt"
	"math"
	"strings"
)

// The fixed part of what the server's goroutines and descriptors may grow
// by over a soak, besides the readers still connected. Between the start and
// the end samples the server has taken work that leaves a few long-lived
// things behind by design: the push sender's keep-alive connections to the
// push service (the tool closes its side before sampling, but the server
// notices only as it reads), JetStream consumers and NATS internals that
// start on first use (the push planner's and workers' pull requests, the
// idempotency bucket, the audit stream's sourcing), net/http's conns for
// the tool's own /metrics request. A leak per churn, post, push or reader
// shows in hundreds or thousands within a minute at the rates a soak runs.
const (
	goroutineAllowance = 64
	fdAllowance        = 32
)

// judge works out the growth figures and the verdict: lost = 0,
// duplicated = 0, nothing else failed, and the server's goroutines and
// descriptors grew, from the start sample to the end one, by no more than
// the readers still connected cost plus the fixed allowance. A reader's cost
// is measured in the run: the growth from the start sample to the one
// taken once every reader had connected, per reader (a WebSocket reader
// costs a separate server 1 goroutine and 1 descriptor; spawned in the
// tool's process, the tool's end of each connection counts too).
func (f *SoakFigures) judge() {
	f.Reasons = []string{}
	defer func() { f.OK = len(f.Reasons) == 0 }()
	fail := func(format string, args ...any) { f.Reasons = append(f.Reasons, fmt.Sprintf(format, args...)) }
	if f.Lost > 0 {
		fail("lost %d events (readers missed them across reconnects)", f.Lost)
	}
	if f.Duplicated > 0 {
		fail("duplicated %d events", f.Duplicated)
	}
	if f.OutOfOrder > 0 {
		fail("%d events came out of order", f.OutOfOrder)
	}
	if f.Early > 0 {
		fail("%d events came that were older than the reader's first welcome", f.Early)
	}
	if f.WrongKind > 0 {
		fail("%d of the tool's events came as another frame type", f.WrongKind)
	}
	if f.NotRecovered > 0 {
		fail("%d reconnects were answered recovered:false", f.NotRecovered)
	}
	if f.EpochChanges > 0 {
		fail("the epoch changed %d times", f.EpochChanges)
	}
	if f.LineagesFailed > 0 {
		fail("%d readers gave up reconnecting%s", f.LineagesFailed, errText(f.LineageError))
	}
	if n := f.PostFailed + f.CorrectFailed + f.RetractFailed; n > 0 {
		fail("%d writes failed%s", n, errText(f.WriteError))
	}
	if f.Subscribed < f.Subs {
		fail("%d of %d push subscriptions registered%s", f.Subscribed, f.Subs, errText(f.SubscribeError))
	}
	if f.PushMissing > 0 {
		fail("push: %d of %d final versions not received", f.PushMissing, f.PushExpected)
	}
	if f.PushDuplicated > 0 {
		fail("push: %d pushes repeated", f.PushDuplicated)
	}
	if f.PushUnexpected > 0 {
		fail("push: %d pushes of versions the tool did not make (a server with non-default --push-ttl-* makes corrections look like posts)", f.PushUnexpected)
	}
	if f.PushRefused > 0 {
		fail("push: the sink refused %d pushes%s", f.PushRefused, errText(f.PushRefusal))
	}
	s, c, e := f.ServerStart, f.ServerConnected, f.ServerEnd
	if s == nil || c == nil || e == nil {
		fail("the server's figures were not read")
		return
	}
	f.GoroutineAllowance, f.FDAllowance = goroutineAllowance, fdAllowance
	f.GoroutinesPerReader, f.FDsPerReader = 1, 1
	if n := c.ReadersWS - s.ReadersWS; n > 0 {
		f.GoroutinesPerReader = round(float64(c.Goroutines-s.Goroutines)/float64(n), 3)
		f.FDsPerReader = round(float64(c.OpenFDs-s.OpenFDs)/float64(n), 3)
	}
	readers := float64(e.ReadersWS - s.ReadersWS)
	f.GoroutineGrowth = e.Goroutines - s.Goroutines
	f.GoroutineAllowed = int64(math.Ceil(max(readers, 0)*max(f.GoroutinesPerReader, 0))) + goroutineAllowance
	f.FDGrowth = e.OpenFDs - s.OpenFDs
	f.FDAllowed = int64(math.Ceil(max(readers, 0)*max(f.FDsPerReader, 0))) + fdAllowance
	if f.GoroutineGrowth > f.GoroutineAllowed {
		fail("the server's goroutines grew by %d, more than the %d allowed (%d readers × %.3f + %d)",
			f.GoroutineGrowth, f.GoroutineAllowed, int64(readers), f.GoroutinesPerReader, goroutineAllowance)
	}
	if f.FDGrowth > f.FDAllowed {
		fail("the server's open descriptors grew by %d, more than the %d allowed (%d readers × %.3f + %d)",
			f.FDGrowth, f.FDAllowed, int64(readers), f.FDsPerReader, fdAllowance)
	}
}

// summary prints the soak's lines of the human summary.
func (f *SoakFigures) summary(p func(string, ...any)) {
	p("  soak: %.1fs (asked %.0fs), drain %.1fs; %d of %d readers, churning %d/s: %d closed normally and reconnected (%d turns found the reader between connections)",
		f.SoakS, f.DurationS, f.DrainS, f.Lineages, f.Readers, f.ChurnPerS, f.Churned, f.ChurnSkipped)
	p("  reconnects: %d (recovered %d, not recovered %d, epoch changes %d); dropped by the server or network %d%s; gave up %d%s; reconnect p50 %.2fms p99 %.2fms",
		f.Reconnects, f.Recovered, f.NotRecovered, f.EpochChanges, f.Drops, errText(f.DropError), f.LineagesFailed, errText(f.LineageError), f.ReconnectP50Ms, f.ReconnectP99Ms)
	p("  writes: %d posts at %g/s (%d failed; post p50 %.2fms p99 %.2fms), %d corrected (%d failed), %d retracted (%d failed)%s",
		f.Posted, f.Rate, f.PostFailed, f.PostP50Ms, f.PostP99Ms, f.Corrected, f.CorrectFailed, f.Retracted, f.RetractFailed, errText(f.WriteError))
	p("  events up to seq %d: %d expected at the readers, %d delivered, lost %d, duplicated %d, out of order %d, early %d, wrong type %d",
		f.FinalSeq, f.Expected, f.Delivered, f.Lost, f.Duplicated, f.OutOfOrder, f.Early, f.WrongKind)
	p("  the tool's writes at the readers: item %d of %d, update %d of %d, retract %d of %d",
		f.ItemFramesDelivered, f.ItemFramesExpected, f.UpdateFramesDelivered, f.UpdateFramesExpected, f.RetractFramesDelivered, f.RetractFramesExpected)
	p("  push: %d of %d subscriptions%s; %d items pushed: final versions %d of %d (missing %d), repeated %d, superseded %d, unexpected %d, foreign %d; sink refused %d%s, strays %d",
		f.Subscribed, f.Subs, errText(f.SubscribeError), f.PushedItems, f.PushReceived, f.PushExpected, f.PushMissing, f.PushDuplicated,
		f.PushSuperseded, f.PushUnexpected, f.PushForeign, f.PushRefused, errText(f.PushRefusal), f.PushStrays)
	p("  server:      %10s %10s %10s %8s %8s", "goroutines", "heap MiB", "RSS MiB", "fds", "readers")
	for _, row := range []struct {
		name string
		s    *ServerSample
	}{{"start", f.ServerStart}, {"connected", f.ServerConnected}, {"end", f.ServerEnd}, {"closed", f.ServerClosed}} {
		if row.s == nil {
			continue
		}
		p("    %-10s %10d %10.1f %10.1f %8d %8d", row.name, row.s.Goroutines, float64(row.s.HeapInuseBytes)/(1<<20),
			float64(row.s.RSSBytes)/(1<<20), row.s.OpenFDs, row.s.ReadersWS)
	}
	if f.ServerEnd != nil {
		p("  growth start to end: goroutines %+d (allowed %d: %.3f per reader + %d), descriptors %+d (allowed %d: %.3f per reader + %d)",
			f.GoroutineGrowth, f.GoroutineAllowed, f.GoroutinesPerReader, f.GoroutineAllowance,
			f.FDGrowth, f.FDAllowed, f.FDsPerReader, f.FDAllowance)
	}
	p("  CPU while soaking: server %s, tool %s of a core", pct(f.ServerCPUPct), pct(f.ToolCPUPct))
}

// verdict prints the verdict line.
func (f *SoakFigures) verdict(p func(string, ...any)) {
	if f.OK {
		p("  SOAK OK: nothing lost or repeated, no growth beyond the readers")
		return
	}
	p("  SOAK FAILED: %s", strings.Join(f.Reasons, "; "))
}
