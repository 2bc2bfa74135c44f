package bench

import (
	"context"
	"fmt"
	"math/bits"
	"time"
)

// fanout connects the readers, posts the items at the rate, waits for the
// deliveries and counts them.
func (r *runner) fanout(ctx context.Context) error {
	items := r.cfg.Items
	fl := &fleet{t: &tally{run: r.run, items: items}}
	err := r.connect(ctx, fl)
	defer r.closeReaders(fl)
	if err != nil {
		return err
	}
	n := len(fl.readers)
	fmt.Fprintf(r.cfg.Log, "bench: posting %d items at %g/s to %d readers\n", items, r.cfg.Rate, n)
	before := r.probe.sample()
	ps := r.api.postAll(ctx, r.run, items, r.cfg.Rate, r.filter.draft())
	pf := sumPosts(ps)
	if pf.ok == 0 {
		return fmt.Errorf("no item could be posted: %v", pf.firstErr)
	}
	// Items whose post failed may still have been stored (an answer lost):
	// deliveries of those are not counted, and they are not expected.
	ok := make([]uint64, (items+63)/64)
	for i, p := range ps {
		if p.err == nil {
			ok[i/64] |= 1 << (i % 64)
		}
	}
	t := fl.t
	drain(ctx, r.cfg.Drain, t.frames.Load, func() bool {
		return t.unique.Load() >= (int64(n)-t.drops.Load())*int64(pf.ok)
	})
	sp := span(before, r.probe.sample())
	if err := fl.close(10 * time.Second); err != nil {
		fmt.Fprintf(r.cfg.Log, "bench: %v\n", err)
	}

	f := &FanoutFigures{PostFigures: postFiguresOf(items, r.cfg.Rate, pf), Expected: n * pf.ok}
	var last int64
	var maxLat time.Duration
	for _, rd := range fl.readers {
		for w, bitsSeen := range rd.seen {
			f.Delivered += bits.OnesCount64(bitsSeen & ok[w])
		}
		f.Duplicated += rd.dup
		f.OutOfOrder += rd.outOfOrder
		f.ForeignFrames += rd.foreign
		last = max(last, rd.lastAt)
		maxLat = max(maxLat, rd.maxLat)
	}
	f.Missing = f.Expected - f.Delivered
	f.LatencyP50Ms, f.LatencyP90Ms, f.LatencyP99Ms = ms(t.lat.quantile(0.5)), ms(t.lat.quantile(0.9)), ms(t.lat.quantile(0.99))
	f.LatencyMaxMs = ms(maxLat)
	if window := time.Duration(last - pf.first.UnixNano()); last > 0 && window > 0 {
		f.DeliveriesPerS = round(float64(f.Delivered)/window.Seconds(), 1)
	}
	f.ServerCPUUsPerDelivery = perOp(sp.server, sp.hasSrv, f.Delivered)
	f.ToolCPUUsPerDelivery = perOp(sp.tool, sp.hasTool, f.Delivered)
	r.res.Fanout = f
	return nil
}
