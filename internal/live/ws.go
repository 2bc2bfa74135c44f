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
	addrKey, err := h.admit(c.ClientIP())
	if err != nil {
		httperr.Abort(c, err)
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
		OriginPatterns:  h.opts.AllowedOrigins,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		h.release(addrKey)
		_ = c.Error(err) // Accept has answered already
		return
	}
	conn.SetReadLimit(maxClientMessage)
	w := &wsReader{h: h, conn: conn, sock: hw.sock, remote: c.ClientIP()}
	w.sock.timeout, w.sock.kill = h.opts.WriteTimeout, w.kill
	// No goroutine is kept per reader but coder/websocket's reader, which
	// answers pings and notices the peer going away: the hub's workers
	// write, a flusher helps a peer that is behind, a timer pings. The
	// handler returns, so neither the request nor its deep stack stay.
	w.pinger = time.AfterFunc(h.opts.PingInterval, w.ping)
	r, err := h.subscribe(transportWS, q, addrKey, hooks{kill: w.abort, run: w.drain})
	if err != nil {
		w.pinger.Stop()
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	// Not conn.CloseRead: on a data message its goroutine calls Close, which
	// waits for that same goroutine to return, so the reader stayed
	// registered for 15 s after the connection was gone (coder/websocket
	// v1.8.15). This is the same loop without that wait.
	go func() {
		if _, _, err := conn.Reader(context.Background()); err == nil {
			_ = conn.Close(websocket.StatusPolicyViolation, "unexpected data message")
		}
		w.end(r)
	}()
	r.signal() // write the welcome and history
}

// wsReader is one WebSocket reader's connection.
type wsReader struct {
	// set before the reader is registered
	h      *Hub
	conn   *websocket.Conn
	sock   *sock
	remote string
	pinger *time.Timer

	ended atomic.Bool
}

func (w *wsReader) kill() { _ = w.conn.CloseNow() }

// abort is the hub's kill, when a shutdown is past its deadline: unlike
// kill it does not leave what the sock keeps (a close frame among it) to
// the flusher, which may wait up to the write timeout for the peer.
func (w *wsReader) abort() {
	w.sock.abort()
	w.kill()
}

// drain is the reader's run on the hub's workers: it writes what is queued,
// each batch in one system call, and returns when the queue is empty or the
// peer is behind (the sock's flusher unblocks the reader when it caught up).
func (w *wsReader) drain(r *reader) {
	var arr [8][]byte
	batch := arr[:0]
	for {
		var (
			at   int64
			st   int
			more bool
		)
		batch, at, st, more = r.next(batch)
		if !more {
			return
		}
		if len(batch) > 0 {
			kept, err := w.sock.send(batch, r)
			n := len(batch)
			clear(batch)
			if err != nil {
				w.kill() // the read side ends the reader
				return
			}
			w.h.wrote(transportWS, n, at)
			if kept {
				return
			}
		}
		switch st {
		case stateSlow:
			w.h.log.Info("closing slow reader", "transport", "ws", "remote", w.remote)
			go w.close(r, websocket.StatusPolicyViolation, "slow consumer")
			return
		case stateShutdown:
			go w.close(r, websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}

// ping checks that the peer still answers; a dead one is dropped.
func (w *wsReader) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), w.h.opts.WriteTimeout)
	defer cancel()
	if err := w.conn.Ping(ctx); err != nil {
		w.kill()
		return
	}
	if !w.ended.Load() {
		w.pinger.Reset(w.h.opts.PingInterval)
	}
}

// close sends a close frame and waits briefly for the peer's answer.
func (w *wsReader) close(r *reader, code websocket.StatusCode, reason string) {
	t := time.AfterFunc(w.h.opts.WriteTimeout, w.kill)
	defer t.Stop()
	_ = w.conn.Close(code, reason)
	w.end(r)
}

// end is called once the connection is done with, by whoever notices
// first: the read side (the peer went, or the connection was closed) or a
// close handshake.
func (w *wsReader) end(r *reader) {
	if w.ended.Swap(true) {
		return
	}
	r.setState(stateClosed)
	w.pinger.Stop()
	w.kill()
	w.h.unsubscribe(r)
}
