package live

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"

	"newsflash/internal/history"
	"newsflash/internal/metrics"
	"newsflash/internal/news"
)

// These tests drive the hub through its SSE handler with an in-memory
// response writer and an in-memory history: no network, no NATS. The
// end-to-end ones (internal/server) cover the same over real connections.

// sseRecorder is a streaming http.ResponseWriter: what the handler writes
// is readable while it runs, writes can be held (a peer that reads
// nothing for a while), and a write deadline in the past (the hub's kill)
// fails a held write.
type sseRecorder struct {
	header http.Header
	wrote  chan struct{} // signalled after every write
	killed chan struct{} // closed by a deadline in the past

	mu   sync.Mutex
	buf  bytes.Buffer
	gate chan struct{} // non-nil: writes wait until it is closed
	dead bool
}

func newSSERecorder() *sseRecorder {
	return &sseRecorder{header: http.Header{}, wrote: make(chan struct{}, 1), killed: make(chan struct{})}
}

func (w *sseRecorder) Header() http.Header { return w.header }
func (w *sseRecorder) WriteHeader(int)     {}
func (w *sseRecorder) Flush()              {}

// hold makes writes wait until let.
func (w *sseRecorder) hold() {
	w.mu.Lock()
	w.gate = make(chan struct{})
	w.mu.Unlock()
}

// let lets held writes through.
func (w *sseRecorder) let() {
	w.mu.Lock()
	if w.gate != nil {
		close(w.gate)
		w.gate = nil
	}
	w.mu.Unlock()
}

func (w *sseRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	gate := w.gate
	w.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-w.killed:
			return 0, errors.New("write deadline exceeded")
		}
	}
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *sseRecorder) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		w.mu.Lock()
		if !w.dead {
			w.dead = true
			close(w.killed)
		}
		w.mu.Unlock()
	}
	return nil
}

func (w *sseRecorder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the output contains want.
func (w *sseRecorder) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !strings.Contains(w.String(), want) {
		select {
		case <-w.wrote:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %q in the output:\n%s", want, w.String())
		}
	}
}

type testHub struct {
	h   *Hub
	log *history.Log
	m   *metrics.Metrics
	e   *gin.Engine
	seq uint64
}

func newTestHub(t *testing.T, opts Options) *testHub {
	t.Helper()
	gin.SetMode(gin.TestMode)
	log := history.New(history.Options{})
	m := metrics.New()
	h, err := New(Deps{Log: log, Taxonomy: news.DefaultTaxonomy(), Epoch: "e1", LastSeq: lastSeqZero,
		Logger: slog.New(slog.DiscardHandler), Metrics: m}, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.SetReady()
	e := gin.New()
	e.GET("/sse", h.ServeSSE)
	th := &testHub{h: h, log: log, m: m, e: e}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("close hub: %v", err)
		}
	})
	return th
}

// publish appends an item in region to the history and delivers it; it
// returns the item's id.
func (th *testHub) publish(region string) string {
	th.seq++
	now := time.Now().UTC()
	it := news.Item{ID: news.NewID(), Seq: th.seq, PublishedSeq: th.seq, Version: 1, Status: news.StatusLive,
		Text: "item " + strconv.FormatUint(th.seq, 10), Lang: "en", Regions: []string{region},
		Priority: news.PriorityBreaking, PublishedAt: now, UpdatedAt: now}
	th.h.Deliver(th.log.Append(news.Event{Type: news.EventItem, Seq: th.seq, Item: it}))
	return it.ID
}

// connect runs the SSE handler for query until the returned stop is called
// or the handler ends by itself (done is closed).
func (th *testHub) connect(t *testing.T, query string, w *sseRecorder) (stop func(), done chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/sse?"+query, nil)
	req.RemoteAddr = "192.0.2.7:40000"
	done = make(chan struct{})
	go func() {
		defer close(done)
		th.e.ServeHTTP(w, req)
	}()
	t.Cleanup(func() { w.let(); cancel(); <-done })
	return func() { cancel(); <-done }, done
}

