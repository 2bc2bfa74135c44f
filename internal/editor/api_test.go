package editor

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// fakeStore is an in-memory Store: items by id, claims by (editor, key),
// and a history the API's writes settle into, as a server's follower
// would. It answers what *stream.Stream answers (ErrConflict,
// ErrNotFound, ErrUnavailable), so the API's answers can be checked in
// milliseconds; the end-to-end tests run the same over real NATS.
type fakeStore struct {
	log *history.Log

	mu         sync.Mutex
	seq        uint64
	items      map[string]news.Item
	claims     map[string]stream.Claim
	inAudit    map[string]bool
	down       bool // every call answers ErrUnavailable
	conflicts  int  // Publish answers ErrConflict this many more times
	publishes  int  // events stored
	lastClient string
	lastAlert  bool // the last event stored sends the alert
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{log: history.New(history.Options{}), items: map[string]news.Item{},
		claims: map[string]stream.Claim{}, inAudit: map[string]bool{}}
}

func (f *fakeStore) Publish(_ context.Context, ev news.Event, expectLast uint64, _ string) (uint64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return 0, false, stream.ErrUnavailable
	}
	if f.conflicts > 0 {
		f.conflicts--
		return 0, false, stream.ErrConflict
	}
	cur, ok := f.items[ev.Item.ID]
	if (expectLast == 0 && ok) || (expectLast != 0 && (!ok || cur.Seq != expectLast)) {
		return 0, false, stream.ErrConflict
	}
	f.seq++
	ev.Seq, ev.Item.Seq = f.seq, f.seq
	if !ok {
		ev.Item.PublishedSeq = f.seq
	}
	f.items[ev.Item.ID] = ev.Item
	f.publishes++
	f.lastClient = ev.Client
	f.lastAlert = ev.Alert
	f.log.Append(ev)
	return f.seq, false, nil
}

func (f *fakeStore) Current(_ context.Context, id string) (news.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return news.Item{}, stream.ErrUnavailable
	}
	it, ok := f.items[id]
	if !ok {
		return news.Item{}, stream.ErrNotFound
	}
	return it, nil
}

func (f *fakeStore) ClaimKey(_ context.Context, editor, key string, c stream.Claim) (stream.Claim, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return stream.Claim{}, false, stream.ErrUnavailable
	}
	k := editor + "\x00" + key
	if got, ok := f.claims[k]; ok {
		return got, false, nil
	}
	c.Seq = 0
	f.claims[k] = c
	return c, true, nil
}

func (f *fakeStore) ClaimPublished(_ context.Context, c stream.Claim, seq uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, got := range f.claims {
		if got.ItemID == c.ItemID {
			got.Seq = seq
			f.claims[k] = got
		}
	}
	return nil
}

func (f *fakeStore) InAudit(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inAudit[id], nil
}

// seed publishes a live ticker-only item and returns its id.
func (f *fakeStore) seed(t *testing.T, tax *news.Taxonomy) string {
	t.Helper()
	return f.seedItem(t, tax, false)
}

// seedAlert publishes a live item that has alerted and returns its id.
func (f *fakeStore) seedAlert(t *testing.T, tax *news.Taxonomy) string {
	t.Helper()
	return f.seedItem(t, tax, true)
}

func (f *fakeStore) seedItem(t *testing.T, tax *news.Taxonomy, alert bool) string {
	t.Helper()
	it, err := tax.NewItem(news.Draft{Text: "Seeded", Lang: "en", Regions: []string{"europe"}, Alert: alert})
	if err != nil {
		t.Fatal(err)
	}
	it.ID, it.Editor = news.NewID(), "alice"
	it.PublishedAt, it.UpdatedAt = time.Now().UTC(), time.Now().UTC()
	if alert {
		at := it.PublishedAt
		it.AlertedAt = &at
	}
	if _, _, err := f.Publish(context.Background(), news.Event{Type: news.EventItem, Item: it, Alert: alert}, 0, it.ID); err != nil {
		t.Fatal(err)
	}
	return it.ID
}

