package editor

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Schedule is what the API needs of the scheduler (*schedule.Scheduler):
// compare-and-set access to the scheduled items' records and the
// in-memory view every instance keeps of them.
type Schedule interface {
	// Get reads an item's record and its revision; stream.ErrNotFound
	// when it has none.
	Get(ctx context.Context, id string) (stream.Scheduled, uint64, error)
	// Create stores a new record; stream.ErrExists when the id has one.
	Create(ctx context.Context, r stream.Scheduled) (uint64, error)
	// Update replaces the record at revision rev; stream.ErrConflict when
	// it changed since.
	Update(ctx context.Context, r stream.Scheduled, rev uint64) (uint64, error)
	// List is the records whose item shows status, earliest publish_at
	// first; Pending counts those still to be published.
	List(status string) []stream.Scheduled
	Pending() int
}

// DefaultScheduleMaxPending bounds the scheduled items waiting to be
// published (Options.ScheduleMaxPending).
const DefaultScheduleMaxPending = 1000

// publishingWait bounds how long a change waits for an item that an
// instance is publishing right now to be in the news stream.
const publishingWait = 15 * time.Second

var (
	errTooManyScheduled = func(n int) error {
		return httperr.Field(http.StatusConflict, "too_many_scheduled", "publish_at",
			strconv.Itoa(n)+" items are scheduled already, the most allowed; cancel one or wait until one is published")
	}
	errItemCancelled = httperr.New(http.StatusConflict, "item_cancelled", "the scheduled item was cancelled; it cannot be changed (post a new one)")
	errItemMissed    = httperr.New(http.StatusConflict, "item_missed", "the scheduled item was missed (no instance ran at its publish_at); it cannot be changed (post a new one)")
	errNotScheduled  = httperr.Field(http.StatusBadRequest, "invalid_publish_at", "publish_at", "publish_at can only be changed on a scheduled item that is not published yet")
	errNoScheduler   = httperr.Field(http.StatusServiceUnavailable, "unavailable", "publish_at", "scheduling is not available on this instance")
)

// scheduledItem is the item of a record as an editor sees it.
func scheduledItem(r stream.Scheduled) news.Item {
	it := r.Item
	switch r.Status {
	case stream.SchedCancelled:
		it.Status = news.StatusCancelled
	case stream.SchedMissed:
		it.Status = news.StatusMissed
	default:
		it.Status = news.StatusScheduled
	}
	return it
}

// createScheduled stores a draft with publish_at as a scheduled item: a
// record in the scheduled bucket, nothing in the news stream. The
// scheduler of some instance publishes it when it is due. it is the
// validated item; d the draft it came from.
func (a *API) createScheduled(c *gin.Context, dry dryRun, d news.Draft, it news.Item) {
	sched := a.cfg.Schedule
	if sched == nil {
		httperr.Abort(c, errNoScheduler)
		return
	}
	now := a.now()
	at, err := news.ParsePublishAt(d.PublishAt, now, a.opts.ScheduleMaxAhead)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	ctx := c.Request.Context()
	editor := EditorName(c)
	it.ID = news.NewID()
	it.Status, it.PublishAt = news.StatusScheduled, at
	it.Editor = editor
	it.PublishedAt, it.UpdatedAt = *at, now
	if dry.on {
		if err := checkIdempotencyKey(c.GetHeader("Idempotency-Key")); err != nil {
			httperr.Abort(c, err)
			return
		}
		if max := a.opts.ScheduleMaxPending; max > 0 && sched.Pending() >= max {
			httperr.Abort(c, errTooManyScheduled(max))
			return
		}
		a.dryScheduled(c, dry, it, d.Confirm)
		return
	}
	claim, created, err := a.claimKey(c, editor, it)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if claim != nil {
		got := *claim
		if !created {
			it.ID = got.ItemID
			if a.replayScheduled(c, it.ID) {
				return
			}
			// Claimed, but the first attempt stored no record: store it now.
		}
	}
	var confirmed bool
	if it.Alert {
		if confirmed, err = a.scheduledGuard(it, d.Confirm); err != nil {
			httperr.Abort(c, err)
			return
		}
	}
	if max := a.opts.ScheduleMaxPending; max > 0 && sched.Pending() >= max {
		httperr.Abort(c, errTooManyScheduled(max))
		return
	}
	rec := stream.Scheduled{Item: it, Status: stream.SchedScheduled, Action: stream.ScheduleCreate, By: editor, At: now,
		Client: c.ClientIP(), Confirmed: confirmed}
	if _, err := sched.Create(ctx, rec); errors.Is(err, stream.ErrExists) {
		if !a.replayScheduled(c, it.ID) {
			httperr.Abort(c, stream.ErrConflict)
		}
		return
	} else if err != nil {
		httperr.Abort(c, err)
		return
	}
	a.log.Info("item scheduled", "id", it.ID, "publish_at", at.Format(time.RFC3339), "editor", editor, "alert", it.Alert)
	c.Header("Location", "/api/v1/items/"+it.ID)
	c.JSON(http.StatusCreated, it)
}

