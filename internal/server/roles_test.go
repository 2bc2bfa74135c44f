package server_test

import (
	"newsflash/internal/news"

	"net/http"
	"strings"
	"testing"
	"time"

	"newsflash/internal/audit"
	"newsflash/internal/editor"
	"newsflash/internal/server"
)

var (
	reporterToken, reporterLine = mustTokenRole("rita", editor.RoleReporter)
	plainToken, plainLine       = mustToken("ed") // no role: an editor
)

// withRoles lets alice (admin), rita (reporter) and ed (editor) sign in.
func withRoles(c *server.Deps) {
	eds, err := editor.ParseEditors(editorLine + "\n" + reporterLine + "\n" + plainLine)
	if err != nil {
		panic(err)
	}
	c.Editors = eds
}

// mustAs is as, failing the test on another status than want.
func (in *instance) mustAs(token, method, path, body string, want int) []byte {
	in.t.Helper()
	status, b := in.as(token, method, path, body)
	if status != want {
		in.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	return b
}

// as sends a request with another editor's token.
func (in *instance) as(token, method, path, body string) (int, []byte) {
	in.t.Helper()
	status, _, b := in.do(method, path, body, map[string]string{"Authorization": "Bearer " + token})
	return status, b
}

// TestRolesOnTheServer: reporters post, correct and retract ticker items but
// reach neither the accounts nor the audit trail; editors do items but not
// accounts or the audit; admins do all.
func TestRolesOnTheServer(t *testing.T) {
	in := start(t, options{deps: withRoles})
	body := item("reporter's line", "en", []string{"mena"}, nil)
	for _, tc := range []struct {
		who   string
		token string
		admin bool
	}{
		{"reporter", reporterToken, false},
		{"editor", plainToken, false},
		{"admin", editorToken, true},
	} {
		status, b := in.as(tc.token, "POST", "/api/v1/items", body)
		if status != http.StatusCreated {
			t.Fatalf("%s posts: %d %s", tc.who, status, b)
		}
		it := decode[struct{ ID string }](t, b)
		if status, b := in.as(tc.token, "PATCH", "/api/v1/items/"+it.ID, `{"text":"corrected"}`); status != http.StatusOK {
			t.Errorf("%s corrects: %d %s", tc.who, status, b)
		}
		if status, b := in.as(tc.token, "DELETE", "/api/v1/items/"+it.ID, ""); status != http.StatusOK {
			t.Errorf("%s retracts: %d %s", tc.who, status, b)
		}
		for _, req := range [][3]string{
			{"GET", "/api/v1/editors", ""},
			{"POST", "/api/v1/editors", `{"name":"x-` + tc.who + `","role":"reporter"}`},
			{"GET", "/api/v1/audit", ""},
		} {
			status, b := in.as(tc.token, req[0], req[1], req[2])
			want := http.StatusForbidden
			if tc.admin {
				want = map[string]int{"GET": http.StatusOK, "POST": http.StatusCreated}[req[0]]
			}
			if status != want {
				t.Errorf("%s %s %s: %d %s, want %d", tc.who, req[0], req[1], status, b, want)
			}
			if status == http.StatusForbidden && !strings.Contains(string(b), `"code":"forbidden"`) {
				t.Errorf("%s %s %s: %s, want code forbidden", tc.who, req[0], req[1], b)
			}
		}
	}
}

// TestReportersKeepToTheTicker: a reporter may not send an alert (posting
// one, or promoting a ticker item), nor change an item whose alert went
// out; each refusal is 403 forbidden with field alert and stores nothing.
func TestReportersKeepToTheTicker(t *testing.T) {
	in := start(t, options{deps: withRoles})
	ticker := decode[news.Item](t, in.mustAs(editorToken, "POST", "/api/v1/items", item("a ticker line", "en", []string{"mena"}, nil), http.StatusCreated))
	alerted := decode[news.Item](t, in.mustAs(editorToken, "POST", "/api/v1/items",
		`{"text":"an alert","lang":"en","regions":["mena"],"alert":true}`, http.StatusCreated))
	for _, tc := range []struct{ name, method, path, body string }{
		{"post an alert", "POST", "/api/v1/items", `{"text":"a reporter's alert","lang":"en","regions":["mena"],"alert":true}`},
		{"promote a ticker item", "PATCH", "/api/v1/items/" + ticker.ID, `{"alert":true}`},
		{"correct an alerted item", "PATCH", "/api/v1/items/" + alerted.ID, `{"text":"an alert, corrected"}`},
		{"retract an alerted item", "DELETE", "/api/v1/items/" + alerted.ID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := in.as(reporterToken, tc.method, tc.path, tc.body)
			if status != http.StatusForbidden || !strings.Contains(string(b), `"code":"forbidden"`) || !strings.Contains(string(b), `"field":"alert"`) {
				t.Fatalf("%d %s, want 403 forbidden with field alert", status, b)
			}
		})
	}
	// Nothing was stored: both items are as posted, and no third item.
	for _, it := range []news.Item{ticker, alerted} {
		got := decode[news.Item](t, in.mustAs(editorToken, "GET", "/api/v1/items/"+it.ID, "", http.StatusOK))
		if got.Version != 1 || got.Status != news.StatusLive || got.Alert != it.Alert {
			t.Errorf("item %s changed: %+v", it.ID, got)
		}
	}
	list := decode[struct{ Items []news.Item }](t, in.mustAs(editorToken, "GET", "/api/v1/items", "", http.StatusOK))
	if len(list.Items) != 2 {
		t.Errorf("%d items listed, want 2", len(list.Items))
	}
	// A reporter still works the ticker.
	in.mustAs(reporterToken, "PATCH", "/api/v1/items/"+ticker.ID, `{"text":"a ticker line, corrected"}`, http.StatusOK)
}

