package live

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
)

// maxClientMessage bounds what a WebSocket client may send; the protocol has
// no client messages, so anything but control frames closes the connection.
const maxClientMessage = 1024

// ServeWS is GET /api/v1/ws: bad queries and origins are refused with JSON
// before the upgrade; then the welcome, the history and live events follow.
func (h *Hub) ServeWS(c *gin.Context) {
	q, err := h.parseResume(c, false)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	if err := h.checkOrigin(c.Request); err != nil {
		httperr.Abort(c, err)
		return
	}
	if !strings.EqualFold(c.GetHeader("Upgrade"), "websocket") {
		c.Header("Upgrade", "websocket")
		c.Header("Connection", "Upgrade")
		httperr.Abort(c, httperr.New(http.StatusUpgradeRequired, "upgrade_required", "this endpoint speaks WebSocket; use /api/v1/sse for a plain HTTP stream"))
		return
	}
	if !h.Ready() {
		httperr.Abort(c, errNotReady)
		return
	}
	h.catchUp(c.Request.Context(), q)
	// The hijacked connection keeps its deadlines: make sure none is left
	// from an earlier request on it.
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn, err := websocket.Accept(c.Writer, c.Request, &websocket.AcceptOptions{
		OriginPatterns:  h.cfg.AllowedOrigins,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		_ = c.Error(err) // Accept has answered already
		return
	}
	conn.SetReadLimit(maxClientMessage)
	// The read side only answers pings and notices the peer going away.
	ctx := conn.CloseRead(context.Background())

	r, frames, err := h.subscribe(transportWS, q, func() { _ = conn.CloseNow() })
	if err != nil {
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	// The connection is served by a goroutine of its own, and this handler
	// returns: the deep stack of the request (middleware, handshake) and the
	// request itself are not kept for the connection's lifetime.
	go h.writeWS(ctx, conn, r, frames, c.ClientIP())
}

// writeWS is the one writer of a WebSocket reader: the welcome and history,
// then whatever the hub queues, until the reader goes or is sent away.
func (h *Hub) writeWS(ctx context.Context, conn *websocket.Conn, r *reader, frames [][]byte, remote string) {
	defer h.unsubscribe(r)
	defer conn.CloseNow()

	// One timer per reader bounds every batch of writes: a peer that stops
	// reading is cut off instead of holding the writer forever.
	stuck := time.AfterFunc(time.Hour, func() { _ = conn.CloseNow() })
	stuck.Stop()
	defer stuck.Stop()
	write := func(batch [][]byte) error {
		stuck.Reset(h.cfg.WriteTimeout)
		defer stuck.Stop()
		for _, f := range batch {
			if err := conn.Write(context.Background(), websocket.MessageText, f); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write(frames); err != nil {
		return
	}
	frames = nil

	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	var batch [][]byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			go h.ping(ctx, conn)
			continue
		case <-r.wake:
		}
		var st int
		batch, st = r.take(batch)
		if len(batch) > 0 {
			if err := write(batch); err != nil {
				return
			}
			clear(batch)
		}
		switch st {
		case stateSlow:
			h.log.Info("closing slow reader", "transport", "ws", "remote", remote)
			h.closeWS(conn, websocket.StatusPolicyViolation, "slow consumer")
			return
		case stateShutdown:
			h.closeWS(conn, websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}

// ping checks that the peer still answers; a dead one is dropped.
func (h *Hub) ping(ctx context.Context, conn *websocket.Conn) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		_ = conn.CloseNow()
	}
}

// closeWS sends a close frame and waits briefly for the peer's answer.
func (h *Hub) closeWS(conn *websocket.Conn, code websocket.StatusCode, reason string) {
	t := time.AfterFunc(h.cfg.WriteTimeout, func() { _ = conn.CloseNow() })
	defer t.Stop()
	_ = conn.Close(code, reason)
}