// replayScheduled answers a repeated scheduling with the item the first
// one made, as it is now (published: from the news stream). It reports
// false when there is none.
func (a *API) replayScheduled(c *gin.Context, id string) bool {
	ctx := c.Request.Context()
	r, _, err := a.cfg.Schedule.Get(ctx, id)
	if errors.Is(err, stream.ErrNotFound) {
		return false
	}
	if err != nil {
		httperr.Abort(c, err)
		return true
	}
	if r.Status == stream.SchedPublished {
		cur, err := a.cfg.Stream.Current(ctx, id)
		if err != nil {
			if errors.Is(err, stream.ErrNotFound) {
				err = itemGone(id)
			}
			httperr.Abort(c, err)
			return true
		}
		a.replay(c, cur)
		return true
	}
	a.replay(c, scheduledItem(r))
	return true
}

// scheduledGuard is the flood guard for an alert being scheduled (or a
// scheduled alert being changed): it compares its publish_at with those of
// the other scheduled alerts, the decision an editor takes now for later.
// At publish time no guard runs: the decision was made, with confirm if
// it took one.
func (a *API) scheduledGuard(it news.Item, confirm bool) (confirmed bool, err error) {
	minInterval, window := a.opts.AlertMinInterval, a.opts.AlertDuplicateWindow
	if minInterval < 0 && window < 0 {
		return false, nil
	}
	key := news.AlertKey(it.Text)
	var soon, dup *news.Item
	var soonBy time.Duration = math.MaxInt64
	for _, r := range a.cfg.Schedule.List(news.StatusScheduled) {
		o := r.Item
		if o.ID == it.ID || !o.Alert {
			continue
		}
		d := o.PublishAt.Sub(*it.PublishAt).Abs()
		if window > 0 && d < window && dup == nil && news.AlertKey(o.Text) == key {
			dup = &o
		}
		if minInterval > 0 && d < minInterval && d < soonBy {
			soon, soonBy = &o, d
		}
	}
	switch {
	case soon == nil && dup == nil:
		return false, nil
	case confirm:
		return true, nil
	case dup != nil:
		return false, &httperr.Error{Status: http.StatusConflict, Code: "duplicate_alert", Field: "text",
			Message: "the same text is scheduled to alert (item " + dup.ID + ") within " + window.String() + " of this publish_at; send with \"confirm\": true to schedule it anyway",
			Extra:   map[string]any{"previous_item": dup.ID}}
	default:
		secs := int64((minInterval - soonBy + time.Second - 1) / time.Second)
		return false, &httperr.Error{Status: http.StatusConflict, Code: "alert_too_soon", Field: "publish_at",
			Message: "another alert (item " + soon.ID + ") is scheduled less than " + minInterval.String() + " from this publish_at; move it " + strconv.FormatInt(secs, 10) + "s further apart or send with \"confirm\": true",
			Extra:   map[string]any{"retry_after": secs, "previous_item": soon.ID}}
	}
}

