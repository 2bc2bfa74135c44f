package live

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
)

var heartbeat = []byte(": heartbeat\n\n")

// ServeSSE is GET /api/v1/sse: the same stream as the WebSocket as
// text/event-stream, resuming from Last-Event-ID or since.
func (h *Hub) ServeSSE(c *gin.Context) {
	q, err := h.parseResume(c, true)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if !h.Ready() {
		httperr.Abort(c, errNotReady)
		return
	}
	addrKey, err := h.admit(c.ClientIP())
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	h.catchUp(c.Request.Context(), q)
	rc := http.NewResponseController(c.Writer)
	wake := make(chan struct{}, 1)
	r, err := h.subscribe(transportSSE, q, addrKey, hooks{
		kill: func() { _ = rc.SetWriteDeadline(time.Now()) },
		wake: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		httperr.Abort(c, &httperr.Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "the server is shutting down; reconnect", RetryAfter: "1", Cause: err})
		return
	}
	defer h.unsubscribe(r)

	hd := c.Writer.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache, no-store")
	hd.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)

	write := func(batch [][]byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout)); err != nil {
			return err
		}
		for _, f := range batch {
			if _, err := c.Writer.Write(f); err != nil {
				return err
			}
		}
		return rc.Flush()
	}
	first, _, _ := r.take(nil)
	if err := write(first); err != nil {
		return
	}
	h.wrote(transportSSE, len(first), 0)

	ctx := c.Request.Context()
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	var batch [][]byte
	for {
		var (
			at     int64
			events bool
		)
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			batch = append(batch[:0], heartbeat)
		case <-wake:
			var st int
			batch, at, st = r.take(batch)
			events = true
			if st == stateSlow {
				h.log.Info("closing slow reader", "transport", "sse", "remote", c.ClientIP())
				return
			}
			if st == stateShutdown {
				return
			}
		}
		if len(batch) > 0 {
			if err := write(batch); err != nil {
				return
			}
			if events {
				h.wrote(transportSSE, len(batch), at)
			}
			clear(batch)
		}
	}
}
