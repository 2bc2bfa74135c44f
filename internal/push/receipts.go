package push

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/httperr"
	"newsflash/internal/limit"
	"newsflash/internal/news"
)

// Receipt events: the reader's service worker or app showed the alert's
// notification, or the reader opened it.
const (
	ReceiptShown   = "shown"
	ReceiptClicked = "clicked"
)

// DefaultReceiptRate is how many receipts one client address may post per
// minute (Options.ReceiptRate), in bursts of up to receiptBurst: many
// readers may share an address (a carrier's NAT), each posting two per
// alert.
const DefaultReceiptRate = 600

// receiptBurst is the burst of the receipts' limit per address (at most
// the rate).
const receiptBurst = 200

// receiptValueMax bounds a record of the receipts bucket (milliseconds as
// decimal digits); JetStream counts the message's headers in it too.
const receiptValueMax = 512

// ReceiptRequest is POST /api/v1/push/receipts.
type ReceiptRequest struct {
	Receipt string `json:"receipt"`
	Event   string `json:"event"`
}

// receipt is t's receipt in run r: for an item or update notification
// (a retract closes it: no receipt), "" otherwise.
func (r *run) receipt(t target) string {
	if t.kind != news.EventItem && t.kind != news.EventUpdate {
		return ""
	}
	return r.s.rkey.receipt(r.e.Event.Item.ID, t.sub.plat, t.sub.ID)
}

// timeToSent counts, for an alert's job, the time from the alert to a
// send that succeeded; callers hold r.mu.
func (r *run) timeToSent(plat platform, c *counts) {
	at := r.e.Event.Item.AlertedAt
	if !r.prog.Alert || at == nil {
		return
	}
	d := r.s.cfg.Now().Sub(*at)
	if c.TimeToSent == nil {
		c.TimeToSent = &hist{}
	}
	c.TimeToSent.add(d)
	r.s.cfg.Metrics.PushTimeToSent.WithLabelValues(plat.String()).Observe(max(d.Seconds(), 0))
}

// postReceipt is POST /api/v1/push/receipts: a reader's receipt of an
// alert, counted once per (receipt, event) over all instances. Only the
// count is kept: a record's key names the item, platform, event and the
// receipt's nonce (which links to no subscription), its value the time
// since the alert; not the address, the user agent or the subscription.
func (s *Service) postReceipt(c *gin.Context) {
	now := s.cfg.Now()
	if ok, wait := s.receiptLimit.Allow(limit.Key(c.ClientIP()), now); !ok {
		httperr.Abort(c, &httperr.Error{Status: http.StatusTooManyRequests, Code: "too_many_receipts",
			Message: "too many receipts from this address; try again later", RetryAfter: httperr.Seconds(wait)})
		return
	}
	var req ReceiptRequest
	if err := decodeJSON(c, &req); err != nil {
		httperr.Abort(c, err)
		return
	}
	if req.Event != ReceiptShown && req.Event != ReceiptClicked {
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_event", "event", `event must be "shown" or "clicked"`))
		return
	}
	rc, err := s.rkey.check(req.Receipt)
	if err != nil {
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_receipt", "receipt", "not a receipt of this server"))
		return
	}
	it, ok := s.cfg.Log.Item(rc.item)
	if !ok || !it.Alert || it.AlertedAt == nil || now.Sub(*it.AlertedAt) > progressTTL {
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "unknown_receipt", "receipt", "the receipt's alert is not known (any more)"))
		return
	}
	ms := max(now.Sub(*it.AlertedAt).Milliseconds(), 0)
	key := rc.item + "." + rc.plat.String() + "." + req.Event + "." + hex.EncodeToString(rc.nonce[:])
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.Timeout)
	defer cancel()
	_, err = s.rcpts.Create(ctx, key, []byte(strconv.FormatInt(ms, 10)))
	switch {
	case errors.Is(err, jetstream.ErrKeyExists): // counted before, here or on another instance
	case err != nil:
		httperr.Abort(c, &httperr.Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the receipts store is unavailable; try again", Cause: err, RetryAfter: "2"})
		return
	default:
		m := s.cfg.Metrics
		m.PushReceipts.WithLabelValues(rc.plat.String(), req.Event).Inc()
		if req.Event == ReceiptShown {
			m.PushTimeToShown.WithLabelValues(rc.plat.String()).Observe(float64(ms) / 1000)
		}
	}
	c.Status(http.StatusNoContent)
}

// receiptView follows the receipts bucket: every instance counts the
// receipts all instances took, per item.
type receiptView struct {
	mu    sync.Mutex
	items map[string]*itemReceipts
	rev   uint64 // the last record counted: a watch started again replays the bucket
	sweep time.Time
}

// itemReceipts are one alert's receipts.
type itemReceipts struct {
	plat      [numPlatforms]platReceipts
	firstHour [2][60]int // shown, clicked per minute
	at        time.Time  // the newest receipt's record
}

type platReceipts struct {
	shown, clicked int
	timeToShown    hist
}

