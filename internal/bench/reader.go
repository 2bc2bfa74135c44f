package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// maxFrame bounds one frame a reader accepts (items are at most a few KiB).
const maxFrame = 64 << 10

// tally is what the readers of one run share.
type tally struct {
	// Set at construction.
	run   string // this run's tag in item texts
	items int    // how many items the run posts: numbers 0..items-1

	lat      histogram    // delivery latencies, first deliveries only
	frames   atomic.Int64 // item frames of this run, repeats included
	unique   atomic.Int64 // item frames of this run, first deliveries only
	drops    atomic.Int64 // readers whose connection ended before Run closed it
	stopping atomic.Bool  // Run is closing the readers: their errors are not drops
}

// reader is one WebSocket reader.
type reader struct {
	// Set before the reader's goroutine starts.
	conn      *websocket.Conn
	handshake time.Duration // from the start of the dial to the welcome frame

	// Owned by the reader's goroutine; read by Run once it has ended.
	lastSeq    uint64   // the last envelope seq, the welcome's at first
	seen       []uint64 // bit n: item n arrived
	got        int      // items of this run received, each once
	dup        int      // items of this run received again
	outOfOrder int      // frames whose seq was not above the one before
	foreign    int      // item, update and retract frames not of this run
	other      int      // frames of no known type, binary frames
	maxLat     time.Duration
	lastAt     int64 // unix nano of the last item of this run
	dropped    error // why the connection ended before Run closed it
}

// dialReader opens a reader and reads its welcome frame.
func dialReader(ctx context.Context, client *http.Client, wsURL string, items int) (*reader, error) {
	conn, welcome, took, err := dialWS(ctx, client, wsURL)
	if err != nil {
		return nil, err
	}
	r := &reader{conn: conn, handshake: took, lastSeq: parseFrame(welcome, "").seq}
	if items > 0 {
		r.seen = make([]uint64, (items+63)/64)
	}
	return r, nil
}

// dialWS opens a WebSocket and reads its first frame, which must be a
// welcome; it returns the frame and the time from the start of the dial to
// the welcome. An answer other than the upgrade is an *apiError.
func dialWS(ctx context.Context, client *http.Client, wsURL string) (*websocket.Conn, []byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	start := time.Now()
	conn, res, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: client, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if res.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(res.Body, 512))
			}
			return nil, nil, 0, fmt.Errorf("server answered %w", &apiError{status: res.StatusCode, body: strings.TrimSpace(string(body))})
		}
		return nil, nil, 0, err
	}
	conn.SetReadLimit(maxFrame)
	typ, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, nil, 0, fmt.Errorf("read welcome: %w", err)
	}
	if typ != websocket.MessageText || parseFrame(b, "").kind != frameWelcome {
		conn.CloseNow()
		return nil, nil, 0, fmt.Errorf("first frame is not a welcome: %.100q", b)
	}
	return conn, b, time.Since(start), nil
}

// loop reads frames until the connection ends. It reads into one buffer
// and with a context that has no deadline, so a frame costs no allocation
// (a deadline would register a context.AfterFunc per read): Run ends the
// loop by closing the connection.
func (r *reader) loop(t *tally) {
	buf := make([]byte, 0, 4096)
	for {
		typ, rd, err := r.conn.Reader(context.Background())
		if err == nil {
			buf, err = readInto(buf[:0], rd)
		}
		if err != nil {
			if !t.stopping.Load() {
				r.dropped = err
				t.drops.Add(1)
			}
			return
		}
		if typ != websocket.MessageText {
			r.other++
			continue
		}
		r.handle(parseFrame(buf, t.run), time.Now().UnixNano(), t)
	}
}

// handle counts one frame received at now.
func (r *reader) handle(f frame, now int64, t *tally) {
	switch f.kind {
	case frameOther:
		r.other++
		return
	case frameForeign:
		r.foreign++
	case frameItem:
		if f.n < 0 || f.n >= t.items || r.seen == nil {
			r.foreign++
			break
		}
		t.frames.Add(1)
		w, bit := f.n/64, uint64(1)<<(f.n%64)
		if r.seen[w]&bit != 0 {
			r.dup++
			break
		}
		r.seen[w] |= bit
		r.got++
		t.unique.Add(1)
		lat := time.Duration(now - f.sent)
		t.lat.record(lat)
		r.maxLat = max(r.maxLat, lat)
		r.lastAt = now
	}
	if f.seq <= r.lastSeq {
		r.outOfOrder++
	}
	r.lastSeq = max(r.lastSeq, f.seq)
}

// readInto reads r to its end, appending to buf.
func readInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// fleet is the readers of a run and their goroutines.
type fleet struct {
	t       *tally
	mu      sync.Mutex
	readers []*reader // guarded by mu while connecting
	wg      sync.WaitGroup

	// Figures of the connect phase, set by connect.
	attempted  int
	failed     int
	firstErr   error
	handshakes []time.Duration
	elapsed    time.Duration // from the first dial to the last welcome
}

// maxDialsInFlight bounds the handshakes under way at once.
const maxDialsInFlight = 256

// connect opens n readers at rate per second, spread round-robin over
// clients (one per source address). It gives up early when many dials
// fail (the server is down or refusing): at least 10 and 1 % of n.
func (fl *fleet) connect(ctx context.Context, n int, rate float64, clients []*http.Client, wsURL string, log io.Writer) {
	interval := time.Duration(float64(time.Second) / rate)
	giveUp := max(10, n/100)
	sem := make(chan struct{}, maxDialsInFlight)
	var dials sync.WaitGroup
	start := time.Now()
	lastReport := start
launch:
	for i := range n {
		fl.mu.Lock()
		failed := fl.failed
		fl.mu.Unlock()
		if failed >= giveUp {
			break
		}
		if !sleepUntil(ctx, start.Add(time.Duration(i)*interval)) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		if now := time.Now(); now.Sub(lastReport) >= 2*time.Second {
			fl.mu.Lock()
			fmt.Fprintf(log, "bench: %d of %d readers connected, %d failed\n", len(fl.readers), n, fl.failed)
			fl.mu.Unlock()
			lastReport = now
		}
		fl.attempted++
		client := clients[i%len(clients)]
		dials.Go(func() {
			defer func() { <-sem }()
			r, err := dialReader(ctx, client, wsURL, fl.t.items)
			fl.mu.Lock()
			defer fl.mu.Unlock()
			if err != nil {
				fl.failed++
				if fl.firstErr == nil {
					fl.firstErr = err
				}
				return
			}
			fl.readers = append(fl.readers, r)
			fl.handshakes = append(fl.handshakes, r.handshake)
			fl.wg.Go(func() { r.loop(fl.t) })
		})
	}
	dials.Wait()
	fl.elapsed = time.Since(start)
}

// close ends every reader and waits, at most timeout, for their goroutines.
func (fl *fleet) close(timeout time.Duration) error {
	fl.t.stopping.Store(true)
	for _, r := range fl.readers {
		r.conn.CloseNow()
	}
	done := make(chan struct{})
	go func() { fl.wg.Wait(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return fmt.Errorf("readers did not stop within %s", timeout)
	}
}

// dropped counts readers whose connection ended before Run closed it, and
// returns the first reason. Call after close.
func (fl *fleet) dropped() (int, error) {
	n := 0
	var first error
	for _, r := range fl.readers {
		if r.dropped != nil {
			n++
			if first == nil {
				first = r.dropped
			}
		}
	}
	return n, first
}

// sleepUntil waits until t or ctx ends; it reports whether ctx is still
// live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