// scheduledRecord reads the record of the item a PATCH or DELETE names
// and waits while an instance is publishing it. ok is false when the
// item has no pending or finished record (it is a live item, or none):
// the caller goes on with the news stream. Errors are answered here.
func (a *API) scheduledRecord(c *gin.Context) (r stream.Scheduled, rev uint64, ok bool) {
	if a.cfg.Schedule == nil {
		return r, 0, false
	}
	id := c.Param("id")
	if !news.ValidID(id) {
		return r, 0, false
	}
	ctx := c.Request.Context()
	deadline := time.Now().Add(publishingWait)
	for {
		r, rev, err := a.cfg.Schedule.Get(ctx, id)
		if errors.Is(err, stream.ErrNotFound) {
			return r, 0, false
		}
		if err != nil {
			httperr.Abort(c, err)
			return r, 0, true
		}
		if r.Status != stream.SchedPublishing {
			return r, rev, r.Status != stream.SchedPublished
		}
		// Being published this moment: it is live in a moment, and then
		// changed as a live item.
		if time.Now().After(deadline) {
			httperr.Abort(c, stream.ErrConflict)
			return r, 0, true
		}
		select {
		case <-ctx.Done():
			httperr.Abort(c, ctx.Err())
			return r, 0, true
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// correctScheduled applies a PATCH to a scheduled item: the usual fields,
// publish_at (reschedule) and alert true or false (nothing was sent). It
// reports false when the item is not scheduled (a live item's PATCH goes
// on as usual; one with publish_at is refused here).
func (a *API) correctScheduled(c *gin.Context, dry dryRun, p news.Patch) bool {
	for try := 0; try < a.opts.MaxTries; try++ {
		r, rev, ok := a.scheduledRecord(c)
		if c.IsAborted() {
			return true
		}
		if !ok {
			if news.Given(p.PublishAt) {
				httperr.Abort(c, errNotScheduled)
				return true
			}
			return false
		}
		switch r.Status {
		case stream.SchedCancelled:
			httperr.Abort(c, errItemCancelled)
			return true
		case stream.SchedMissed:
			httperr.Abort(c, errItemMissed)
			return true
		}
		cur := scheduledItem(r)
		base := cur
		if p.Alert != nil && !*p.Alert {
			base.Alert = false // nothing was sent: a scheduled alert may become a ticker item
		}
		next, changed, err := a.cfg.Taxonomy.ApplyPatch(base, p)
		if err != nil {
			httperr.Abort(c, err)
			return true
		}
		changed = changed || next.Alert != cur.Alert
		now := a.now()
		if news.Given(p.PublishAt) {
			at, err := news.ParsePublishAt(p.PublishAt, now, a.opts.ScheduleMaxAhead)
			if err != nil {
				httperr.Abort(c, err)
				return true
			}
			if !at.Equal(*cur.PublishAt) {
				next.PublishAt, next.PublishedAt, changed = at, *at, true
			}
		}
		if !changed && dry.on {
			a.dryAnswer(c, dry, cur, false, p.Confirm)
			return true
		}
		if !changed {
			c.JSON(http.StatusOK, cur)
			return true
		}
		if (cur.Alert || next.Alert) && !CanAlert(Role(c)) {
			httperr.Abort(c, ErrAlertForbidden)
			return true
		}
		if dry.on {
			next.UpdatedAt, next.UpdatedBy = now, EditorName(c)
			a.dryScheduled(c, dry, next, p.Confirm)
			return true
		}
		confirmed := r.Confirmed
		if next.Alert && (!cur.Alert || next.Text != cur.Text || !next.PublishAt.Equal(*cur.PublishAt)) {
			if confirmed, err = a.scheduledGuard(next, p.Confirm); err != nil {
				httperr.Abort(c, err)
				return true
			}
		}
		next.UpdatedAt, next.UpdatedBy = now, EditorName(c)
		n := stream.Scheduled{Item: next, Status: stream.SchedScheduled, Action: stream.ScheduleEdit, By: EditorName(c), At: now,
			Client: c.ClientIP(), Before: &cur, Confirmed: confirmed}
		if _, err := a.cfg.Schedule.Update(c.Request.Context(), n, rev); errors.Is(err, stream.ErrConflict) {
			continue
		} else if err != nil {
			httperr.Abort(c, err)
			return true
		}
		a.log.Info("scheduled item edited", "id", next.ID, "publish_at", next.PublishAt.Format(time.RFC3339), "editor", EditorName(c), "alert", next.Alert)
		c.JSON(http.StatusOK, next)
		return true
	}
	httperr.Abort(c, stream.ErrConflict)
	return true
}

// cancelScheduled answers a DELETE of a scheduled item: it is cancelled
// (compare-and-set while it is scheduled, so it is never published), or
// was cancelled or missed already (unchanged). It reports false when the
// item is not scheduled, or was published while this ran: then it is
// retracted as a live item.
func (a *API) cancelScheduled(c *gin.Context) bool {
	for try := 0; try < a.opts.MaxTries; try++ {
		r, rev, ok := a.scheduledRecord(c)
		if c.IsAborted() {
			return true
		}
		if !ok {
			return false
		}
		cur := scheduledItem(r)
		if r.Status != stream.SchedScheduled {
			c.JSON(http.StatusOK, cur)
			return true
		}
		if cur.Alert && !CanAlert(Role(c)) {
			httperr.Abort(c, ErrAlertForbidden)
			return true
		}
		now := a.now()
		next := cur
		next.Status, next.UpdatedAt, next.UpdatedBy = news.StatusCancelled, now, EditorName(c)
		n := stream.Scheduled{Item: next, Status: stream.SchedCancelled, Action: stream.ScheduleCancel, By: EditorName(c), At: now,
			Client: c.ClientIP(), Confirmed: r.Confirmed}
		if _, err := a.cfg.Schedule.Update(c.Request.Context(), n, rev); errors.Is(err, stream.ErrConflict) {
			continue // claimed or changed meanwhile: read again
		} else if err != nil {
			httperr.Abort(c, err)
			return true
		}
		a.log.Info("scheduled item cancelled", "id", next.ID, "editor", EditorName(c))
		c.JSON(http.StatusOK, next)
		return true
	}
	httperr.Abort(c, stream.ErrConflict)
	return true
}

// getScheduled answers GET of an item the news stream does not hold: an
// editor reads a scheduled, cancelled or missed item; anyone else gets
// 404 as for an unknown id. It reports false when there is no such record.
func (a *API) getScheduled(c *gin.Context, id string) bool {
	if a.cfg.Schedule == nil || EditorName(c) == "" {
		return false
	}
	r, _, err := a.cfg.Schedule.Get(c.Request.Context(), id)
	if err != nil || r.Status == stream.SchedPublished {
		return false
	}
	c.Writer.Header().Add("Vary", "Authorization")
	c.JSON(http.StatusOK, scheduledItem(r))
	return true
}

// listScheduled answers GET /items?status=scheduled|cancelled|missed, for
// editors only.
func (a *API) listScheduled(c *gin.Context, status string) {
	switch status {
	case news.StatusScheduled, news.StatusCancelled, news.StatusMissed:
	default:
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_status", "status", "status must be live, scheduled, cancelled or missed"))
		return
	}
	if EditorName(c) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="newsflash"`)
		httperr.Abort(c, httperr.Field(http.StatusUnauthorized, "missing_token", "status",
			"scheduled, cancelled and missed items are for editors: Authorization: Bearer <token>"))
		return
	}
	c.Writer.Header().Add("Vary", "Authorization")
	ans := listAnswer{Items: []news.Item{}}
	if a.cfg.Schedule != nil {
		for _, r := range a.cfg.Schedule.List(status) {
			ans.Items = append(ans.Items, scheduledItem(r))
		}
	}
	c.JSON(http.StatusOK, ans)
}

// dryScheduled answers the dry run of scheduling an item (or of changing a
// scheduled one): the item as it would be stored, its audience now, and
// what the scheduled alerts' guard would say.
func (a *API) dryScheduled(c *gin.Context, dry dryRun, it news.Item, confirm bool) {
	report := guardReport{OK: true}
	if it.Alert {
		if _, err := a.scheduledGuard(it, false); err != nil {
			var he *httperr.Error
			if !errors.As(err, &he) {
				httperr.Abort(c, err)
				return
			}
			report = guardReport{Message: he.Message}
			if prev, ok := he.Extra["previous_item"].(string); ok {
				report.PreviousItem = prev
			}
			if secs, ok := he.Extra["retry_after"].(int64); ok {
				report.RetryAfter = secs
			}
			if confirm {
				report.OK, report.Overridden = true, he.Code
			} else {
				report.Code = he.Code
			}
		}
	}
	a.dryAnswerWith(c, dry, it, it.Alert, &report)
}
