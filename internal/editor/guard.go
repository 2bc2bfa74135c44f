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
// unless the request confirms it. A repeat of the same text is named as
// such even when it is also too soon: that is the likelier mistake. It answers whether the alert goes out
// over a refusal (to be recorded on the event), or the refusal.
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
	minInterval, window := a.opts.AlertMinInterval, a.opts.AlertDuplicateWindow
	if minInterval < 0 && window < 0 {
		return false, nil
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
	case latest == nil && dup == nil:
		return false, nil
	case confirm:
		return true, nil
	case dup != nil:
		return false, &httperr.Error{Status: http.StatusConflict, Code: "duplicate_alert", Field: "text",
			Message: "the same text was alerted (item " + dup.ID + ") within the last " + window.String() + "; send with \"confirm\": true to alert it again",
			Extra:   map[string]any{"previous_item": dup.ID}}
	default:
		wait := minInterval - now.Sub(latest.At)
		secs := int64((wait + time.Second - 1) / time.Second)
		return false, &httperr.Error{Status: http.StatusConflict, Code: "alert_too_soon", Field: "alert",
			Message:    "the previous alert (item " + latest.ID + ") went out less than " + minInterval.String() + " ago; wait " + strconv.FormatInt(secs, 10) + "s or send with \"confirm\": true",
			RetryAfter: strconv.FormatInt(secs, 10),
			Extra:      map[string]any{"retry_after": secs, "previous_item": latest.ID}}
	}
}

type alertSeen struct {
	ID string
	At time.Time
}
