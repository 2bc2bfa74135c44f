package editor

import (
	"net/http"
	"strconv"
	"time"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// Defaults of the flood guard (Options.AlertMinInterval and
// Options.AlertDuplicateWindow).
const (
	DefaultAlertMinInterval     = 2 * time.Minute
	DefaultAlertDuplicateWindow = time.Hour
)

// guard is the flood guard: it refuses a new alert sent less than
// AlertMinInterval after the previous one (alert_too_soon), or with the
// text of an alert sent within AlertDuplicateWindow (duplicate_alert),
// unless the request confirms it. It answers whether the alert goes out
// over a refusal (to be recorded on the event), or the refusal (verdict
// says which rule, the dry run reports it instead).
//
// The previous alerts come from the history projection, which every
// instance builds from the whole stream, so the guard holds across the
// cluster once an alert has settled (the API waits for that before it
// answers). It is advisory under a race: two alerts sent at the same moment
// (on one instance or two) both pass when neither has reached the other's
// projection yet. Closing that would take a compare-and-set on a shared
// key before every alert; the guard exists against an editor sending a
// second alert by mistake, minutes apart, not against concurrent writers,
// and confirm lets any editor through anyway.
func (a *API) guard(text string, confirm bool) (confirmed bool, err error) {
	v := a.verdict(text)
	switch {
	case v.ok():
		return false, nil
	case confirm:
		return true, nil
	default:
		return false, v.err()
	}
}

// guardVerdict is what the flood guard says of an alert: nothing (code
// empty), or the rule it trips with the previous alert and, for
// alert_too_soon, the seconds to wait.
type guardVerdict struct {
	code       string // "", "alert_too_soon" or "duplicate_alert"
	field      string // the request field the rule is about
	message    string
	previous   string // the previous alert's item id
	retryAfter int64  // seconds, alert_too_soon only
}

func (v guardVerdict) ok() bool { return v.code == "" }

// err is the verdict as the 409 the real request answers.
func (v guardVerdict) err() error {
	e := &httperr.Error{Status: http.StatusConflict, Code: v.code, Field: v.field, Message: v.message,
		Extra: map[string]any{"previous_item": v.previous}}
	if v.code == "alert_too_soon" {
		e.RetryAfter = strconv.FormatInt(v.retryAfter, 10)
		e.Extra["retry_after"] = v.retryAfter
	}
	return e
}

// verdict is the flood guard's verdict on a new alert with this text now.
// A repeat of the same text is named as such even when it is also too
// soon: that is the likelier mistake.
func (a *API) verdict(text string) guardVerdict {
	minInterval, window := a.opts.AlertMinInterval, a.opts.AlertDuplicateWindow
	if minInterval < 0 && window < 0 {
		return guardVerdict{}
	}
	now := a.now()
	look := max(minInterval, window)
	var latest *alertSeen
	var dup *alertSeen
	key := news.AlertKey(text)
	for _, al := range a.cfg.Log.Alerts(now.Add(-look)) {
		if minInterval > 0 && now.Sub(al.At) < minInterval && (latest == nil || al.At.After(latest.At)) {
			latest = &alertSeen{ID: al.ItemID, At: al.At}
		}
		if window > 0 && dup == nil && now.Sub(al.At) < window && news.AlertKey(al.Text) == key {
			dup = &alertSeen{ID: al.ItemID, At: al.At}
		}
	}
	switch {
	case dup != nil:
		return guardVerdict{code: "duplicate_alert", field: "text", previous: dup.ID,
			message: "the same text was alerted (item " + dup.ID + ") within the last " + window.String() + "; send with \"confirm\": true to alert it again"}
	case latest != nil:
		wait := minInterval - now.Sub(latest.At)
		secs := int64((wait + time.Second - 1) / time.Second)
		return guardVerdict{code: "alert_too_soon", field: "alert", previous: latest.ID, retryAfter: secs,
			message: "the previous alert (item " + latest.ID + ") went out less than " + minInterval.String() + " ago; wait " + strconv.FormatInt(secs, 10) + "s or send with \"confirm\": true"}
	}
	return guardVerdict{}
}

type alertSeen struct {
	ID string
	At time.Time
}
