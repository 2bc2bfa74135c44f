package fcm

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Outcome is what the pipeline should do after a send.
type Outcome int

const (
	// Sent: FCM accepted the message.
	Sent Outcome = iota
	// Retry: try again later (after RetryAfter if set): FCM was busy or
	// failing, or could not be reached.
	Retry
	// Remove: the token is no longer valid; forget the device.
	Remove
	// Failed: the message was refused for another reason; do not retry it.
	// With Status 0 FCM was never asked (no access token, or a message
	// Send cannot build), so the device is not at fault.
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Sent:
		return "sent"
	case Retry:
		return "retry"
	case Remove:
		return "remove"
	case Failed:
		return "failed"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is FCM's answer to one Send.
type Result struct {
	Outcome Outcome
	// RetryAfter is the Retry-After FCM asked for with a Retry (0 if
	// none), at most a day.
	RetryAfter time.Duration
	// Status is the HTTP status of FCM's answer; 0 if there was none.
	Status int
	// Reason is FCM's error code (UNREGISTERED, QUOTA_EXCEEDED, …), its
	// status (NOT_FOUND, …) when it gave no code, or what went wrong
	// before an answer. Empty when sent. Never holds a token.
	Reason string
}

// Error codes of FCM's HTTP v1 API (google.firebase.fcm.v1.ErrorCode).
const (
	codeUnregistered     = "UNREGISTERED"
	codeSenderIDMismatch = "SENDER_ID_MISMATCH"
	codeInvalidArgument  = "INVALID_ARGUMENT"
	codeQuotaExceeded    = "QUOTA_EXCEEDED"
	codeUnavailable      = "UNAVAILABLE"
	codeInternal         = "INTERNAL"
	codeThirdPartyAuth   = "THIRD_PARTY_AUTH_ERROR"
)

const (
	typeFcmError   = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
	typeBadRequest = "type.googleapis.com/google.rpc.BadRequest"
)

// googleError is the body of an error answer: a google.rpc.Status.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// answer is what an error body says, read leniently: a body that is not
// google.rpc.Status JSON (a proxy's HTML page) leaves it empty.
type answer struct {
	code, status, message string
	aboutToken            bool // a field violation names message.token
}

func readAnswer(body []byte) answer {
	var g googleError
	if json.Unmarshal(body, &g) != nil {
		return answer{}
	}
	a := answer{status: g.Error.Status, message: g.Error.Message}
	for _, d := range g.Error.Details {
		switch d.Type {
		case typeFcmError:
			a.code = d.ErrorCode
		case typeBadRequest:
			for _, v := range d.FieldViolations {
				if v.Field == "message.token" {
					a.aboutToken = true
				}
			}
		}
	}
	return a
}

// classify turns FCM's answer into a Result (401 is Send's business).
func classify(status int, h http.Header, body []byte, now time.Time) Result {
	if status >= 200 && status < 300 {
		return Result{Outcome: Sent, Status: status}
	}
	a := readAnswer(body)
	r := Result{Status: status, Reason: a.code}
	if r.Reason == "" {
		r.Reason = a.status
	}
	if r.Reason == "" {
		r.Reason = strings.ReplaceAll(strings.ToUpper(http.StatusText(status)), " ", "_")
	}
	switch {
	case status == http.StatusNotFound && a.code == codeUnregistered,
		status == http.StatusForbidden && a.code == codeSenderIDMismatch,
		status == http.StatusBadRequest && invalidToken(a):
		r.Outcome = Remove
	case status == http.StatusTooManyRequests, status >= 500,
		a.code == codeQuotaExceeded, a.code == codeUnavailable, a.code == codeInternal:
		r.Outcome = Retry
		r.RetryAfter = retryAfter(h.Get("Retry-After"), now)
	default:
		r.Outcome = Failed
	}
	return r
}

// invalidToken says a 400 is about the registration token: a field
// violation on message.token, or (the shape FCM answers today, with only
// an FcmError) INVALID_ARGUMENT saying the registration token is not valid.
// Any other INVALID_ARGUMENT is about the message, not the device.
func invalidToken(a answer) bool {
	if a.code != codeInvalidArgument && a.status != codeInvalidArgument {
		return false
	}
	return a.aboutToken || strings.Contains(strings.ToLower(a.message), "registration token")
}

// maxRetryAfter bounds a Retry-After (and keeps seconds from overflowing).
const maxRetryAfter = 24 * time.Hour

// retryAfter reads Retry-After: seconds or an HTTP date; 0 when absent,
// bad or past, at most maxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(min(max(s, 0), int(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}
