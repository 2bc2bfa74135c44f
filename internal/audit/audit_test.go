package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/audit"
	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

func init() { gin.SetMode(gin.ReleaseMode) }

const wait = 20 * time.Second

// env is a real embedded NATS with the news and audit streams, and the
// audit endpoint on a real listener behind the editor check.
type env struct {
	t     *testing.T
	st    *stream.Stream
	base  string
	token string
	n     int // events published
}

func newEnv(t *testing.T, opts audit.Options) *env {
	t.Helper()
	return newEnvOn(t, stream.Options{}, opts)
}

// newEnvOn is newEnv with a stream of so (in a fresh store).
func newEnvOn(t *testing.T, so stream.Options, opts audit.Options) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	so.StoreDir = t.TempDir()
	st, err := stream.Open(ctx, stream.Deps{Logger: log}, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	trail, err := audit.New(audit.Deps{JetStream: st.JetStream(), Layout: st.Layout(), Logger: log}, opts)
	if err != nil {
		t.Fatal(err)
	}
	token, line, err := editor.NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	eds, err := editor.ParseEditors(line)
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	trail.Register(e.Group("/api/v1", eds.RequireEditor()))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, base: srv.URL, token: token}
}

// publish stores an event as the editor API would and waits until the
// audit stream has its copy.
func (e *env) publish(typ, editorName string, at time.Time, it *news.Item) {
	e.t.Helper()
	ctx := context.Background()
	ev := news.Event{Type: typ, Client: "192.0.2.7"}
	var expect uint64
	if typ == news.EventItem {
		it.ID, it.Version, it.Status, it.Editor, it.PublishedAt = news.NewID(), 1, news.StatusLive, editorName, at
	} else {
		before := *it
		ev.Before, expect = &before, it.Seq
		it.Version++
		it.UpdatedBy = editorName
		if typ == news.EventRetract {
			it.Status = news.StatusRetracted
		} else {
			it.Text += " (corrected)"
		}
	}
	it.UpdatedAt = at
	ev.Item = *it
	seq, _, err := e.st.Publish(ctx, ev, expect, it.ID+"."+news.NewID())
	if err != nil {
		e.t.Fatal(err)
	}
	it.Seq = seq
	if typ == news.EventItem {
		it.PublishedSeq = seq
	}
	e.n++
	e.waitCopied()
}

func (e *env) waitCopied() {
	e.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		s, err := e.st.JetStream().Stream(context.Background(), e.st.Layout().AuditStream())
		if err == nil && s.CachedInfo().State.Msgs == uint64(e.n) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the audit stream did not copy %d events", e.n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type apiError struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func (e *env) get(query string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+"/api/v1/audit?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, b
}

func (e *env) page(query string) audit.Page {
	e.t.Helper()
	status, b := e.get(query)
	if status != http.StatusOK {
		e.t.Fatalf("audit?%s: %d %s", query, status, b)
	}
	var p audit.Page
	if err := json.Unmarshal(b, &p); err != nil {
		e.t.Fatalf("audit?%s: %s: %v", query, b, err)
	}
	return p
}

