package editor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// wait bounds every blocking step; it is never an assertion about speed.
const wait = 20 * time.Second

type apiInstance struct {
	st    *stream.Stream
	url   string
	token string
	tax   *news.Taxonomy
}

// startAPI runs the editors' API on a real listener over a real embedded
// NATS whose stream keeps maxEvents events, with history following it.
func startAPI(t *testing.T, maxEvents int64) *apiInstance {
	t.Helper()
	gin.SetMode(gin.TestMode)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := stream.Open(ctx, stream.Deps{Logger: quiet}, stream.Options{StoreDir: t.TempDir(), MaxEvents: maxEvents})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	log := history.New(history.Options{MaxEvents: int(maxEvents)})
	fctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.Follow(fctx, func(ev news.Event) { log.Append(ev) }, func() {})
	}()
	t.Cleanup(func() { stop(); <-done })
	token, line, err := NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	eds, err := ParseEditors(line)
	if err != nil {
		t.Fatal(err)
	}
	tax := news.DefaultTaxonomy()
	api, err := New(Deps{Stream: st, Log: log, Taxonomy: tax, Editors: eds, Logger: quiet}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	api.Register(r.Group("/api/v1"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &apiInstance{st: st, url: srv.URL, token: token, tax: tax}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (in *apiInstance) post(t *testing.T, body, key string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, in.url+"/api/v1/items", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+in.token)
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header, b}
}

// claim stores the claim a first attempt with this body and key would
// have made, for an item id of its own.
func (in *apiInstance) claim(t *testing.T, body, key string) (stream.Claim, news.Item) {
	t.Helper()
	var d news.Draft
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	it, err := in.tax.NewItem(d)
	if err != nil {
		t.Fatal(err)
	}
	it.ID = news.NewID()
	c, created, err := in.st.ClaimKey(context.Background(), "alice", key, stream.Claim{ItemID: it.ID, Hash: fingerprint(it)})
	if err != nil || !created {
		t.Fatalf("ClaimKey: %v, created %v", err, created)
	}
	return c, it
}

// TestRetryOfAnUnpublishedClaim: a first attempt that claimed its key and
// stopped before publishing (NATS down, the process killed) leaves a claim
// that a retry publishes, once, and records as published.
func TestRetryOfAnUnpublishedClaim(t *testing.T) {
	in := startAPI(t, 100)
	body := `{"text":"Claimed, never published","lang":"en","regions":["europe"]}`
	_, it := in.claim(t, body, "k1")

	r := in.post(t, body, "k1")
	var got news.Item
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != http.StatusCreated || got.ID != it.ID || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry of an unpublished claim: %d %v %s, want 201 publishing %s", r.status, r.header, r.body, it.ID)
	}
	c, created, err := in.st.ClaimKey(context.Background(), "alice", "k1", stream.Claim{ItemID: news.NewID(), Hash: "x"})
	if err != nil || created || c.ItemID != it.ID || c.Seq != got.Seq || !c.Published() {
		t.Fatalf("claim after publishing: %+v, created %v, %v; want item %s published at %d", c, created, err, it.ID, got.Seq)
	}
	r = in.post(t, body, "k1")
	if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("second retry: %d %v %s, want the replay", r.status, r.header, r.body)
	}
}

// TestRetryOfAPublishedClaimNotRecorded: a first attempt that published and
// stopped before recording it in its claim, and whose item has left the
// news stream since, is not published again: the audit trail tells.
func TestRetryOfAPublishedClaimNotRecorded(t *testing.T) {
	in := startAPI(t, 2)
	ctx := context.Background()
	body := `{"text":"Published, not recorded, forgotten","lang":"en","regions":["europe"]}`
	_, it := in.claim(t, body, "k2")
	it.PublishedAt, it.UpdatedAt = time.Now().UTC(), time.Now().UTC()
	// Another message id than the API's, so that JetStream's duplicate
	// window does not answer for the audit trail.
	if _, _, err := in.st.Publish(ctx, news.Event{Type: news.EventItem, Item: it}, 0, "first-attempt"); err != nil {
		t.Fatal(err)
	}
	// The audit stream copies asynchronously: wait for the copy before the
	// news stream lets the event go (with real limits it is far ahead).
	deadline := time.Now().Add(wait)
	for {
		ok, err := in.st.InAudit(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit stream never copied the item")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, text := range []string{"one", "two"} {
		if r := in.post(t, `{"text":"`+text+`","lang":"en","regions":["europe"]}`, "other-"+text); r.status != http.StatusCreated {
			t.Fatalf("post %s: %d %s", text, r.status, r.body)
		}
	}
	if _, err := in.st.Current(ctx, it.ID); err != stream.ErrNotFound {
		t.Fatalf("the item is still in the stream (%v); the test needs it gone", err)
	}
	last, err := in.st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}

	r := in.post(t, body, "k2")
	var e struct {
		Error struct{ Code, Field, Message string }
	}
	_ = json.Unmarshal(r.body, &e)
	if r.status != http.StatusConflict || e.Error.Code != "idempotency_item_gone" || e.Error.Field != "Idempotency-Key" || !strings.Contains(e.Error.Message, it.ID) {
		t.Fatalf("retry: %d %s, want 409 idempotency_item_gone", r.status, r.body)
	}
	if now, err := in.st.LastSeq(ctx); err != nil || now != last {
		t.Fatalf("the refused retry stored something: stream at %d, was %d (%v)", now, last, err)
	}
}
