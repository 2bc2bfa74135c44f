package push

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/pushsink"
	"newsflash/internal/stream"
)

// testEnv is a Service on a real JetStream (in process, fsync on every
// write as in production) that sends to a real local push service, the
// pushsink, which checks the headers and VAPID and decrypts.
type testEnv struct {
	js   jetstream.JetStream
	s    *Service
	sink *pushsink.Sink
	url  string // the sink's base URL
	log  *history.Log
	logs *lockedBuffer // what the Service logged
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testLayout names the test's news stream and push state: not the default
// one, so that nothing in push relies on default names.
var testLayout = stream.NewLayout("NEWS")

func newTestEnv(tb testing.TB, partitions int, sinkOpts pushsink.Options) *testEnv {
	tb.Helper()
	js := runJetStream(tb)
	createNewsStream(tb, js, testLayout)
	return newTestEnvOn(tb, js, testLayout, partitions, sinkOpts)
}

// runJetStream runs an in-process nats-server with JetStream.
func runJetStream(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{JetStream: true, StoreDir: tb.TempDir(), SyncAlways: true,
		DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	tb.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// createNewsStream makes a layout's news stream, as the stream package would.
func createNewsStream(tb testing.TB, js jetstream.JetStream, l stream.Layout) {
	tb.Helper()
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: l.NewsStream(), Subjects: []string{l.NewsSubjects()}}); err != nil {
		tb.Fatal(err)
	}
}

// newTestEnvOn is a Service of layout l on js, whose news stream exists.
func newTestEnvOn(tb testing.TB, js jetstream.JetStream, l stream.Layout, partitions int, sinkOpts pushsink.Options) *testEnv {
	tb.Helper()
	sink := pushsink.New(sinkOpts)
	srv := httptest.NewServer(sink)
	tb.Cleanup(srv.Close)
	policy, err := pushpolicy.New(pushpolicy.Options{InsecureTestEndpoints: []string{strings.TrimPrefix(srv.URL, "http://")}})
	if err != nil {
		tb.Fatal(err)
	}
	id, err := LoadIdentity(IdentityConfig{DataDir: tb.TempDir(), Subject: "mailto:ops@newsroom.example"})
	if err != nil {
		tb.Fatal(err)
	}
	logs := &lockedBuffer{}
	hist := history.New(history.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := New(ctx, Deps{JetStream: js, Layout: l, Log: hist, Taxonomy: news.DefaultTaxonomy(), Identity: id, Policy: policy,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(logs, testOutput(tb)), nil))},
		Options{Partitions: partitions, MaxAttempts: 2, MaxRetryTime: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return &testEnv{s: s, js: js, sink: sink, url: srv.URL, log: hist, logs: logs}
}

// testOutput shows the Service's logs with -v.
func testOutput(tb testing.TB) io.Writer {
	if testing.Verbose() {
		return tWriter{tb}
	}
	return io.Discard
}

type tWriter struct{ tb testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// store puts a subscription into the bucket and the index, as a subscribe
// request and the watcher would (without their checks).
func (e *testEnv) store(tb testing.TB, sub Subscription) *Subscription {
	tb.Helper()
	b, _ := json.Marshal(sub)
	if _, err := e.s.subs.Put(context.Background(), sub.ID, b); err != nil {
		tb.Fatal(err)
	}
	e.s.index.put(&sub)
	got, _ := e.s.index.get(sub.ID)
	return got
}

// subscribe makes a sink subscription and stores it, matching everything.
func (e *testEnv) subscribe(tb testing.TB) (pushsink.Subscription, *Subscription) {
	tb.Helper()
	ps, err := e.sink.Subscribe(e.url)
	if err != nil {
		tb.Fatal(err)
	}
	return ps, e.store(tb, Subscription{ID: IDFor(ps.Endpoint), Endpoint: ps.Endpoint, P256dh: ps.Keys.P256dh, Auth: ps.Keys.Auth})
}

// post appends a new item posted with alert to the history and returns
// its entry.
func (e *testEnv) post(text, priority string) *history.Entry { return e.postItem(text, priority, true) }

// postItem appends a new item, with alert or ticker-only.
func (e *testEnv) postItem(text, priority string, alert bool) *history.Entry {
	seq := e.log.Head() + 1
	now := time.Now().UTC()
	it := news.Item{ID: news.NewID(), Seq: seq, PublishedSeq: seq, Version: 1, Status: news.StatusLive, Text: text, Lang: "en",
		Regions: []string{"mena"}, Priority: priority, Alert: alert, PublishedAt: now, UpdatedAt: now}
	if alert {
		it.AlertedAt = &now
	}
	return e.log.Append(news.Event{Type: news.EventItem, Seq: seq, Alert: alert, Item: it})
}

// deliverAll runs every partition's job of an entry at once, as the
// workers do, and returns their progress records.
func (e *testEnv) deliverAll(tb testing.TB, entry *history.Entry) []progress {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, e.s.cfg.Partitions)
	for p := range e.s.cfg.Partitions {
		wg.Go(func() {
			done, err := e.s.deliver(ctx, job{Seq: entry.Event.Seq, Item: entry.Event.Item.ID, P: p})
			if err == nil && !done {
				err = context.DeadlineExceeded
			}
			errs[p] = err
		})
	}
	wg.Wait()
	out := make([]progress, len(errs))
	for p, err := range errs {
		if err != nil {
			tb.Fatalf("job %d: %v", p, err)
		}
		kv, err := e.s.prog.Get(ctx, job{Seq: entry.Event.Seq, Item: entry.Event.Item.ID, P: p}.key())
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(kv.Value(), &out[p]); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}
