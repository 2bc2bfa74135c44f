package fcmtest

import (
	"encoding/json"
	"net/http"
)

// Detail types of a google.rpc.Status, as FCM sends them.
const (
	TypeFcmError   = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
	TypeBadRequest = "type.googleapis.com/google.rpc.BadRequest"
)

// FcmError is the detail carrying FCM's error code.
func FcmError(errorCode string) any {
	return map[string]string{"@type": TypeFcmError, "errorCode": errorCode}
}

// BadRequest is the detail naming the field at fault.
func BadRequest(field, description string) any {
	return map[string]any{"@type": TypeBadRequest,
		"fieldViolations": []map[string]string{{"field": field, "description": description}}}
}

// ErrorBody is a google.rpc.Status error answer, as Google's APIs send it:
// {"error": {"code", "message", "status", "details": [...]}}.
func ErrorBody(code int, status, message string, details ...any) string {
	e := map[string]any{"code": code, "message": message, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// The answers of FCM that the client acts on, in the shapes FCM sends.

// Unregistered: the app was uninstalled or its token expired.
func Unregistered() Answer {
	return Answer{Status: http.StatusNotFound,
		Body: ErrorBody(404, "NOT_FOUND", "Requested entity was not found.", FcmError("UNREGISTERED"))}
}

// SenderIDMismatch: the token belongs to another project.
func SenderIDMismatch() Answer {
	return Answer{Status: http.StatusForbidden,
		Body: ErrorBody(403, "PERMISSION_DENIED", "SenderId mismatch", FcmError("SENDER_ID_MISMATCH"))}
}

// InvalidToken: the token is not a registration token, as FCM answers it
// today (an FcmError only).
func InvalidToken() Answer {
	return Answer{Status: http.StatusBadRequest, Body: ErrorBody(400, "INVALID_ARGUMENT",
		"The registration token is not a valid FCM registration token", FcmError("INVALID_ARGUMENT"))}
}

// InvalidTokenField: the token is not a registration token, with a field
// violation on message.token.
func InvalidTokenField() Answer {
	return Answer{Status: http.StatusBadRequest, Body: ErrorBody(400, "INVALID_ARGUMENT",
		"Request contains an invalid argument.", FcmError("INVALID_ARGUMENT"),
		BadRequest("message.token", "Invalid registration token"))}
}

// InvalidArgument: a field of the message other than the token is wrong.
func InvalidArgument(field string) Answer {
	return Answer{Status: http.StatusBadRequest, Body: ErrorBody(400, "INVALID_ARGUMENT",
		"Invalid value at '"+field+"'", BadRequest(field, "Invalid value at '"+field+"'"))}
}

// QuotaExceeded: too many messages; retryAfter may be empty.
func QuotaExceeded(retryAfter string) Answer {
	return Answer{Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Body: ErrorBody(429, "RESOURCE_EXHAUSTED",
		"Quota exceeded for quota metric 'Send requests'", FcmError("QUOTA_EXCEEDED"))}
}

// Unavailable: FCM is overloaded; retryAfter may be empty.
func Unavailable(retryAfter string) Answer {
	return Answer{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
		Body: ErrorBody(503, "UNAVAILABLE", "The service is currently unavailable.", FcmError("UNAVAILABLE"))}
}

// Internal: FCM failed.
func Internal() Answer {
	return Answer{Status: http.StatusInternalServerError,
		Body: ErrorBody(500, "INTERNAL", "Internal error encountered.", FcmError("INTERNAL"))}
}

// Unauthenticated: the access token was refused.
func Unauthenticated() Answer {
	return Answer{Status: http.StatusUnauthorized, Body: ErrorBody(401, "UNAUTHENTICATED",
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")}
}

// ThirdPartyAuth: FCM could not reach APNs or the web push service with
// the project's credentials (a project problem, not the device's).
func ThirdPartyAuth() Answer {
	return Answer{Status: http.StatusUnauthorized, Body: ErrorBody(401, "UNAUTHENTICATED",
		"Auth error from APNS or Web Push Service", FcmError("THIRD_PARTY_AUTH_ERROR"))}
}