// waitReaders waits until the hub counts n readers.
func (th *testHub) waitReaders(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); th.h.Readers() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d readers, want %d", th.h.Readers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestHubFilters: a reader gets the events its filter matches and no
// others, in order.
func TestHubFilters(t *testing.T) {
	tests := []struct {
		name, query  string
		regions      []string // published, in order
		want, unwant []int    // indexes into regions
	}{
		{"one region", "regions=mena", []string{"europe", "mena", "asia", "mena"}, []int{1, 3}, []int{0, 2}},
		{"two regions", "regions=mena,asia", []string{"europe", "mena", "asia"}, []int{1, 2}, []int{0}},
		{"no filter", "", []string{"europe", "mena"}, []int{0, 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t, Options{})
			w := newSSERecorder()
			stop, _ := th.connect(t, tt.query, w)
			w.waitFor(t, "event: welcome")
			th.waitReaders(t, 1)
			ids := make([]string, len(tt.regions))
			for i, r := range tt.regions {
				ids[i] = th.publish(r)
			}
			w.waitFor(t, ids[tt.want[len(tt.want)-1]])
			stop()
			out := w.String()
			last := -1
			for _, i := range tt.want {
				at := strings.Index(out, ids[i])
				if at < 0 || at < last {
					t.Errorf("item %d (%s) missing or out of order:\n%s", i, tt.regions[i], out)
				}
				last = at
			}
			for _, i := range tt.unwant {
				if strings.Contains(out, ids[i]) {
					t.Errorf("item %d (%s) was sent to a reader of %q", i, tt.regions[i], tt.query)
				}
			}
		})
	}
}

// TestHubClosesSlowReader: a reader whose peer stops reading is closed as
// a slow consumer once its queue overflows, while publishing goes on
// without waiting for it; the handler notices at its next write.
func TestHubClosesSlowReader(t *testing.T) {
	th := newTestHub(t, Options{QueueSize: MinQueueSize})
	w := newSSERecorder()
	_, done := th.connect(t, "", w)
	w.waitFor(t, "event: welcome")
	th.waitReaders(t, 1)
	w.hold() // the peer reads nothing more
	// The handler may have taken a batch (at most a queue's worth) before
	// its write was held; twice the queue and one more overflows it anyway.
	for range 2*MinQueueSize + 1 {
		th.publish("mena") // returns although the reader's writes are held
	}
	w.let() // the peer reads again: the handler sees it was closed as slow
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow reader was not closed")
	}
	th.waitReaders(t, 0)
	if n := counterValue(t, th.m.Disconnects.WithLabelValues("sse", metrics.ReasonSlow)); n != 1 {
		t.Errorf("slow disconnects = %v, want 1", n)
	}
	if strings.Count(w.String(), "event: item") > MinQueueSize {
		t.Errorf("the slow reader got more than the batch being written when it was held:\n%s", w.String())
	}
}

// TestHubResumesFromHistory: a reader resuming with since (or
// Last-Event-ID) gets exactly the events after it from history, then live
// ones; an unknown epoch gets a fresh snapshot instead.
func TestHubResumesFromHistory(t *testing.T) {
	tests := []struct {
		name, query  string
		want, unwant []int // indexes of the five events published before
		recovered    bool
	}{
		{"since 2", "since=2", []int{2, 3, 4}, []int{0, 1}, true},
		{"since 2 same epoch", "since=2&epoch=e1", []int{2, 3, 4}, []int{0, 1}, true},
		{"since head", "since=5", nil, []int{0, 1, 2, 3, 4}, true},
		{"since 2 other epoch", "since=2&epoch=old&backfill=1", []int{4}, []int{0, 1, 2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t, Options{})
			ids := make([]string, 5)
			for i := range ids {
				ids[i] = th.publish("mena")
			}
			w := newSSERecorder()
			stop, _ := th.connect(t, tt.query, w)
			w.waitFor(t, "event: welcome")
			th.waitReaders(t, 1)
			live := th.publish("mena")
			w.waitFor(t, live)
			stop()
			out := w.String()
			if got := strings.Contains(out, `"recovered":true`); got != tt.recovered {
				t.Errorf("recovered = %v, want %v:\n%s", got, tt.recovered, out)
			}
			for _, i := range tt.want {
				if !strings.Contains(out, ids[i]) {
					t.Errorf("event %d missing:\n%s", i+1, out)
				}
			}
			for _, i := range tt.unwant {
				if strings.Contains(out, ids[i]) {
					t.Errorf("event %d sent again:\n%s", i+1, out)
				}
			}
		})
	}
}
