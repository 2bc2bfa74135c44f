package live

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// errNotReady answers readers before history has caught up with the stream.
var errNotReady = &httperr.Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "the server is starting; try again", RetryAfter: "1"}

// maxEpoch bounds the epoch query parameter.
const maxEpoch = 64

// parseResume reads regions, topics, langs, stories, since, backfill and epoch; for
// SSE a Last-Event-ID header takes the place of since.
func (h *Hub) parseResume(c *gin.Context, lastEventID bool) (resume, error) {
	var q resume
	var err error
	if q.filter, err = h.deps.Taxonomy.ParseFilter(c.Query("regions"), c.Query("topics"), c.Query("langs")); err != nil {
		return q, err
	}
	if q.filter.Stories, err = news.ParseStories(c.Query("stories")); err != nil {
		return q, err
	}
	if err = news.KnownStories(h.deps.Stories, "stories", q.filter.Stories); err != nil {
		return q, err
	}
	since, field := c.Query("since"), "since"
	if id := c.GetHeader("Last-Event-ID"); lastEventID && id != "" {
		since, field = id, "Last-Event-ID"
	}
	if since != "" {
		if q.since, err = strconv.ParseUint(since, 10, 64); err != nil {
			return q, httperr.Field(http.StatusBadRequest, "invalid_since", field, field+" must be a stream seq (a whole number)")
		}
		q.hasSince = true
	}
	q.backfill = DefaultBackfill
	if b := c.Query("backfill"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 || n > MaxBackfill {
			return q, httperr.Field(http.StatusBadRequest, "invalid_backfill", "backfill", "backfill must be a whole number from 0 to "+strconv.Itoa(MaxBackfill))
		}
		q.backfill = n
	}
	q.epoch = c.Query("epoch")
	if len(q.epoch) > maxEpoch {
		return q, httperr.Field(http.StatusBadRequest, "invalid_epoch", "epoch", "epoch is too long")
	}
	return q, nil
}

// catchUp waits, when a reader resumes from a seq this instance has not yet
// seen (it was read from another instance), until history reaches it.
func (h *Hub) catchUp(ctx context.Context, q resume) {
	if !q.hasSince || q.since <= h.deps.Log.Head() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.CatchUpWait)
	defer cancel()
	_ = h.deps.Log.WaitFor(ctx, q.since)
}

// checkOrigin admits requests without Origin, from the same host, or from
// an origin whose host matches one of the allowed patterns: the rule
// coder/websocket applies too, checked here first to answer in JSON.
func (h *Hub) checkOrigin(r *http.Request) error {
	if OriginAllowed(r, h.opts.AllowedOrigins) {
		return nil
	}
	return httperr.Field(http.StatusForbidden, "origin_not_allowed", "Origin", "this page's origin may not open a reader connection")
}

// OriginAllowed reports whether the request's Origin is absent, the
// request's own host, or matched by one of the host patterns.
func OriginAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	host := strings.ToLower(u.Host)
	for _, p := range patterns {
		target := host
		if strings.Contains(p, "://") {
			target = strings.ToLower(origin)
		}
		if ok, err := path.Match(strings.ToLower(p), target); err == nil && ok {
			return true
		}
	}
	return false
}
