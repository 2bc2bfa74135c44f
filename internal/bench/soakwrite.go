package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"newsflash/internal/news"
)

// When a soak item's correction and retraction are sent, after its post.
const (
	correctAfter = time.Second
	retractAfter = 2 * time.Second
	// maxItemsInFlight bounds the items whose post, correction or
	// retraction is under way (or waiting for its time) at once.
	maxItemsInFlight = 256
)

// Steps of the low-discrepancy sequences that pick which posts are pushed,
// corrected and retracted: frac(n·α) < share picks a share of the posts,
// evenly spread, with a different α for each choice so that the three mix
// (some pushed items corrected, some corrected ones retracted, ...).
var (
	pickPush    = math.Phi - 1
	pickCorrect = math.Sqrt2 - 1
	pickRetract = math.Sqrt(3) - 1
)

// picked reports whether post n is among the share picked with step alpha.
func picked(n int, share, alpha float64) bool {
	_, frac := math.Modf(float64(n+1) * alpha)
	return frac < share
}

// soakItem is one post of the soak and what followed it.
type soakItem struct {
	// Set when the item is planned.
	n                        int
	pushed, correct, retract bool

	// Set by the item's goroutine; read once it has ended.
	id                              string
	postSeq, correctSeq, retractSeq uint64 // 0: not acknowledged
	postTook                        time.Duration
	err                             error // the first failure
}

// writeTally counts the soak's writes as they are acknowledged.
type writeTally struct {
	posted, corrected, retracted atomic.Int64
	failed                       atomic.Int64
}

// writer posts the soak's items and corrects and retracts some.
type writer struct {
	api                     *api
	run                     string
	lang                    string
	pushRegion, otherRegion string
	t                       writeTally
}

// draft is post n's body: a flash item (see pushKindOf), when pushed an
// alert in the push subscriptions' region, otherwise a ticker-only item in
// another region.
func (w *writer) draft(it *soakItem) news.Draft {
	region := w.otherRegion
	if it.pushed {
		region = w.pushRegion
	}
	return news.Draft{Text: "soak " + strconv.Itoa(it.n) + " " + w.run, Lang: w.lang, Regions: []string{region},
		Priority: news.PriorityFlash, Source: "newsflash bench", Alert: it.pushed,
		Confirm: it.pushed} // a soak alerts far more often than the flood guard lets editors

}

// write posts it, then corrects and retracts it when planned, each step
// at its time after the post. Every request is retried on network errors
// and 5xx: the post under its Idempotency-Key, the correction and the
// retraction because repeating them makes no new event.
func (w *writer) write(ctx context.Context, it *soakItem) {
	start := time.Now()
	body, _ := json.Marshal(w.draft(it))
	editor := map[string]string{"Authorization": "Bearer " + w.api.token}
	postHdr := map[string]string{"Authorization": editor["Authorization"], "Idempotency-Key": "soak-" + w.run + "-" + strconv.Itoa(it.n)}
	var item news.Item
	err := withRetry(ctx, func() error {
		return w.api.do(ctx, http.MethodPost, "/api/v1/items", body, postHdr, &item, http.StatusCreated)
	})
	it.postTook = time.Since(start)
	if err != nil {
		w.failed(it, fmt.Errorf("post item %d: %w", it.n, asRefused("post an item", err)))
		return
	}
	it.id, it.postSeq = item.ID, item.Seq
	w.t.posted.Add(1)
	if it.correct {
		if !sleepUntil(ctx, start.Add(correctAfter)) {
			w.failed(it, fmt.Errorf("correct item %d: %w", it.n, ctx.Err()))
			return
		}
		patch, _ := json.Marshal(map[string]string{"text": "soak " + strconv.Itoa(it.n) + " " + w.run + " corrected", "priority": news.PriorityUrgent})
		err := withRetry(ctx, func() error {
			return w.api.do(ctx, http.MethodPatch, "/api/v1/items/"+it.id, patch, editor, &item, http.StatusOK)
		})
		if err != nil {
			w.failed(it, fmt.Errorf("correct item %d: %w", it.n, err))
			return
		}
		it.correctSeq = item.Seq
		w.t.corrected.Add(1)
	}
	if it.retract {
		if !sleepUntil(ctx, start.Add(retractAfter)) {
			w.failed(it, fmt.Errorf("retract item %d: %w", it.n, ctx.Err()))
			return
		}
		err := withRetry(ctx, func() error {
			return w.api.do(ctx, http.MethodDelete, "/api/v1/items/"+it.id, nil, editor, &item, http.StatusOK)
		})
		if err != nil {
			w.failed(it, fmt.Errorf("retract item %d: %w", it.n, err))
			return
		}
		it.retractSeq = item.Seq
		w.t.retracted.Add(1)
	}
}

func (w *writer) failed(it *soakItem, err error) {
	it.err = err
	w.t.failed.Add(1)
}

// postFor posts at rate until ctx ends, planning each item from the
// shares, and returns the items once every one has finished (its
// correction and retraction included). Writes use wctx, which may outlive
// ctx so that the last items are completed.
func (w *writer) postFor(ctx, wctx context.Context, rate float64, cfg Config) []*soakItem {
	var items []*soakItem
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, maxItemsInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for n := 0; ; n++ {
		if !sleepUntil(ctx, start.Add(time.Duration(n)*interval)) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		it := &soakItem{n: n, pushed: picked(n, cfg.PushShare, pickPush),
			correct: picked(n, cfg.Corrections, pickCorrect), retract: picked(n, cfg.Retractions, pickRetract)}
		items = append(items, it)
		wg.Go(func() {
			defer func() { <-sem }()
			w.write(wctx, it)
		})
	}
	wg.Wait()
	return items
}

// ours maps the seqs of the items' acknowledged events to their kinds.
func ours(items []*soakItem) map[uint64]byte {
	m := make(map[uint64]byte, len(items)*2)
	for _, it := range items {
		for _, e := range []struct {
			seq  uint64
			kind byte
		}{{it.postSeq, kindItem}, {it.correctSeq, kindUpdate}, {it.retractSeq, kindRetract}} {
			if e.seq != 0 {
				m[e.seq] = e.kind
			}
		}
	}
	return m
}

// pushItems are the pushed items whose post was acknowledged, with the
// versions they got.
func pushItems(items []*soakItem) []pushItem {
	var out []pushItem
	for _, it := range items {
		if !it.pushed || it.postSeq == 0 {
			continue
		}
		p := pushItem{id: it.id, final: kindItem}
		p.made[kindItem] = true
		if it.correctSeq != 0 {
			p.made[kindUpdate], p.final = true, kindUpdate
		}
		if it.retractSeq != 0 {
			p.made[kindRetract], p.final = true, kindRetract
		}
		out = append(out, p)
	}
	return out
}
