package editor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/history"
	"newsflash/internal/httperr"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Store is what the API needs of the stream: *stream.Stream in a server,
// a fake in fast tests.
type Store interface {
	Publish(ctx context.Context, ev news.Event, expectLast uint64, msgID string) (seq uint64, duplicate bool, err error)
	Current(ctx context.Context, id string) (news.Item, error)
	ClaimKey(ctx context.Context, editor, key string, c stream.Claim) (got stream.Claim, created bool, err error)
	ClaimPublished(ctx context.Context, c stream.Claim, seq uint64) error
	InAudit(ctx context.Context, id string) (bool, error)
}

var _ Store = (*stream.Stream)(nil)

// Deps wire the API. Stream, Log, Taxonomy and Editors are required.
type Deps struct {
	Stream   Store
	Log      *history.Log
	Taxonomy *news.Taxonomy
	Editors  Auth // *Editors or *Accounts
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Metrics to report to. Default: metrics of its own (not served).
	Metrics *metrics.Metrics
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Channels are the alert channels a dry run counts the audience of and
	// sends a test notification through. Default none.
	Channels []Channel
	// Schedule keeps the scheduled items (*schedule.Scheduler). Default:
	// none, and a post with publish_at is refused as unavailable.
	Schedule Schedule
	// Stories says which stories exist and are open (*story.Store): an
	// item is posted, scheduled or moved into an open story only, and
	// readers of GET /items filter by known ones. Default: none, and
	// every story is unknown_story.
	Stories news.Stories
}

// DefaultMaxTries is how often a correction is tried against concurrent
// ones before it is refused as a conflict.
const DefaultMaxTries = 5

// Options are the API's settings; the zero value of a field is its default.
type Options struct {
	// MaxTries of a correction that keeps meeting concurrent ones. Default
	// DefaultMaxTries.
	MaxTries int
	// AlertMinInterval is the least time between two alerts, from anyone
	// on any instance; a sooner one needs confirm (alert_too_soon).
	// Default DefaultAlertMinInterval; negative: no minimum.
	AlertMinInterval time.Duration
	// AlertDuplicateWindow is how long an alert's text (white space and
	// case folded) may not be alerted again without confirm
	// (duplicate_alert). Default DefaultAlertDuplicateWindow; negative:
	// no such rule.
	AlertDuplicateWindow time.Duration
	// ScheduleMaxAhead is how far ahead publish_at may be. Default
	// stream.DefaultScheduleMaxAhead.
	ScheduleMaxAhead time.Duration
	// ScheduleMaxPending bounds the scheduled items waiting to be
	// published, on all instances (too_many_scheduled). Default
	// DefaultScheduleMaxPending; negative: no bound.
	ScheduleMaxPending int
}

// API serves the item endpoints.
type API struct {
	cfg  Deps
	opts Options
	log  *slog.Logger
}