// TestAccountRevocationAcrossInstances (Cluster): an account made on one
// instance signs in on the other; a rotation or revocation on either is
// refused by both within 1 s.
func TestAccountRevocationAcrossInstances(t *testing.T) {
	url := runNATS(t)
	a := start(t, options{natsURL: url})
	b := start(t, options{natsURL: url})
	post := item("from a runtime account", "en", []string{"mena"}, nil)
	canPost := func(in *instance, token string) bool {
		status, _ := in.as(token, "POST", "/api/v1/items", post)
		return status == http.StatusCreated
	}
	within1s := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 1 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	status, body := a.as(editorToken, "POST", "/api/v1/editors", `{"name":"bob","role":"reporter"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	first := decode[struct{ Token string }](t, body).Token
	within1s("the new account posts on B", func() bool { return canPost(b, first) })

	status, body = a.as(editorToken, "POST", "/api/v1/editors/bob/token", "")
	if status != http.StatusOK {
		t.Fatalf("rotate: %d %s", status, body)
	}
	second := decode[struct{ Token string }](t, body).Token
	if canPost(a, first) {
		t.Error("the rotated token still posts on A")
	}
	within1s("the rotated token refused by B", func() bool { return !canPost(b, first) })
	within1s("the new token posts on B", func() bool { return canPost(b, second) })

	if status, body := b.as(editorToken, "DELETE", "/api/v1/editors/bob", ""); status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if canPost(b, second) {
		t.Error("the revoked token still posts on B")
	}
	within1s("the revoked token refused by A", func() bool { return !canPost(a, second) })
}

// TestAuditAccountChanges: each account change is an audit record naming
// the admin and the account, never its token or hash.
func TestAuditAccountChanges(t *testing.T) {
	in := start(t, options{})
	status, _, b := in.do("POST", "/api/v1/editors", `{"name":"bob","role":"reporter"}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	token := decode[struct{ Token string }](t, b).Token
	for _, req := range [][3]string{
		{"PATCH", "/api/v1/editors/bob", `{"role":"editor"}`},
		{"POST", "/api/v1/editors/bob/token", ""},
		{"DELETE", "/api/v1/editors/bob", ""},
	} {
		if status, _, b := in.do(req[0], req[1], req[2], nil); status >= 300 {
			t.Fatalf("%s %s: %d %s", req[0], req[1], status, b)
		}
	}
	page := in.auditWait("", 4)
	want := []struct{ action, role string }{
		{audit.ActionEditorCreate, "reporter"}, {audit.ActionEditorRole, "editor"},
		{audit.ActionEditorRotate, "editor"}, {audit.ActionEditorRevoke, "editor"},
	}
	for i, r := range page.Records {
		if r.Action != want[i].action || r.Editor != editorName || r.Account == nil || r.Account.Name != "bob" ||
			r.Account.Role != want[i].role || r.Client == "" || r.Time.IsZero() || r.Item != "" {
			t.Errorf("record %d: %+v %+v, want %s by %s of bob as %s", i, r, r.Account, want[i].action, editorName, want[i].role)
		}
	}
	_, _, raw := in.do("GET", "/api/v1/audit", "", nil)
	if strings.Contains(string(raw), token) || strings.Contains(string(raw), "hash") || strings.Contains(string(raw), `"after"`) {
		t.Errorf("the audit shows a token, a hash or an empty item: %s", raw)
	}
	// The editor filter finds them by their author.
	if p := in.audit("editor=" + editorName); len(p.Records) != 4 {
		t.Errorf("editor=%s: %d records", editorName, len(p.Records))
	}
}