func TestBadQueries(t *testing.T) {
	e := newEnv(t, audit.Options{})
	for _, tc := range []struct{ query, code, field string }{
		{"item=nope", "invalid_item", "item"},
		{"item=" + strings.Repeat("a", 21), "invalid_item", "item"},
		{"item=ABCDEFGHIJKLMNOPQRST", "invalid_item", "item"},
		{"editor=" + strings.Repeat("a", 65), "invalid_editor", "editor"},
		{"editor=al%20ice", "invalid_editor", "editor"},
		{"editor=al%0Aice", "invalid_editor", "editor"},
		{"since=yesterday", "invalid_since", "since"},
		{"since=1700000000", "invalid_since", "since"},
		{"since=2026-11-28", "invalid_since", "since"},
		{"since=2026-11-28T13:00:00", "invalid_since", "since"},
		{"cursor=0", "invalid_cursor", "cursor"},
		{"cursor=-1", "invalid_cursor", "cursor"},
		{"cursor=abc", "invalid_cursor", "cursor"},
		{"cursor=4611686018427387905", "invalid_cursor", "cursor"},
		{"limit=0", "invalid_limit", "limit"},
		{"limit=1001", "invalid_limit", "limit"},
		{"limit=ten", "invalid_limit", "limit"},
		{"limit=1.5", "invalid_limit", "limit"},
	} {
		status, b := e.get(tc.query)
		var got apiError
		_ = json.Unmarshal(b, &got)
		if status != http.StatusBadRequest || got.Error.Code != tc.code || got.Error.Field != tc.field || got.Error.Message == "" {
			t.Errorf("audit?%s: %d %s; want 400 %s on %s", tc.query, status, b, tc.code, tc.field)
		}
	}
	// Good values of each, for contrast.
	for _, q := range []string{"", "item=" + news.NewID(), "editor=a.b_c@d-e", "since=2026-11-28T13:00:00Z",
		"since=2026-11-28T13:00:00.5%2B02:00", "cursor=1", "cursor=4611686018427387904", "limit=1", "limit=1000"} {
		if status, b := e.get(q); status != http.StatusOK {
			t.Errorf("audit?%s: %d %s", q, status, b)
		}
	}
}

// TestTrailOfAnotherStreamName: a Trail reads the audit stream and item
// subjects its layout names (only WIRE_AUDIT exists on this NATS).
func TestTrailOfAnotherStreamName(t *testing.T) {
	e := newEnvOn(t, stream.Options{StreamName: "WIRE"}, audit.Options{})
	var it, other news.Item
	e.publish(news.EventItem, "alice", time.Now(), &it)
	e.publish(news.EventItem, "alice", time.Now(), &other)
	e.publish(news.EventUpdate, "alice", time.Now(), &it)
	if p := e.page(""); len(p.Records) != 3 {
		t.Fatalf("WIRE's trail: %+v", p)
	}
	p := e.page("item=" + it.ID)
	if len(p.Records) != 2 || p.Records[0].Action != "post" || p.Records[1].Action != "correct" || p.Records[1].Item != it.ID {
		t.Fatalf("WIRE's trail of one item: %+v", p)
	}
}

func TestEmptyAndPolling(t *testing.T) {
	e := newEnv(t, audit.Options{})
	p := e.page("")
	if len(p.Records) != 0 || p.More || p.NextCursor != 1 || !strings.Contains(string(mustJSON(t, p)), `"records":[]`) {
		t.Fatalf("empty trail: %+v", p)
	}
	var it news.Item
	e.publish(news.EventItem, "alice", time.Now(), &it)
	p = e.page(fmt.Sprintf("cursor=%d", p.NextCursor))
	if len(p.Records) != 1 || p.Records[0].Item != it.ID || p.More || p.NextCursor != 2 {
		t.Fatalf("first record: %+v", p)
	}
	// Polling from the cursor at the end gives nothing, then what is new.
	if p2 := e.page(fmt.Sprintf("cursor=%d", p.NextCursor)); len(p2.Records) != 0 || p2.NextCursor != 2 || p2.More {
		t.Fatalf("nothing new: %+v", p2)
	}
	e.publish(news.EventUpdate, "alice", time.Now(), &it)
	if p2 := e.page(fmt.Sprintf("cursor=%d", p.NextCursor)); len(p2.Records) != 1 || p2.Records[0].Action != "correct" || p2.NextCursor != 3 {
		t.Fatalf("the new record: %+v", p2)
	}
}