// New checks deps and returns the API. It starts no goroutine.
func New(deps Deps, opts Options) (*API, error) {
	if deps.Stream == nil || deps.Log == nil || deps.Taxonomy == nil || deps.Editors == nil {
		return nil, errors.New("editor: Stream, Log, Taxonomy and Editors are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	if opts.MaxTries <= 0 {
		opts.MaxTries = DefaultMaxTries
	}
	if opts.AlertMinInterval == 0 {
		opts.AlertMinInterval = DefaultAlertMinInterval
	}
	if opts.AlertDuplicateWindow == 0 {
		opts.AlertDuplicateWindow = DefaultAlertDuplicateWindow
	}
	if opts.ScheduleMaxAhead <= 0 {
		opts.ScheduleMaxAhead = stream.DefaultScheduleMaxAhead
	}
	if opts.ScheduleMaxPending == 0 {
		opts.ScheduleMaxPending = DefaultScheduleMaxPending
	}
	return &API{cfg: deps, opts: opts, log: deps.Logger}, nil
}

// publish writes an event to the stream, timing it for the metrics.
func (a *API) publish(ctx context.Context, ev news.Event, expectSeq uint64, msgID string) (uint64, bool, error) {
	start := time.Now()
	seq, dup, err := a.cfg.Stream.Publish(ctx, ev, expectSeq, msgID)
	if err == nil {
		a.cfg.Metrics.PublishLatency.Observe(time.Since(start).Seconds())
	}
	return seq, dup, err
}

// Register adds the routes under g (the /api/v1 group).
func (a *API) Register(g *gin.RouterGroup) {
	g.GET("/taxonomy", a.taxonomy)
	r := g.Group("", a.cfg.Editors.OptionalEditor())
	r.GET("/items", a.list)
	r.GET("/items/:id", a.get)
	w := g.Group("", a.cfg.Editors.RequireEditor())
	w.POST("/items", a.create)
	w.PATCH("/items/:id", a.correct)
	w.DELETE("/items/:id", a.retract)
}

func (a *API) taxonomy(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=60")
	c.JSON(http.StatusOK, a.cfg.Taxonomy)
}

// Listing limits.
const (
	defaultLimit = 20
	maxLimit     = 100
)

type listAnswer struct {
	Items      []news.Item `json:"items"`
	NextBefore uint64      `json:"next_before,omitempty"`
}

func (a *API) list(c *gin.Context) {
	if st := c.Query("status"); st != "" && st != news.StatusLive {
		a.listScheduled(c, st)
		return
	}
	f, err := a.cfg.Taxonomy.ParseFilter(c.Query("regions"), c.Query("topics"), c.Query("langs"))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if f.Stories, err = news.ParseStories(c.Query("stories")); err == nil {
		err = news.KnownStories(a.cfg.Stories, "stories", f.Stories)
	}
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	limit, err := queryUint(c, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	before, err := queryUint(c, "before", 0, 1, 1<<62)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	items := a.cfg.Log.List(f, before, int(limit))
	c.Writer.Header().Add("Vary", "Authorization")
	ans := listAnswer{Items: make([]news.Item, len(items))}
	for i, it := range items {
		ans.Items[i] = readable(c, it)
	}
	if len(items) == int(limit) {
		ans.NextBefore = items[len(items)-1].PublishedSeq
	}
	c.JSON(http.StatusOK, ans)
}

// queryUint reads an optional unsigned integer query parameter in [min, max].
func queryUint(c *gin.Context, name string, def, min, max uint64) (uint64, error) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v < min || v > max {
		return 0, httperr.Field(http.StatusBadRequest, "invalid_"+name, name,
			name+" must be a whole number from "+strconv.FormatUint(min, 10)+" to "+strconv.FormatUint(max, 10))
	}
	return v, nil
}

func (a *API) get(c *gin.Context) {
	id := c.Param("id")
	if !news.ValidID(id) {
		httperr.Abort(c, stream.ErrNotFound)
		return
	}
	it, err := a.cfg.Stream.Current(c.Request.Context(), id)
	if errors.Is(err, stream.ErrNotFound) && a.getScheduled(c, id) {
		return
	}
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Writer.Header().Add("Vary", "Authorization")
	c.JSON(http.StatusOK, readable(c, it))
}

// readable is the item as the request may read it: whole for an editor
// (OptionalEditor), public otherwise: without staff names and, once
// retracted, without its text and url. Answers built with it vary with the
// token (Vary: Authorization, set by the handler).
func readable(c *gin.Context, it news.Item) news.Item {
	if EditorName(c) != "" {
		return it
	}
	return it.Public()
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

func (a *API) create(c *gin.Context) {
	dry, err := dryRunOf(c)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	var d news.Draft
	if err := httperr.DecodeJSON(c, &d); err != nil {
		httperr.Abort(c, err)
		return
	}
	if d.Alert && !CanAlert(Role(c)) {
		httperr.Abort(c, ErrAlertForbidden)
		return
	}
	it, err := a.cfg.Taxonomy.NewItem(d)
	if err == nil && it.Story != "" {
		// Scheduled items too: a story closed before one fires does not
		// stop it (the scheduler publishes what was accepted).
		err = news.OpenStory(a.cfg.Stories, "story", it.Story)
	}
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if news.Given(d.PublishAt) {
		a.createScheduled(c, dry, d, it)
		return
	}
	editor := EditorName(c)
	ctx := c.Request.Context()
	it.ID = news.NewID()
	if dry.on {
		a.dryCreate(c, dry, it, d.Confirm)
		return
	}
	claim, created, err := a.claimKey(c, editor, it) // the key's claim, to record the publication in
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if claim != nil {
		got := *claim
		if !created {
			it.ID = got.ItemID
			if cur, err := a.cfg.Stream.Current(ctx, it.ID); err == nil {
				a.replay(c, cur)
				return
			} else if !errors.Is(err, stream.ErrNotFound) {
				httperr.Abort(c, err)
				return
			}
			// The news stream does not hold the item. If it was ever
			// published it was retracted or aged out since, and the key
			// must not bring it back: the claim says so once the first
			// attempt recorded it, and the audit trail says so should that
			// attempt have stopped between publishing and recording.
			gone := got.Published()
			if !gone {
				if gone, err = a.cfg.Stream.InAudit(ctx, it.ID); err != nil {
					httperr.Abort(c, err)
					return
				}
			}
			if gone {
				httperr.Abort(c, itemGone(it.ID))
				return
			}
			// Claimed but not published: the first attempt failed or is
			// still under way. Publishing with expectLast 0 lets only one win.
		}
	}
	var confirmed bool
	if it.Alert {
		if confirmed, err = a.guard(it.Text, d.Confirm); err != nil {
			httperr.Abort(c, err)
			return
		}
	}
	now := a.now()
	it.Editor = editor
	it.PublishedAt, it.UpdatedAt = now, now
	if it.Alert {
		it.AlertedAt = &now
	}
	seq, dup, err := a.publish(ctx, news.Event{Type: news.EventItem, Item: it, Alert: it.Alert, Client: c.ClientIP(), Confirmed: confirmed}, 0, it.ID)
	if dup || errors.Is(err, stream.ErrConflict) {
		cur, err := a.cfg.Stream.Current(ctx, it.ID)
		if errors.Is(err, stream.ErrNotFound) {
			// JetStream remembers the item's first publication (its
			// duplicate window) but the stream no longer holds it.
			err = itemGone(it.ID)
		}
		if err != nil {
			httperr.Abort(c, err)
			return
		}
		a.replay(c, cur)
		return
	}
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if claim != nil {
		if err := a.cfg.Stream.ClaimPublished(ctx, *claim, seq); err != nil {
			// The item is published; a retry finds it in the stream or,
			// once it has gone from there, in the audit trail.
			a.log.Warn("idempotency key not marked as published", "id", it.ID, "err", err)
		}
	}
	it.Seq, it.PublishedSeq = seq, seq
	a.log.Info("item published", "id", it.ID, "seq", seq, "editor", editor, "priority", it.Priority, "alert", it.Alert)
	a.settle(c, seq)
	c.Header("Location", "/api/v1/items/"+it.ID)
	c.JSON(http.StatusCreated, it)
}

// checkIdempotencyKey checks an Idempotency-Key header ("" is none).
func checkIdempotencyKey(key string) error {
	if len(key) > maxIdempotencyKey || !printableASCII(key) {
		return httperr.Field(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key",
			"Idempotency-Key must be 1-255 printable ASCII characters")
	}
	return nil
}

// itemGone refuses a retry whose item was published and has left the news
// stream since (retracted and aged out of history): publishing it again
// would bring a retracted item back to readers.
func itemGone(id string) error {
	return httperr.Field(http.StatusConflict, "idempotency_item_gone", "Idempotency-Key",
		"this Idempotency-Key already made item "+id+", which the news stream no longer holds (retracted or aged out of history); it is not published again")
}

// replay answers a repeated create with the item it made first.
func (a *API) replay(c *gin.Context, it news.Item) {
	a.cfg.Metrics.IdempotentReplays.Inc()
	c.Header("Idempotent-Replayed", "true")
	c.Header("Location", "/api/v1/items/"+it.ID)
	c.JSON(http.StatusCreated, it)
}

// settle waits briefly until this instance's history has the event, so the
// editor's next list read shows it. It never fails the request: the write is
// already durable.
func (a *API) settle(c *gin.Context, seq uint64) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	_ = a.cfg.Log.WaitFor(ctx, seq)
}

func (a *API) correct(c *gin.Context) {
	dry, err := dryRunOf(c)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	var p news.Patch
	if err := httperr.DecodeJSON(c, &p); err != nil {
		httperr.Abort(c, err)
		return
	}
	if p.Story != nil && *p.Story != "" && news.ValidStory(*p.Story) {
		// Moving an item into a story needs an open one; the form of the
		// slug is ApplyPatch's to check (invalid_story).
		if err := news.OpenStory(a.cfg.Stories, "story", *p.Story); err != nil {
			httperr.Abort(c, err)
			return
		}
	}
	if a.correctScheduled(c, dry, p) {
		return
	}
	a.editItem(c, dry, news.EventUpdate, p.Confirm, func(cur news.Item) (news.Item, bool, error) {
		if cur.Status == news.StatusRetracted {
			return news.Item{}, false, httperr.New(http.StatusConflict, "item_retracted", "a retracted item cannot be corrected")
		}
		next, changed, err := a.cfg.Taxonomy.ApplyPatch(cur, p)
		if errors.Is(err, news.ErrAlertSent) {
			err = httperr.Field(http.StatusConflict, "alert_already_sent", "alert", err.Error())
		}
		return next, changed, err
	})
}

func (a *API) retract(c *gin.Context) {
	if a.cancelScheduled(c) {
		return
	}
	a.change(c, news.EventRetract, false, func(cur news.Item) (news.Item, bool, error) {
		if cur.Status == news.StatusRetracted {
			return cur, false, nil // retracting twice changes nothing
		}
		cur.Status = news.StatusRetracted
		return cur, true, nil
	})
}

// change reads the item's current version, applies edit and publishes the
// result as an event that expects that version to still be the last; on a
// concurrent change it reads again and retries. An edit that turns alert
// on is the promotion: its event carries Alert (push sends it as the
// item's first notification) and the item its alerted_at. A retry after a
// conflict reads the item again, so an alert that a concurrent request
// sent meanwhile is not sent twice. A promotion passes the flood guard
// first (confirm overrides it).
func (a *API) change(c *gin.Context, typ string, confirm bool, edit func(news.Item) (news.Item, bool, error)) {
	id := c.Param("id")
	if !news.ValidID(id) {
		httperr.Abort(c, stream.ErrNotFound)
		return
	}
	ctx := c.Request.Context()
	editor := EditorName(c)
	for try := 0; try < a.opts.MaxTries; try++ {
		cur, err := a.cfg.Stream.Current(ctx, id)
		if err != nil {
			httperr.Abort(c, err)
			return
		}
		next, changed, err := edit(cur)
		if err != nil {
			httperr.Abort(c, err)
			return
		}
		if !changed {
			c.JSON(http.StatusOK, cur)
			return
		}
		// Reporters keep to the ticker: promoting an item, and correcting
		// or retracting one whose alert went out (which notifies again),
		// are an editor's.
		if (cur.Alert || next.Alert) && !CanAlert(Role(c)) {
			httperr.Abort(c, ErrAlertForbidden)
			return
		}
		next.Version = cur.Version + 1
		next.UpdatedAt = a.now()
		next.UpdatedBy = editor
		promote := next.Alert && !cur.Alert
		var confirmed bool
		if promote {
			if confirmed, err = a.guard(next.Text, confirm); err != nil {
				httperr.Abort(c, err)
				return
			}
			at := next.UpdatedAt
			next.AlertedAt = &at
		}
		msgID := id + "." + strconv.Itoa(next.Version) + "." + news.NewID()
		ev := news.Event{Type: typ, Item: next, Alert: promote, Client: c.ClientIP(), Before: &cur, Confirmed: confirmed}
		seq, _, err := a.publish(ctx, ev, cur.Seq, msgID)
		if errors.Is(err, stream.ErrConflict) {
			continue
		}
		if err != nil {
			httperr.Abort(c, err)
			return
		}
		next.Seq = seq
		a.log.Info("item "+typ, "id", id, "seq", seq, "version", next.Version, "editor", editor, "alert_sent", promote)
		a.settle(c, seq)
		c.JSON(http.StatusOK, next)
		return
	}
	httperr.Abort(c, stream.ErrConflict)
}

func (a *API) now() time.Time { return a.cfg.Now().UTC().Truncate(time.Millisecond) }

// fingerprint identifies what an item says, for Idempotency-Key reuse checks.
func fingerprint(it news.Item) string {
	fields := []any{it.Text, it.Lang, it.Regions, it.Topics, it.Source, it.URL, it.Priority}
	if it.Alert { // only then: keys claimed for ticker items keep their hash
		fields = append(fields, true)
	}
	if it.PublishAt != nil { // likewise
		fields = append(fields, it.PublishAt.Format(time.RFC3339Nano))
	}
	if it.Story != "" { // likewise
		fields = append(fields, "story:"+it.Story)
	}
	b, _ := json.Marshal(fields)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// claimKey claims the request's Idempotency-Key, if it has one, for the
// item: nil when there is none; created false when an earlier request
// claimed it for the same item (idempotency_key_reused when for another).
func (a *API) claimKey(c *gin.Context, editor string, it news.Item) (*stream.Claim, bool, error) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return nil, false, nil
	}
	if err := checkIdempotencyKey(key); err != nil {
		return nil, false, err
	}
	hash := fingerprint(it)
	got, created, err := a.cfg.Stream.ClaimKey(c.Request.Context(), editor, key, stream.Claim{ItemID: it.ID, Hash: hash})
	if err != nil {
		return nil, false, err
	}
	if !created && got.Hash != hash {
		return nil, false, httperr.Field(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key",
			"this Idempotency-Key was used for a different item in the last 24 hours")
	}
	return &got, created, nil
}
