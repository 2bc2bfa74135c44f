package bench

import (
	"context"
	"fmt"
	"time"
)

// idle connects the readers, holds them for Duration and measures memory
// and CPU.
func (r *runner) idle(ctx context.Context) error {
	fl := &fleet{t: &tally{run: r.run}}
	rssBefore := r.probe.rss()
	toolBefore, _ := readRSS(0)
	err := r.connect(ctx, fl)
	defer r.closeReaders(fl)
	if err != nil {
		return err
	}
	n := len(fl.readers)
	fmt.Fprintf(r.cfg.Log, "bench: holding %d readers for %s\n", n, r.cfg.Duration)
	holdStart := r.probe.sample()
	sleepUntil(ctx, time.Now().Add(r.cfg.Duration))
	hold := span(holdStart, r.probe.sample())
	rssAfter := r.probe.rss()
	toolAfter, _ := readRSS(0)

	f := &IdleFigures{
		HoldS:               round(hold.wall.Seconds(), 3),
		ToolRSSPerReaderKiB: round(float64(toolAfter-toolBefore)/float64(n), 2),
		ServerCPUIdlePct:    pctOfCore(hold.server, hold.hasSrv, hold.wall),
		ToolCPUIdlePct:      pctOfCore(hold.tool, hold.hasTool, hold.wall),
	}
	if rssBefore >= 0 && rssAfter >= 0 {
		f.RSSBeforeKiB, f.RSSAfterKiB = &rssBefore, &rssAfter
		f.RSSPerReaderKiB = ptr(round(float64(rssAfter-rssBefore)/float64(n), 2))
	}
	r.res.Idle = f
	return nil
}
