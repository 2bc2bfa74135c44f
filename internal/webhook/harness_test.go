package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/stream"
)

// delivery is one request a receiver got.
type delivery struct {
	path   string
	header http.Header
	body   []byte
	msg    struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      news.Item `json:"data"`
	}
}

// receiver is a partner's endpoint on a real local listener. It answers
// each request with the next status of its script (then 200).
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []delivery
	script []int
	notify chan struct{}
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, notify: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{path: req.URL.Path, header: req.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &d.msg); err != nil {
			t.Errorf("receiver: body %q: %v", body, err)
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url(path string) string { return r.srv.URL + path }

func (r *receiver) hostPort() string { return r.srv.Listener.Addr().String() }

// deliveries are the requests so far to path.
func (r *receiver) deliveries(path string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.path == path {
			out = append(out, d)
		}
	}
	return out
}

// waitFor waits until cond holds over the receiver's requests.
func (r *receiver) waitFor(t *testing.T, what string, cond func([]delivery) bool) []delivery {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		got := append([]delivery(nil), r.got...)
		r.mu.Unlock()
		if cond(got) {
			return got
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d requests", what, len(got))
		}
	}
}

// env is a real stream (embedded NATS, fsync on every write) and the
// webhook services of one or more instances on it.
type env struct {
	st  *stream.Stream
	svc []*Service
}

type storiesStub map[string]bool

func (s storiesStub) Open(slug string) bool  { return s[slug] }
func (s storiesStub) Known(slug string) bool { _, ok := s[slug]; return ok }

func newEnv(t *testing.T, instances int, opts Options, testURLs ...string) *env {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := stream.Open(context.Background(), stream.Deps{Logger: quiet}, stream.Options{StoreDir: t.TempDir(), StreamName: "WHTEST"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	policy, err := pushpolicy.New(pushpolicy.Options{AnyPublicHost: true, InsecureTestEndpoints: testURLs})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st}
	for range instances {
		s, err := New(context.Background(), Deps{JetStream: st.JetStream(), Layout: st.Layout(), Taxonomy: news.DefaultTaxonomy(),
			Stories: storiesStub{"gaza": true, "old-story": false}, Policy: policy, Logger: quiet}, opts)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Stop)
		e.svc = append(e.svc, s)
	}
	return e
}

// create registers an endpoint through the first instance and waits
// until every instance's planner knows it.
func (e *env) create(t *testing.T, in Input) (string, string) {
	t.Helper()
	ep, key, err := e.svc[0].Create(context.Background(), in, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.svc {
		for !s.Known(ep.ID) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return ep.ID, key
}

// publish posts one event of the item and returns the item as stored.
func (e *env) publish(t *testing.T, typ string, it news.Item, before *news.Item, alert bool, expect uint64) news.Item {
	t.Helper()
	it.Status = news.StatusLive
	if typ == news.EventRetract {
		it.Status = news.StatusRetracted
	}
	it.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if it.PublishedAt.IsZero() {
		it.PublishedAt = it.UpdatedAt
	}
	it.Version++
	it.Alert = it.Alert || alert
	seq, _, err := e.st.Publish(context.Background(), news.Event{Type: typ, Item: it, Before: before, Alert: alert}, expect, news.NewID())
	if err != nil {
		t.Fatal(err)
	}
	it.Seq = seq
	return it
}

func item(region string) news.Item {
	return news.Item{ID: news.NewID(), Text: "Breaking: something happened", Lang: "en", Regions: []string{region},
		Topics: []string{"politics"}, Priority: news.PriorityBreaking, Editor: "ed", URL: "https://news.example/1"}
}

// verify checks a delivery's signature with the reference Standard
// Webhooks library for every secret given.
func verify(t *testing.T, d delivery, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		wh, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(d.body, d.header); err != nil {
			t.Errorf("delivery %s does not verify with a secret: %v (signature %q)", d.header.Get("webhook-id"), err, d.header.Get("webhook-signature"))
		}
	}
}