const draft = `{"text":"Breaking: a test item","lang":"en","regions":["europe"]}`

// TestAPIAnswers: the editors' API over a fake store, one row per answer.
func TestAPIAnswers(t *testing.T) {
	gin.SetMode(gin.TestMode)
	token, line, err := NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		opts         Options
		setup        func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string // the {id} of the path
		method, path string
		body         string
		header       map[string]string // besides the editor's token
		noToken      bool
		status       int
		code         string // the error's code, or "" for success
		field        string // the error's field, checked when set
		published    int    // events the request stored
		check        func(t *testing.T, f *fakeStore, id string, body []byte, h http.Header)
	}{
		{name: "create", method: "POST", path: "/items", body: draft, status: 201, published: 1,
			check: func(t *testing.T, f *fakeStore, _ string, body []byte, h http.Header) {
				var it news.Item
				if err := json.Unmarshal(body, &it); err != nil || it.ID == "" || it.Editor != "alice" || it.Version != 1 {
					t.Errorf("created %s (%v)", body, err)
				}
				if h.Get("Location") != "/api/v1/items/"+it.ID {
					t.Errorf("Location %q", h.Get("Location"))
				}
				if f.lastClient == "" {
					t.Error("the event carries no client address for the audit trail")
				}
			}},
		{name: "create is ticker-only by default", method: "POST", path: "/items", body: draft, status: 201, published: 1,
			check: func(t *testing.T, f *fakeStore, _ string, body []byte, _ http.Header) {
				var it map[string]any
				if err := json.Unmarshal(body, &it); err != nil || it["alert"] != false || it["alerted_at"] != nil {
					t.Errorf("created %s (%v), want alert false and alerted_at null", body, err)
				}
				if f.lastAlert {
					t.Error("the event of a ticker-only item sends an alert")
				}
			}},
		{name: "create with alert", method: "POST", path: "/items", status: 201, published: 1,
			body: `{"text":"Breaking: a test item","lang":"en","regions":["europe"],"alert":true}`,
			check: func(t *testing.T, f *fakeStore, _ string, body []byte, _ http.Header) {
				var it news.Item
				if err := json.Unmarshal(body, &it); err != nil || !it.Alert || it.AlertedAt == nil || !it.AlertedAt.Equal(it.PublishedAt) {
					t.Errorf("created %s (%v), want alert true, alerted_at its published_at", body, err)
				}
				if !f.lastAlert {
					t.Error("the event does not send the alert")
				}
			}},
		{name: "create with alert a string", method: "POST", path: "/items", status: 400, code: "invalid_type", field: "alert",
			body: `{"text":"Breaking: a test item","lang":"en","regions":["europe"],"alert":"yes"}`},
		{name: "create with alert a number", method: "POST", path: "/items", status: 400, code: "invalid_type", field: "alert",
			body: `{"text":"Breaking: a test item","lang":"en","regions":["europe"],"alert":1}`},
		{name: "create without a token", method: "POST", path: "/items", body: draft, noToken: true, status: 401, code: "missing_token"},
		{name: "create without text", method: "POST", path: "/items", body: `{"lang":"en","regions":["europe"]}`, status: 400, code: "empty_text"},
		{name: "create with bad JSON", method: "POST", path: "/items", body: `{"text":`, status: 400, code: "malformed_json"},
		{name: "create with the stream down", method: "POST", path: "/items", body: draft, status: 503, code: "unavailable",
			setup: func(_ *testing.T, f *fakeStore, _ *news.Taxonomy) string { f.down = true; return "" }},
		{name: "create replayed by its key", method: "POST", path: "/items", body: draft, header: map[string]string{"Idempotency-Key": "k1"},
			status: 201, published: 0,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				it, _ := tax.NewItem(news.Draft{Text: "Breaking: a test item", Lang: "en", Regions: []string{"europe"}})
				f.claims["alice\x00k1"] = stream.Claim{ItemID: id, Hash: fingerprint(it), Seq: 1}
				return id
			},
			check: func(t *testing.T, _ *fakeStore, id string, body []byte, h http.Header) {
				if h.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(body), id) {
					t.Errorf("replay: %v %s", h, body)
				}
			}},
		{name: "create with a key used for another item", method: "POST", path: "/items", body: draft,
			header: map[string]string{"Idempotency-Key": "k1"}, status: 422, code: "idempotency_key_reused",
			setup: func(_ *testing.T, f *fakeStore, _ *news.Taxonomy) string {
				f.claims["alice\x00k1"] = stream.Claim{ItemID: news.NewID(), Hash: "other"}
				return ""
			}},
		{name: "create with a key whose item is gone", method: "POST", path: "/items", body: draft,
			header: map[string]string{"Idempotency-Key": "k1"}, status: 409, code: "idempotency_item_gone",
			setup: func(_ *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				it, _ := tax.NewItem(news.Draft{Text: "Breaking: a test item", Lang: "en", Regions: []string{"europe"}})
				f.claims["alice\x00k1"] = stream.Claim{ItemID: news.NewID(), Hash: fingerprint(it), Seq: 7}
				return ""
			}},
		{name: "correct", method: "PATCH", path: "/items/{id}", body: `{"text":"Corrected"}`, status: 200, published: 1,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) },
			check: func(t *testing.T, f *fakeStore, id string, _ []byte, _ http.Header) {
				if it := f.items[id]; it.Text != "Corrected" || it.Version != 2 || it.UpdatedBy != "alice" {
					t.Errorf("stored %+v", it)
				}
			}},
		{name: "promote", method: "PATCH", path: "/items/{id}", body: `{"alert":true}`, status: 200, published: 1,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) },
			check: func(t *testing.T, f *fakeStore, id string, _ []byte, _ http.Header) {
				it := f.items[id]
				if !it.Alert || it.AlertedAt == nil || !it.AlertedAt.Equal(it.UpdatedAt) || it.Version != 2 || it.Text != "Seeded" {
					t.Errorf("stored %+v, want alert on, alerted_at its updated_at", it)
				}
				if !f.lastAlert {
					t.Error("the promotion's event does not send the alert")
				}
			}},
		{name: "promote with a correction", method: "PATCH", path: "/items/{id}", body: `{"text":"Corrected","alert":true}`, status: 200, published: 1,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) },
			check: func(t *testing.T, f *fakeStore, id string, _ []byte, _ http.Header) {
				if it := f.items[id]; !it.Alert || it.Text != "Corrected" || !f.lastAlert {
					t.Errorf("stored %+v, event alert %v", it, f.lastAlert)
				}
			}},
		{name: "promote an alerted item", method: "PATCH", path: "/items/{id}", body: `{"alert":true}`, status: 200, published: 0,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seedAlert(t, tax) },
			check: func(t *testing.T, _ *fakeStore, _ string, body []byte, _ http.Header) {
				var it news.Item
				if err := json.Unmarshal(body, &it); err != nil || !it.Alert || it.Version != 1 {
					t.Errorf("answer %s (%v), want the item unchanged", body, err)
				}
			}},
		{name: "unsend an alert", method: "PATCH", path: "/items/{id}", body: `{"alert":false}`, status: 409, code: "alert_already_sent", field: "alert",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seedAlert(t, tax) }},
		{name: "alert false on a ticker item", method: "PATCH", path: "/items/{id}", body: `{"alert":false}`, status: 200, published: 0,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) }},
		{name: "correct an alerted item", method: "PATCH", path: "/items/{id}", body: `{"text":"Corrected"}`, status: 200, published: 1,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seedAlert(t, tax) },
			check: func(t *testing.T, f *fakeStore, id string, _ []byte, _ http.Header) {
				it := f.items[id]
				if !it.Alert || it.AlertedAt == nil || !it.AlertedAt.Equal(it.PublishedAt) || f.lastAlert {
					t.Errorf("stored %+v, event alert %v; want alerted_at kept and no new alert", it, f.lastAlert)
				}
			}},
		{name: "promote with alert a string", method: "PATCH", path: "/items/{id}", body: `{"alert":"true"}`, status: 400, code: "invalid_type", field: "alert",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) }},
		{name: "promote a retracted item", method: "PATCH", path: "/items/{id}", body: `{"alert":true}`, status: 409, code: "item_retracted",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				it := f.items[id]
				it.Status = news.StatusRetracted
				f.items[id] = it
				return id
			}},
		{name: "correct an unknown item", method: "PATCH", path: "/items/" + news.NewID(), body: `{"text":"x"}`, status: 404, code: "not_found"},
		{name: "correct a malformed id", method: "PATCH", path: "/items/nope", body: `{"text":"x"}`, status: 404, code: "not_found"},
		{name: "correct after concurrent changes", method: "PATCH", path: "/items/{id}", body: `{"text":"Corrected"}`, status: 200, published: 1,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				f.conflicts = 2
				return id
			}},
		{name: "correct that keeps meeting changes", opts: Options{MaxTries: 2}, method: "PATCH", path: "/items/{id}", body: `{"text":"Corrected"}`,
			status: 409, code: "conflict",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				f.conflicts = 2
				return id
			}},
		{name: "correct with the stream down", method: "PATCH", path: "/items/{id}", body: `{"text":"x"}`, status: 503, code: "unavailable",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				f.down = true
				return id
			}},
		{name: "correct a retracted item", method: "PATCH", path: "/items/{id}", body: `{"text":"x"}`, status: 409, code: "item_retracted",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				it := f.items[id]
				it.Status = news.StatusRetracted
				f.items[id] = it
				return id
			}},
		{name: "retract", method: "DELETE", path: "/items/{id}", status: 200, published: 1,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) },
			check: func(t *testing.T, f *fakeStore, id string, _ []byte, _ http.Header) {
				if f.items[id].Status != news.StatusRetracted {
					t.Errorf("stored %+v", f.items[id])
				}
			}},
		{name: "retract twice", method: "DELETE", path: "/items/{id}", status: 200, published: 0,
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string {
				id := f.seed(t, tax)
				it := f.items[id]
				it.Status = news.StatusRetracted
				f.items[id] = it
				return id
			}},
		{name: "retract without a token", method: "DELETE", path: "/items/{id}", noToken: true, status: 401, code: "missing_token",
			setup: func(t *testing.T, f *fakeStore, tax *news.Taxonomy) string { return f.seed(t, tax) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eds, err := ParseEditors(line)
			if err != nil {
				t.Fatal(err)
			}
			f, tax := newFakeStore(), news.DefaultTaxonomy()
			id := ""
			if tt.setup != nil {
				id = tt.setup(t, f, tax)
			}
			api, err := New(Deps{Stream: f, Log: f.log, Taxonomy: tax, Editors: eds, Logger: slog.New(slog.DiscardHandler)}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			e := gin.New()
			api.Register(e.Group("/api/v1"))
			before := f.publishes
			req := httptest.NewRequest(tt.method, "/api/v1"+strings.ReplaceAll(tt.path, "{id}", id), strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if !tt.noToken {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code != "" {
				var ans struct {
					Error struct{ Code, Field string } `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.Error.Code != tt.code || tt.field != "" && ans.Error.Field != tt.field {
					t.Errorf("error %s, want code %q field %q", rec.Body, tt.code, tt.field)
				}
			}
			if n := f.publishes - before; n != tt.published {
				t.Errorf("%d events stored, want %d", n, tt.published)
			}
			if tt.check != nil {
				tt.check(t, f, id, rec.Body.Bytes(), rec.Header())
			}
		})
	}
}