// TestFiltersAndScanBound: a read stops after MaxScan events even when
// they do not match, and the cursor leads through every match in order.
func TestFiltersAndScanBound(t *testing.T) {
	e := newEnv(t, audit.Options{MaxScan: 3})
	t0 := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Millisecond)
	var a, b, c news.Item
	e.publish(news.EventItem, "alice", t0, &a)                          // 1
	e.publish(news.EventItem, "alice", t0.Add(time.Hour), &b)           // 2
	e.publish(news.EventUpdate, "alice", t0.Add(2*time.Hour), &a)       // 3
	e.publish(news.EventItem, "bob", t0.Add(3*time.Hour), &c)           // 4
	e.publish(news.EventUpdate, "bob", t0.Add(4*time.Hour), &a)         // 5
	e.publish(news.EventRetract, "alice", t0.Add(5*time.Hour), &b)      // 6
	e.publish(news.EventRetract, "bob", t0.Add(6*time.Hour), &a)        // 7
	e.publish(news.EventUpdate, "alice", t0.Add(7*time.Hour), &c)       // 8
	e.publish(news.EventItem, "bob", t0.Add(8*time.Hour), &news.Item{}) // 9

	// all follows the cursor until More is false and returns the news
	// seqs of the records, checking that no page breaks the bounds.
	all := func(query string, limit int) []uint64 {
		t.Helper()
		var seqs []uint64
		cursor := uint64(0)
		for pages := 0; ; pages++ {
			q := query + fmt.Sprintf("&limit=%d", limit)
			if cursor > 0 {
				q += fmt.Sprintf("&cursor=%d", cursor)
			}
			p := e.page(q)
			if len(p.Records) > limit || pages > 20 {
				t.Fatalf("%s: page %d: %+v", q, pages, p)
			}
			if cursor > 0 && (p.NextCursor <= cursor || p.NextCursor > cursor+3) {
				t.Fatalf("%s: the cursor went from %d to %d with a scan bound of 3", q, cursor, p.NextCursor)
			}
			for _, r := range p.Records {
				seqs = append(seqs, r.Seq)
			}
			if !p.More {
				return seqs
			}
			cursor = p.NextCursor
		}
	}
	for _, tc := range []struct {
		query string
		limit int
		want  string
	}{
		{"", 100, "[1 2 3 4 5 6 7 8 9]"},
		{"", 2, "[1 2 3 4 5 6 7 8 9]"},
		{"editor=bob", 100, "[4 5 7 9]"},
		{"editor=bob", 1, "[4 5 7 9]"},
		{"editor=carol", 100, "[]"},
		{"item=" + a.ID, 100, "[1 3 5 7]"},
		{"item=" + a.ID, 1, "[1 3 5 7]"},
		{"item=" + a.ID + "&editor=alice", 100, "[1 3]"},
		{"since=" + t0.Add(5*time.Hour).Format(time.RFC3339Nano), 100, "[6 7 8 9]"},
		{"since=" + t0.Add(5*time.Hour).Format(time.RFC3339Nano) + "&editor=bob&item=" + a.ID, 100, "[7]"},
		{"since=" + t0.Add(9*time.Hour).Format(time.RFC3339), 100, "[]"},
		{"item=" + news.NewID(), 100, "[]"},
	} {
		if got := fmt.Sprint(all(tc.query, tc.limit)); got != tc.want {
			t.Errorf("audit?%s&limit=%d: seqs %s, want %s", tc.query, tc.limit, got, tc.want)
		}
	}

	// One page with an editor filter stops at the scan bound, with no
	// match in it, and says there is more.
	p := e.page("editor=bob")
	if len(p.Records) != 0 || !p.More || p.NextCursor != 4 {
		t.Fatalf("scan-bounded page: %+v", p)
	}
	// A record in full.
	p = e.page("item=" + a.ID + "&editor=bob&cursor=4")
	r := p.Records[0]
	if r.Seq != 5 || r.Action != "correct" || r.Item != a.ID || r.Editor != "bob" || !r.Time.Equal(t0.Add(4*time.Hour)) ||
		r.Client != "192.0.2.7" || r.Before == nil || r.Before.Seq != 3 || r.Before.Version != 2 || r.After.Seq != 5 || r.After.Version != 3 ||
		r.After.PublishedSeq != 1 || r.After.Editor != "alice" || r.After.UpdatedBy != "bob" {
		t.Fatalf("record: %+v", r)
	}
}

func TestNeedsAnEditor(t *testing.T) {
	e := newEnv(t, audit.Options{})
	for _, auth := range []string{"", "Bearer nf_wrong", "Basic " + e.token} {
		req, _ := http.NewRequest("GET", e.base+"/api/v1/audit?"+url.Values{"item": {news.NewID()}}.Encode(), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d", auth, res.StatusCode)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
