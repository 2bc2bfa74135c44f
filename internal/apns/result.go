package apns

import (
	"net/http"
	"strconv"
	"time"
)

// Outcome sorts an answer from APNs for the pipeline.
type Outcome int

const (
	// Sent: APNs accepted the notification (200).
	Sent Outcome = iota
	// Retry: try again later (429, 5xx, no answer, or a provider-token
	// problem that is not the device's), after RetryAfter when set.
	Retry
	// Remove: the device token is gone or not for this app (410
	// Unregistered, 400 BadDeviceToken, 400 DeviceTokenNotForTopic).
	Remove
	// Failed: refused for another reason (other 4xx); counted against the
	// device.
	Failed
)

var outcomeNames = [...]string{Sent: "sent", Retry: "retry", Remove: "remove", Failed: "failed"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "outcome(" + strconv.Itoa(int(o)) + ")"
	}
	return outcomeNames[o]
}

// Result is what became of one Send.
type Result struct {
	Outcome    Outcome
	RetryAfter time.Duration // from Retry-After, when APNs sent one
	Status     int           // the HTTP status; 0 when there was no answer
	Reason     string        // APNs' reason (e.g. "BadDeviceToken"), or why there was no answer
}

// APNs reasons the client acts on (Apple's "Handling error responses from
// APNs").
const (
	ReasonBadDeviceToken              = "BadDeviceToken"
	ReasonDeviceTokenNotForTopic      = "DeviceTokenNotForTopic"
	ReasonUnregistered                = "Unregistered"
	ReasonExpiredProviderToken        = "ExpiredProviderToken"
	ReasonInvalidProviderToken        = "InvalidProviderToken"
	ReasonMissingProviderToken        = "MissingProviderToken"
	ReasonTooManyProviderTokenUpdates = "TooManyProviderTokenUpdates"
)

// providerProblem reports whether an answer is about our provider token,
// not the device: sending to the same device later, with a good token, can
// succeed, and counting it against every device would remove them all.
func providerProblem(status int, reason string) bool {
	switch reason {
	case ReasonExpiredProviderToken, ReasonInvalidProviderToken, ReasonMissingProviderToken:
		return status == http.StatusForbidden
	case ReasonTooManyProviderTokenUpdates:
		return status == http.StatusTooManyRequests
	}
	return false
}

// classify sorts an answer.
func classify(status int, reason string, retryAfter time.Duration) Result {
	r := Result{Status: status, Reason: reason}
	switch {
	case status >= 200 && status < 300:
		r.Outcome = Sent
	case status == http.StatusGone,
		status == http.StatusBadRequest && (reason == ReasonBadDeviceToken || reason == ReasonDeviceTokenNotForTopic):
		r.Outcome = Remove
	case status == http.StatusTooManyRequests || status >= 500 || providerProblem(status, reason):
		r.Outcome, r.RetryAfter = Retry, retryAfter
	default:
		r.Outcome = Failed
	}
	return r
}

// parseRetryAfter reads Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(n)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