func newReceiptView() *receiptView { return &receiptView{items: map[string]*itemReceipts{}} }

func (s *Service) watchReceipts(ctx context.Context) error {
	return watchBucket(ctx, s.rcpts, nil, func(e jetstream.KeyValueEntry) {
		s.receipts.apply(e, s.cfg.Now())
	})
}

// apply counts one record of the receipts bucket; each key is created
// once, so a record is counted once, by its revision.
func (v *receiptView) apply(e jetstream.KeyValueEntry, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut || e.Revision() <= v.rev {
		return
	}
	v.rev = e.Revision()
	v.forgetExpired(now)
	parts := strings.Split(e.Key(), ".")
	if len(parts) != 4 {
		return
	}
	plat := platformOf(parts[1])
	ms, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if plat >= numPlatforms || err != nil || ms < 0 {
		return
	}
	it := v.items[parts[0]]
	if it == nil {
		it = &itemReceipts{}
		v.items[parts[0]] = it
	}
	it.at = e.Created()
	pr := &it.plat[plat]
	minute := ms / 60000
	switch parts[2] {
	case ReceiptShown:
		pr.shown++
		pr.timeToShown.add(time.Duration(ms) * time.Millisecond)
		if minute < 60 {
			it.firstHour[0][minute]++
		}
	case ReceiptClicked:
		pr.clicked++
		if minute < 60 {
			it.firstHour[1][minute]++
		}
	}
}

// forgetExpired drops the items whose receipts the bucket's MaxAge has
// removed (a watcher is not told), at most once a minute; callers hold mu.
func (v *receiptView) forgetExpired(now time.Time) {
	sweepExpired(v.items, func(it *itemReceipts) time.Time { return it.at }, &v.sweep, now)
}

// addReceipts fills the funnel of each item with its alert's receipts and
// times (time_to_sent from the alert jobs' progress, time_to_shown and
// first_hour from the receipts), making the funnel of an item that has
// some but none yet.
func (s *Service) addReceipts(items []ItemStats) {
	type sendTimes [numPlatforms]hist
	toSent := map[string]*sendTimes{}
	want := map[string]bool{}
	for _, st := range items {
		want[st.ID] = true
	}
	s.stats.mu.Lock()
	for key, p := range s.stats.jobs {
		item, _, _ := strings.Cut(key, ".")
		if !p.Alert || !want[item] {
			continue
		}
		for name, c := range p.Platforms {
			pl := platformOf(name)
			if c.TimeToSent == nil || pl >= numPlatforms {
				continue
			}
			if toSent[item] == nil {
				toSent[item] = &sendTimes{}
			}
			toSent[item][pl].merge(c.TimeToSent)
		}
	}
	s.stats.mu.Unlock()
	s.receipts.mu.Lock()
	defer s.receipts.mu.Unlock()
	for i := range items {
		st := &items[i]
		rc, ts := s.receipts.items[st.ID], toSent[st.ID]
		if rc == nil && ts == nil && st.Funnel == nil {
			continue
		}
		f := st.Funnel
		if f == nil {
			it, ok := s.cfg.Log.Item(st.ID)
			if !ok || it.AlertedAt == nil {
				continue
			}
			f = &Funnel{AlertedAt: *it.AlertedAt, FunnelCounts: newFunnelCounts()}
			st.Funnel = f
		}
		if f.Platforms == nil {
			f.Platforms = map[string]FunnelCounts{}
		}
		f.FirstHour = FirstHour{Shown: make([]int, 60), Clicked: make([]int, 60)}
		var allSent, allShown hist
		for pl := range numPlatforms {
			var pr platReceipts
			if rc != nil {
				pr = rc.plat[pl]
			}
			var sentTimes hist
			if ts != nil {
				sentTimes = ts[pl]
			}
			pc, ok := f.Platforms[pl.String()]
			if !ok && pr.shown+pr.clicked+sentTimes.total() == 0 {
				continue
			}
			if !ok {
				pc = newFunnelCounts()
			}
			pc.Shown, pc.Clicked = pr.shown, pr.clicked
			pc.TimeToSent, pc.TimeToShown = sentTimes.percentiles(), pr.timeToShown.percentiles()
			f.Platforms[pl.String()] = pc
			f.Shown += pr.shown
			f.Clicked += pr.clicked
			allSent.merge(&sentTimes)
			allShown.merge(&pr.timeToShown)
		}
		f.TimeToSent, f.TimeToShown = allSent.percentiles(), allShown.percentiles()
		if rc != nil {
			copy(f.FirstHour.Shown, rc.firstHour[0][:])
			copy(f.FirstHour.Clicked, rc.firstHour[1][:])
		}
	}
}

// newFunnelCounts are zero counts with every skip reason.
func newFunnelCounts() FunnelCounts {
	return FunnelCounts{Skipped: map[string]int{SkipPriority: 0, SkipQuietHours: 0, SkipCap: 0}}
}
