package live

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
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
	hw := &hijackWriter{ResponseWriter: c.Writer}
	conn, err := websocket.Accept(hw, c.Request, &websocket.AcceptOptions{
		OriginPatterns:  h.cfg.AllowedOrigins,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		_ = c.Error(err) // Accept has answered already
		return
	}
	conn.SetReadLimit(maxClientMessage)
	w := &wsReader{h: h, conn: conn, sock: hw.sock, remote: c.ClientIP()}
	// No goroutine is kept per reader but coder/websocket's reader, which
	// answers pings and notices the peer going away; the writer runs only
	// while something is queued, and timers do the rest. The handler
	// returns, so neither the request nor its deep stack stay behind.
	w.stuck = time.AfterFunc(time.Hour, w.kill)
	w.stuck.Stop()
	w.pinger = time.AfterFunc(h.cfg.PingInterval, w.ping)
	r, err := h.subscribe(transportWS, q, hooks{kill: w.kill, run: w.drain})
	if err != nil {
		w.pinger.Stop()
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	ctx := conn.CloseRead(context.Background())
	context.AfterFunc(ctx, func() { w.end(r) })
	r.signal() // write the welcome and history
}

// wsReader is one WebSocket reader's connection.
type wsReader struct {
	// set before the reader is registered
	h      *Hub
	conn   *websocket.Conn
	sock   *sock
	remote string

	stuck  *time.Timer // cuts off a peer that stops reading mid-write
	pinger *time.Timer

	ended atomic.Bool
}

func (w *wsReader) kill() { _ = w.conn.CloseNow() }

// drain is the reader's one writer while it has work: it writes the queue
// in batches, one system call each, and returns when the queue is empty.
func (w *wsReader) drain(r *reader) {
	var batch [][]byte
	for {
		var (
			st   int
			more bool
		)
		batch, st, more = r.next(batch)
		if !more {
			return
		}
		if len(batch) > 0 {
			if err := w.write(batch); err != nil {
				w.end(r)
				return
			}
			clear(batch)
		}
		switch st {
		case stateSlow:
			w.h.log.Info("closing slow reader", "transport", "ws", "remote", w.remote)
			w.close(r, websocket.StatusPolicyViolation, "slow consumer")
			return
		case stateShutdown:
			w.close(r, websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}

// write sends a batch in one system call, bounded by the write timeout.
func (w *wsReader) write(batch [][]byte) error {
	w.stuck.Reset(w.h.cfg.WriteTimeout)
	defer w.stuck.Stop()
	w.sock.cork()
	for _, f := range batch {
		if err := w.conn.Write(context.Background(), websocket.MessageText, f); err != nil {
			_ = w.sock.uncork()
			return err
		}
	}
	return w.sock.uncork()
}

// ping checks that the peer still answers; a dead one is dropped.
func (w *wsReader) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), w.h.cfg.WriteTimeout)
	defer cancel()
	if err := w.conn.Ping(ctx); err != nil {
		w.kill()
		return
	}
	if !w.ended.Load() {
		w.pinger.Reset(w.h.cfg.PingInterval)
	}
}

// close sends a close frame and waits briefly for the peer's answer.
func (w *wsReader) close(r *reader, code websocket.StatusCode, reason string) {
	t := time.AfterFunc(w.h.cfg.WriteTimeout, w.kill)
	defer t.Stop()
	_ = w.conn.Close(code, reason)
	w.end(r)
}

// end is called once the connection is done with, by whoever notices
// first: the read side (the peer went), a failed write, or a close.
func (w *wsReader) end(r *reader) {
	if w.ended.Swap(true) {
		return
	}
	r.setState(stateClosed)
	w.pinger.Stop()
	w.stuck.Stop()
	w.kill()
	w.h.unsubscribe(r)
}
