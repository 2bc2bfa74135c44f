package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/audit"
	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/server"
)

const otherEditor = "bob"

var otherToken, otherLine = mustToken(otherEditor)

// withTwoEditors lets alice (the instance's token) and bob write.
func withTwoEditors(c *server.Deps) {
	eds, err := editor.ParseEditors(editorLine + "\n" + otherLine)
	if err != nil {
		panic(err)
	}
	c.Editors = eds
}

// audit reads one page of the trail as alice.
func (in *instance) audit(query string) audit.Page {
	in.t.Helper()
	status, _, b := in.do("GET", "/api/v1/audit?"+query, "", nil)
	if status != 200 {
		in.t.Fatalf("audit?%s: %d %s", query, status, b)
	}
	return decode[audit.Page](in.t, b)
}

// auditWait reads the trail until the page holds n records: the audit
// stream copies events a moment after they are stored. A 503 unavailable
// is retried as a client would (it comes with Retry-After): a replicated
// audit stream that was just created may not answer for a few seconds.
func (in *instance) auditWait(query string, n int) audit.Page {
	in.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		status, _, b := in.do("GET", "/api/v1/audit?"+query, "", nil)
		if status == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if status != http.StatusOK {
			in.t.Fatalf("audit?%s: %d %s", query, status, b)
		}
		p := decode[audit.Page](in.t, b)
		if len(p.Records) >= n {
			if len(p.Records) > n {
				in.t.Fatalf("audit?%s: %d records, want %d: %+v", query, len(p.Records), n, p.Records)
			}
			return p
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("audit?%s: %d records after %s, want %d", query, len(p.Records), wait, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuditTrail: a post, a correction by another editor and a retraction
// are answered by the audit with who, when, from where, before and after,
// in order; the filters and paging work; only editors may read it; and no
// public output carries the client address or the previous version.
func TestAuditTrail(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{deps: withTwoEditors, mutate: withPush(env)})
	sub := in.subscribe(env, `{}`)
	ws, _ := in.dialWS("backfill=0")
	sse := in.dialSSE("backfill=0", nil)
	sse.mustNext()

	// Each change is pushed before the next is made: push skips a version
	// that is already out of date.
	it := in.post(alertItem("Quake hits the coast", "en", []string{"asia"}, nil))
	other := in.post(alertItem("Election called", "en", []string{"europe"}, nil))
	waitPushes(t, env, 2)
	// Changes are stamped in milliseconds: the posts are before afterPosts,
	// the correction and retraction at or after it.
	afterPosts := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	time.Sleep(time.Until(afterPosts))
	status, _, b := in.do("PATCH", "/api/v1/items/"+it.ID, `{"text":"Quake hits the coast, 6.1"}`, map[string]string{"Authorization": "Bearer " + otherToken})
	if status != 200 {
		t.Fatalf("patch: %d %s", status, b)
	}
	corrected := decode[news.Item](t, b)
	waitPushes(t, env, 3)
	if status, _, b = in.do("DELETE", "/api/v1/items/"+it.ID, "", nil); status != 200 {
		t.Fatalf("delete: %d %s", status, b)
	}
	retracted := decode[news.Item](t, b)

	p := in.auditWait("item="+it.ID, 3)
	if p.More || p.NextCursor == 0 {
		t.Fatalf("page: more %v, next_cursor %d", p.More, p.NextCursor)
	}
	want := []struct {
		action, editor string
		after          news.Item
		before         *news.Item
	}{
		{"post", editorName, it, nil},
		{"correct", otherEditor, corrected, &it},
		{"retract", editorName, retracted, &corrected},
	}
	for i, w := range want {
		r := p.Records[i]
		if r.Action != w.action || r.Editor != w.editor || r.Item != it.ID || r.Seq != w.after.Seq || r.Client != "127.0.0.1" ||
			!r.Time.Equal(w.after.UpdatedAt) || r.After.Seq != w.after.Seq || r.After.Text != w.after.Text || r.After.Status != w.after.Status ||
			r.After.Editor != editorName || r.After.Version != w.after.Version {
			t.Errorf("record %d: %+v, want %s by %s of %+v", i, r, w.action, w.editor, w.after)
		}
		switch {
		case w.before == nil && r.Before != nil:
			t.Errorf("record %d: a post has a before: %+v", i, r.Before)
		case w.before != nil && (r.Before == nil || r.Before.Seq != w.before.Seq || r.Before.Text != w.before.Text || r.Before.Status != w.before.Status):
			t.Errorf("record %d: before %+v, want %+v", i, r.Before, w.before)
		}
	}

	// Filters.
	seqs := func(p audit.Page) string {
		var s []string
		for _, r := range p.Records {
			s = append(s, fmt.Sprintf("%s:%d", r.Action, r.Seq))
		}
		return strings.Join(s, " ")
	}
	all := in.auditWait("", 4)
	for query, want := range map[string]string{
		"":                      fmt.Sprintf("post:%d post:%d correct:%d retract:%d", it.Seq, other.Seq, corrected.Seq, retracted.Seq),
		"editor=" + otherEditor: fmt.Sprintf("correct:%d", corrected.Seq),
		"editor=" + editorName:  fmt.Sprintf("post:%d post:%d retract:%d", it.Seq, other.Seq, retracted.Seq),
		"item=" + other.ID:      fmt.Sprintf("post:%d", other.Seq),
		"item=" + news.NewID():  "",
		"since=" + url.QueryEscape(afterPosts.Format(time.RFC3339Nano)):                               fmt.Sprintf("correct:%d retract:%d", corrected.Seq, retracted.Seq),
		"since=" + url.QueryEscape(afterPosts.Format(time.RFC3339Nano)) + "&editor=" + editorName:     fmt.Sprintf("retract:%d", retracted.Seq),
		"since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)) + "&item=" + it.ID: "",
	} {
		if got := seqs(in.audit(query)); got != want {
			t.Errorf("audit?%s: %q, want %q", query, got, want)
		}
	}
	// Paging: one record a page, each page's cursor leading to the next.
	var paged []audit.Record
	query := "limit=1"
	for range 10 {
		p := in.audit(query)
		paged = append(paged, p.Records...)
		if !p.More {
			break
		}
		query = fmt.Sprintf("limit=1&cursor=%d", p.NextCursor)
	}
	if seqs(audit.Page{Records: paged}) != seqs(all) {
		t.Errorf("paged %q, want %q", seqs(audit.Page{Records: paged}), seqs(all))
	}

	// Only editors.
	for _, auth := range []string{"", "Bearer nf_not-a-token"} {
		status, _, b := in.do("GET", "/api/v1/audit", "", map[string]string{"Authorization": auth})
		if e := decode[apiError](t, b); status != 401 || (e.Error.Code != "missing_token" && e.Error.Code != "invalid_token") {
			t.Errorf("audit with Authorization %q: %d %s", auth, status, b)
		}
	}
	status, _, b = in.do("GET", "/api/v1/audit?limit=0", "", nil)
	if e := decode[apiError](t, b); status != 400 || e.Error.Code != "invalid_limit" || e.Error.Field != "limit" {
		t.Errorf("bad limit: %d %s", status, b)
	}

	// Public outputs: reader frames, item reads and lists, Web Push.
	var public []string
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, frame, err := ws.conn.Read(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		public = append(public, string(frame))
		public = append(public, sse.mustNext().Data)
	}
	for _, path := range []string{"/api/v1/items/" + it.ID, "/api/v1/items/" + other.ID, "/api/v1/items"} {
		_, _, b := in.do("GET", path, "", map[string]string{"Authorization": ""})
		public = append(public, string(b))
	}
	waitPushes(t, env, 4)
	_, raw := messages(t, env, sub)
	for _, m := range raw {
		public = append(public, string(m.Payload))
	}
	for _, s := range public {
		if strings.Contains(s, `"client"`) || strings.Contains(s, `"before"`) || strings.Contains(s, "127.0.0.1") {
			t.Errorf("a public output shows audit fields: %s", s)
		}
	}
	if len(public) != 4+4+3+len(raw) || len(raw) < 4 {
		t.Fatalf("checked %d public outputs (%d pushes)", len(public), len(raw))
	}
}

// TestAuditOutlivesHistoryAndRestarts: the news stream keeps 2 events, the
// audit keeps them all, across a restart on the same data directory.
func TestAuditOutlivesHistoryAndRestarts(t *testing.T) {
	dir := t.TempDir()
	small := func(c *server.Options) { c.Stream.MaxEvents = 2 }
	first := start(t, options{dir: dir, mutate: small})
	var posted []news.Item
	for i := range 4 {
		posted = append(posted, first.post(item(fmt.Sprintf("item %d", i), "en", []string{"africa"}, nil)))
		// The copy trails the news stream by a moment; with a news stream
		// this small the next post would drop an event not yet copied.
		first.auditWait("", i+1)
	}
	first.stop()

	second := start(t, options{dir: dir, mutate: small})
	_, _, b := second.do("GET", "/api/v1/items", "", nil)
	if list := decode[struct{ Items []news.Item }](t, b); len(list.Items) != 2 {
		t.Fatalf("the news stream keeps %d items, want 2: %s", len(list.Items), b)
	}
	info, err := second.srv.Stream().JetStream().Stream(context.Background(), second.srv.Stream().Layout().AuditStream())
	if err != nil {
		t.Fatal(err)
	}
	if c := info.CachedInfo().Config; c.MaxAge != 90*24*time.Hour || c.MaxMsgs > 0 || c.Storage != jetstream.FileStorage {
		t.Fatalf("audit stream config: %+v", c)
	}
	posted = append(posted, second.post(item("after restart", "en", []string{"africa"}, nil)))
	p := second.auditWait("", 5)
	for i, r := range p.Records {
		if r.Item != posted[i].ID || r.Seq != posted[i].Seq || r.Action != "post" || r.Client != "127.0.0.1" {
			t.Errorf("record %d after restart: %+v, want %s at %d", i, r, posted[i].ID, posted[i].Seq)
		}
	}
}

// runNATSCluster starts three clustered nats-servers with JetStream in this
// process and returns their client URLs. A JetStream cluster needs its
// routes configured up front, so the route ports are taken from the kernel
// first (as internal/faults does); client ports are picked by the servers.
func runNATSCluster(t *testing.T) string {
	t.Helper()
	var routes []*url.URL
	var ports []int
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: ln.Addr().String()})
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	var servers []*natsserver.Server
	for i := range 3 {
		ns, err := natsserver.NewServer(&natsserver.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: natsserver.ClusterOpts{Name: "newsflash", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		servers = append(servers, ns)
	}
	var urls []string
	for _, ns := range servers {
		if !ns.ReadyForConnections(wait) {
			t.Fatal("nats-server not ready")
		}
		urls = append(urls, ns.ClientURL())
	}
	return strings.Join(urls, ",")
}

// TestAuditReplicatedInCluster: on a 3-node cluster the audit stream has 3
// replicas, like the news stream, and answers.
func TestAuditReplicatedInCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	in := start(t, options{natsURL: runNATSCluster(t)})
	if in.srv.Stream().Replicas() != 3 {
		t.Fatalf("replicas chosen: %d", in.srv.Stream().Replicas())
	}
	it := in.post(item("on a cluster", "en", []string{"asia"}, nil))
	if r := in.auditWait("item="+it.ID, 1).Records[0]; r.Seq != it.Seq || r.Client != "127.0.0.1" {
		t.Fatalf("record %+v", r)
	}
	js := in.srv.Stream().JetStream()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, name := range []string{in.srv.Stream().Layout().NewsStream(), in.srv.Stream().Layout().AuditStream()} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info := s.CachedInfo()
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			t.Fatalf("stream %s: replicas %d, cluster %+v", name, info.Config.Replicas, info.Cluster)
		}
	}
	// The copy itself is replicated: every replica has the event.
	deadline := time.Now().Add(wait)
	for {
		s, err := js.Stream(ctx, in.srv.Stream().Layout().AuditStream())
		if err == nil && s.CachedInfo().State.Msgs == 1 && allCurrent(s.CachedInfo().Cluster.Replicas) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit replicas not current: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allCurrent(peers []*jetstream.PeerInfo) bool {
	for _, p := range peers {
		if !p.Current {
			return false
		}
	}
	return true
}
