package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Bounds of the soak's readers.
const (
	// maxClosing bounds the churner's close handshakes in flight.
	maxClosing = 64
	// reconnectAttempts is how many dials in a row a lineage tries before it
	// gives up (a refusal by a limit ends the soak at once instead).
	reconnectAttempts = 6
)

// soakTally is what the lineages share with the soak, for progress lines
// and the drain.
type soakTally struct {
	frames     atomic.Int64 // event frames received
	gaps       atomic.Int64 // seqs skipped: lost so far
	dups       atomic.Int64 // events received again
	up         atomic.Int64 // lineages with a connection now
	reconnects atomic.Int64 // welcomes after a lineage's first
	churned    atomic.Int64 // connections the churner closed
	skipped    atomic.Int64 // churn turns that found the lineage between connections
	drops      atomic.Int64 // connections ended by the server or the network
	reconnect  histogram    // dial to welcome of reconnects
}

// lineage is one soak reader across its connections.
type lineage struct {
	// Set at construction.
	client *http.Client

	// Owned by the lineage's goroutine; read by the soak once it has ended.
	acct     account
	buf      []byte
	other    int   // frames that are neither welcome nor event
	failed   error // why it gave up reconnecting
	firstErr error // the first unexpected end of a connection

	cursor atomic.Uint64 // acct.cursor, for the drain
	done   atomic.Bool   // run has returned

	mu      sync.Mutex
	conn    *websocket.Conn // the connection now, nil between connections; guarded by mu
	cycling bool            // the churner is closing conn; guarded by mu
	stopped bool            // the soak is over: no more connections; guarded by mu
}

// resumeURL is the lineage's next URL: the first connection has no since.
func (l *lineage) resumeURL(base string) string {
	if !l.acct.started {
		return base
	}
	return base + "&since=" + strconv.FormatUint(l.acct.cursor, 10) + "&epoch=" + url.QueryEscape(l.acct.epoch)
}

// run connects, reads, and reconnects at once whenever the connection ends,
// until stop. The outcome of the first connection goes to first (nil:
// connected). A refusal by one of the server's limits goes to fail and ends
// the lineage.
func (l *lineage) run(ctx context.Context, base string, t *soakTally, first chan<- error, fail func(error)) {
	defer l.done.Store(true)
	firstDone := false
	report := func(err error) {
		if !firstDone {
			firstDone = true
			first <- err
		}
	}
	attempts := 0
	for {
		conn, wb, took, err := dialWS(ctx, l.client, l.resumeURL(base))
		if err != nil {
			if ctx.Err() != nil || l.isStopped() {
				report(err)
				return
			}
			if _, _, ok := refusal(err); ok {
				err = asRefused("connect a reader", err)
				fail(err)
				l.failed = err
				report(err)
				return
			}
			if attempts++; attempts >= reconnectAttempts {
				l.failed = fmt.Errorf("gave up after %d attempts: %w", attempts, err)
				report(l.failed)
				return
			}
			if !sleepUntil(ctx, time.Now().Add(100*time.Millisecond<<attempts)) {
				report(err)
				return
			}
			continue
		}
		attempts = 0
		var w welcome
		if err := json.Unmarshal(wb, &w); err != nil {
			conn.CloseNow()
			l.failed = fmt.Errorf("welcome %.100q: %w", wb, err)
			report(l.failed)
			return
		}
		if firstDone {
			t.reconnects.Add(1)
			t.reconnect.record(took)
		}
		if gap := l.acct.onWelcome(w); gap > 0 {
			t.gaps.Add(int64(gap))
		}
		l.cursor.Store(l.acct.cursor)
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			conn.CloseNow()
			report(nil)
			return
		}
		l.conn = conn
		l.mu.Unlock()
		report(nil)
		t.up.Add(1)
		err = l.read(conn, t)
		t.up.Add(-1)
		l.mu.Lock()
		cycled, stopped := l.cycling, l.stopped
		l.conn, l.cycling = nil, false
		l.mu.Unlock()
		if stopped {
			return
		}
		if !cycled {
			t.drops.Add(1)
			if l.firstErr == nil {
				l.firstErr = err
			}
			conn.CloseNow()
		}
	}
}

// read counts frames until the connection ends, and returns why it ended.
// Reads have no deadline (see reader.loop): the churner or stop end them by
// closing the connection.
func (l *lineage) read(conn *websocket.Conn, t *soakTally) error {
	for {
		typ, rd, err := conn.Reader(context.Background())
		if err == nil {
			l.buf, err = readInto(l.buf[:0], rd)
		}
		if err != nil {
			return err
		}
		kind, seq, ok := parseEvent(l.buf)
		if typ != websocket.MessageText || !ok {
			l.other++
			continue
		}
		gap, dup := l.acct.onEvent(kind, seq)
		t.frames.Add(1)
		if gap > 0 {
			t.gaps.Add(int64(gap))
		}
		if dup {
			t.dups.Add(1)
		}
		l.cursor.Store(l.acct.cursor)
	}
}

func (l *lineage) isStopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// beginCycle marks the connection as being closed by the churner and
// returns it, or nil when the lineage is between connections.
func (l *lineage) beginCycle() *websocket.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil || l.cycling || l.stopped {
		return nil
	}
	l.cycling = true
	return l.conn
}

// stop ends the lineage: no more connections, and the one open now is
// closed at once.
func (l *lineage) stop() {
	l.mu.Lock()
	l.stopped = true
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		c.CloseNow()
	}
}

// churn closes one connection after another with a normal close (status
// 1000), perSec a second, going round the lineages, until ctx ends; each
// lineage reconnects at once. The close handshakes run in closers, at most
// maxClosing at once.
func churn(ctx context.Context, lineages []*lineage, perSec int, t *soakTally, closers *sync.WaitGroup) {
	if perSec <= 0 || len(lineages) == 0 {
		return
	}
	interval := time.Second / time.Duration(perSec)
	sem := make(chan struct{}, maxClosing)
	start := time.Now()
	for i := 0; ; i++ {
		if !sleepUntil(ctx, start.Add(time.Duration(i)*interval)) {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c := lineages[i%len(lineages)].beginCycle()
		if c == nil {
			t.skipped.Add(1)
			<-sem
			continue
		}
		t.churned.Add(1)
		closers.Go(func() {
			defer func() { <-sem }()
			_ = c.Close(websocket.StatusNormalClosure, "bench churn")
		})
	}
}
