package audit

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// Register adds GET /audit under g, which must admit editors only.
func (t *Trail) Register(g *gin.RouterGroup) {
	g.GET("/audit", t.serve)
}

func (t *Trail) serve(c *gin.Context) {
	q, err := ParseQuery(c)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	page, err := t.Read(c.Request.Context(), q)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			err = &httperr.Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
				Message: "the audit stream did not answer; try again", Cause: err, RetryAfter: "2"}
		}
		httperr.Abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
}

// maxEditor bounds the editor parameter (editor names have 1-64 characters).
const maxEditor = 64

// ParseQuery reads the query parameters item, editor, since, cursor and
// limit. Its errors are *httperr.Error with status 400.
func ParseQuery(c *gin.Context) (Query, error) {
	var q Query
	if s := c.Query("item"); s != "" {
		if !news.ValidID(s) {
			return q, httperr.Field(http.StatusBadRequest, "invalid_item", "item", "item must be an item id (20 characters of a-z and 2-7)")
		}
		q.Item = s
	}
	if s := c.Query("editor"); s != "" {
		if len(s) > maxEditor || !nameChars(s) {
			return q, httperr.Field(http.StatusBadRequest, "invalid_editor", "editor", "editor must be an editor name: 1-64 letters, digits and ._@-")
		}
		q.Editor = s
	}
	if s := c.Query("since"); s != "" {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, httperr.Field(http.StatusBadRequest, "invalid_since", "since", "since must be an RFC 3339 time, such as 2026-11-28T13:00:00Z")
		}
		q.Since = tm
	}
	var err error
	if q.Cursor, err = uintParam(c, "cursor", 1, 1<<62); err != nil {
		return q, err
	}
	limit, err := uintParam(c, "limit", 1, MaxLimit)
	if err != nil {
		return q, err
	}
	q.Limit = int(limit)
	return q, nil
}

// uintParam reads an optional whole number in [lo, hi]; 0 when absent.
func uintParam(c *gin.Context, name string, lo, hi uint64) (uint64, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, httperr.Field(http.StatusBadRequest, "invalid_"+name, name,
			name+" must be a whole number from "+strconv.FormatUint(lo, 10)+" to "+strconv.FormatUint(hi, 10))
	}
	return v, nil
}

// nameChars reports whether s has only the characters of editor names.
func nameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-') {
			return false
		}
	}
	return true
}
