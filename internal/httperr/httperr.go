// Package httperr is the one error type of Newsflash's HTTP edge and the one
// place where errors become JSON answers:
//
//	{"error": {"code": "stable_snake_case", "message": "human sentence", "field": "..."}}
//
// Handlers return or pass errors to Abort; domain and stream errors are
// mapped here, so every endpoint answers the same way. It keeps no state.
package httperr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Error is an HTTP error with a stable code, a message for the client, the
// field at fault and the cause, which is logged but never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	Cause   error
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter string
	// Extra are further members of the error object, beside code, message
	// and field (e.g. retry_after, previous_item). Their names must not be
	// code, message or field.
	Extra map[string]any
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error without a field.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Field returns an error about one input field.
func Field(status int, code, field, message string) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: message}
}

// Seconds is a wait as a Retry-After value: whole seconds, rounded up, at
// least 1.
func Seconds(d time.Duration) string {
	return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10)
}

// From maps any error to an *Error.
func From(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	var ve *news.ValidationError
	if errors.As(err, &ve) {
		return &Error{Status: http.StatusBadRequest, Code: ve.Code, Message: ve.Message, Field: ve.Field, Cause: err}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "the request body is larger than the limit", Cause: err}
	case errors.Is(err, stream.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such item", Cause: err}
	case errors.Is(err, stream.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "the item changed while it was being written; try again", Cause: err}
	case errors.Is(err, stream.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the news stream did not confirm the write; try again (with the same Idempotency-Key nothing is published twice)", Cause: err, RetryAfter: "2"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Cause: err}
}

type body struct {
	Error payload `json:"error"`
}

type payload struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	extra   map[string]any
}

// MarshalJSON writes code, message and field, then the extra members.
func (p payload) MarshalJSON() ([]byte, error) {
	type plain payload
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.extra) == 0 {
		return b, err
	}
	m := make(map[string]any, len(p.extra)+3)
	for k, v := range p.extra {
		m[k] = v
	}
	m["code"], m["message"] = p.Code, p.Message
	if p.Field != "" {
		m["field"] = p.Field
	}
	return json.Marshal(m)
}

// Abort answers the request with err as JSON and stops the handler chain.
// The cause is attached to the gin context for the request log.
func Abort(c *gin.Context, err error) {
	he := From(err)
	_ = c.Error(err)
	if he.RetryAfter != "" {
		c.Header("Retry-After", he.RetryAfter)
	}
	c.AbortWithStatusJSON(he.Status, body{Error: payload{Code: he.Code, Message: he.Message, Field: he.Field, extra: he.Extra}})
}

// DecodeJSON reads the request body as exactly one JSON value into dst,
// refusing unknown fields, other media types and trailing data. Its errors
// are *Error with stable codes: empty_body, malformed_json, invalid_utf8,
// unknown_field, invalid_type, unsupported_media_type, body_too_large.
//
// The body must be valid UTF-8: encoding/json would quietly turn invalid
// bytes into U+FFFD, and an item's text is stored as the editor sent it.
func DecodeJSON(c *gin.Context, dst any) error {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return New(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return decodeError(err)
	}
	if !utf8.Valid(body) {
		return New(http.StatusBadRequest, "invalid_utf8", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return From(err)
		}
		return New(http.StatusBadRequest, "malformed_json", "the body must hold one JSON object and nothing after it")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return From(err)
	case errors.Is(err, io.EOF):
		return New(http.StatusBadRequest, "empty_body", "the request body is empty; a JSON object is required")
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()), Cause: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "malformed JSON: the body ends too early", Cause: err}
	case errors.As(err, &typ):
		field := typ.Field
		return &Error{Status: http.StatusBadRequest, Code: "invalid_type", Field: field, Message: fmt.Sprintf("%s must be a JSON %s", fieldName(field), jsonKind(typ.Type.Kind())), Cause: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		msg := fmt.Sprintf("unknown field %q", field)
		if field == "" {
			msg = "unknown field with an empty name"
		}
		return &Error{Status: http.StatusBadRequest, Code: "unknown_field", Field: field, Message: msg, Cause: err}
	}
	return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "malformed JSON: " + err.Error(), Cause: err}
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Bool:
		return "boolean"
	case reflect.Ptr:
		return "value of the right type"
	}
	return "number"
}
