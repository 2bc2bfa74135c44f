package editor

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Channel is one way alerts reach readers (Web Push; the app channels
// later): how many subscribers an alert would reach, and a test
// notification to one of them. The dry run asks every channel in
// Deps.Channels.
type Channel interface {
	// Name is the channel's key in the dry run's audience ("web").
	Name() string
	// Audience is how many subscribers an alert of the item would reach
	// now. It must be cheap: the console asks as the editor types.
	Audience(it *news.Item) int
	// SendTest sends the notification an alert of the item would make,
	// marked as a test, to one subscription now; ErrUnknownSubscription
	// when the channel has no subscription with that id. It stores
	// nothing.
	SendTest(ctx context.Context, subscriptionID string, it news.Item) error
}

// ErrUnknownSubscription is a Channel's answer to SendTest for an id it
// does not know.
var ErrUnknownSubscription = errors.New("unknown subscription")

// dryRun is what a write request's query asks: whether it is a dry run,
// and to which subscription its test notification goes (empty: none).
type dryRun struct {
	on     bool
	testTo string
}

// dryRunOf reads dry_run and test_to. test_to needs dry_run=true and the
// editor role (a test notification is an alert, to one screen).
func dryRunOf(c *gin.Context) (dryRun, error) {
	var d dryRun
	if v, ok := c.GetQuery("dry_run"); ok {
		switch v {
		case "true":
			d.on = true
		case "false":
		default:
			return dryRun{}, httperr.Field(http.StatusBadRequest, "invalid_dry_run", "dry_run", "dry_run must be true or false")
		}
	}
	if to, ok := c.GetQuery("test_to"); ok {
		if !d.on {
			return dryRun{}, httperr.Field(http.StatusBadRequest, "test_needs_dry_run", "test_to",
				"test_to sends a test notification of a dry run: add dry_run=true")
		}
		if !CanAlert(Role(c)) {
			return dryRun{}, httperr.Field(http.StatusForbidden, "forbidden", "test_to",
				"reporters work on ticker items only: a test notification needs the editor role")
		}
		if to == "" {
			return dryRun{}, unknownSubscription()
		}
		d.testTo = to
	}
	return d, nil
}

func unknownSubscription() error {
	return httperr.Field(http.StatusNotFound, "unknown_subscription", "test_to",
		"no push subscription with this id (the id that POST /api/v1/push/subscriptions answered)")
}

// dryAnswer is the answer to a dry run.
type dryAnswer struct {
	DryRun bool      `json:"dry_run"`
	Item   news.Item `json:"item"`
	// Audience is, by channel, how many subscribers the alert would
	// reach: 0 when the request sends no alert.
	Audience map[string]int `json:"audience"`
	Guard    guardReport    `json:"guard"`
	Test     *testReport    `json:"test,omitempty"`
}

// guardReport is the flood guard's verdict as a dry run reports it: OK, or
// the rule it trips (Code) or that confirm overrides (Overridden).
type guardReport struct {
	OK           bool   `json:"ok"`
	Code         string `json:"code,omitempty"`
	Overridden   string `json:"overridden,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfter   int64  `json:"retry_after,omitempty"`
	PreviousItem string `json:"previous_item,omitempty"`
}

type testReport struct {
	To   string `json:"to"`
	Sent bool   `json:"sent"`
}

// dryCreate answers a POST dry run with the item it would publish: a fresh
// id (not reserved), seq 0. It claims no Idempotency-Key.
func (a *API) dryCreate(c *gin.Context, dry dryRun, it news.Item, confirm bool) {
	if err := checkIdempotencyKey(c.GetHeader("Idempotency-Key")); err != nil {
		httperr.Abort(c, err)
		return
	}
	now := a.now()
	it.Editor = EditorName(c)
	it.PublishedAt, it.UpdatedAt = now, now
	if it.Alert {
		it.AlertedAt = &now
	}
	a.dryAnswer(c, dry, it, it.Alert, confirm)
}

// editItem is change, or its dry run when the request asks for one.
func (a *API) editItem(c *gin.Context, dry dryRun, typ string, confirm bool, edit func(news.Item) (news.Item, bool, error)) {
	if dry.on {
		a.dryChange(c, dry, confirm, edit)
		return
	}
	a.change(c, typ, confirm, edit)
}

// dryChange answers a PATCH dry run: the item as change would make it
// (seq 0: not stored), with the same checks, and what its promotion, if it
// is one, would do.
func (a *API) dryChange(c *gin.Context, dry dryRun, confirm bool, edit func(news.Item) (news.Item, bool, error)) {
	id := c.Param("id")
	if !news.ValidID(id) {
		httperr.Abort(c, stream.ErrNotFound)
		return
	}
	cur, err := a.cfg.Stream.Current(c.Request.Context(), id)
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
		a.dryAnswer(c, dry, cur, false, confirm)
		return
	}
	if (cur.Alert || next.Alert) && !CanAlert(Role(c)) {
		httperr.Abort(c, ErrAlertForbidden)
		return
	}
	next.Seq = 0
	next.Version = cur.Version + 1
	next.UpdatedAt = a.now()
	next.UpdatedBy = EditorName(c)
	promote := next.Alert && !cur.Alert
	if promote {
		at := next.UpdatedAt
		next.AlertedAt = &at
	}
	a.dryAnswer(c, dry, next, promote, confirm)
}

// dryAnswer reports the audience and the guard's verdict of an item that
// alerts (or zero and ok when it does not), sends the test notification
// when asked, and answers 200.
func (a *API) dryAnswer(c *gin.Context, dry dryRun, it news.Item, alerts, confirm bool) {
	ans := dryAnswer{DryRun: true, Item: it, Audience: map[string]int{}, Guard: guardReport{OK: true}}
	for _, ch := range a.cfg.Channels {
		n := 0
		if alerts {
			n = ch.Audience(&it)
		}
		ans.Audience[ch.Name()] = n
	}
	if alerts {
		ans.Guard = reportOf(a.verdict(it.Text), confirm)
	}
	if dry.testTo != "" {
		if err := a.sendTest(c.Request.Context(), dry.testTo, it); err != nil {
			httperr.Abort(c, err)
			return
		}
		ans.Test = &testReport{To: dry.testTo, Sent: true}
		a.log.Info("test notification sent", "item", it.ID, "to", dry.testTo, "editor", EditorName(c))
	}
	c.JSON(http.StatusOK, ans)
}

func reportOf(v guardVerdict, confirm bool) guardReport {
	if v.ok() {
		return guardReport{OK: true}
	}
	r := guardReport{Message: v.message, RetryAfter: v.retryAfter, PreviousItem: v.previous}
	if confirm {
		r.OK, r.Overridden = true, v.code
	} else {
		r.Code = v.code
	}
	return r
}

// sendTest sends the test notification through the channel that knows the
// subscription.
func (a *API) sendTest(ctx context.Context, to string, it news.Item) error {
	for _, ch := range a.cfg.Channels {
		err := ch.SendTest(ctx, to, it)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrUnknownSubscription):
			continue
		default:
			return &httperr.Error{Status: http.StatusBadGateway, Code: "test_not_delivered", Field: "test_to",
				Message: "the test notification was not delivered: " + err.Error(), Cause: err}
		}
	}
	return unknownSubscription()
}
