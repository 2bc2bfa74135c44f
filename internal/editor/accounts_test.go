package editor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/editor"
	"newsflash/internal/stream"
)

// accountsEnv is one embedded NATS with two Accounts on its bucket, as two
// instances would have, each behind its own HTTP server.
type accountsEnv struct {
	t      *testing.T
	kv     jetstream.KeyValue
	a, b   *editor.Accounts
	urlA   string
	urlB   string
	static map[string]string // role → token of a static editor
}

func startAccounts(t *testing.T) *accountsEnv {
	t.Helper()
	gin.SetMode(gin.TestMode)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := stream.Open(ctx, stream.Deps{Logger: quiet}, stream.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	env := &accountsEnv{t: t, static: map[string]string{}}
	var lines []string
	for name, role := range map[string]string{"root": editor.RoleAdmin, "ed": editor.RoleEditor, "rep": editor.RoleReporter} {
		token, line, err := editor.NewTokenRole(name, role)
		if err != nil {
			t.Fatal(err)
		}
		env.static[role] = token
		lines = append(lines, line)
	}
	static, err := editor.ParseEditors(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if env.kv, err = st.Editors(ctx); err != nil {
		t.Fatal(err)
	}
	open := func() (*editor.Accounts, string) {
		acc, err := editor.OpenAccounts(ctx, editor.AccountsDeps{KV: env.kv, Layout: st.Layout(), Static: static, Logger: quiet}, editor.AccountsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e := gin.New()
		acc.Register(e.Group("/api/v1"))
		e.GET("/api/v1/whoami", acc.RequireEditor(), func(c *gin.Context) {
			c.JSON(200, gin.H{"name": editor.EditorName(c), "role": editor.Role(c)})
		})
		srv := httptest.NewServer(e)
		t.Cleanup(func() { srv.Close(); acc.Close() })
		return acc, srv.URL
	}
	env.a, env.urlA = open()
	env.b, env.urlB = open()
	return env
}

func (env *accountsEnv) do(base, method, path, token, body string) (int, []byte) {
	env.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// keys is what the bucket holds.
func (env *accountsEnv) keys() []string {
	env.t.Helper()
	keys, err := env.kv.Keys(context.Background())
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		env.t.Fatal(err)
	}
	return keys
}

// whoami is the role a token signs in with on base, or "" when refused.
func (env *accountsEnv) whoami(base, token string) string {
	status, b := env.do(base, "GET", "/api/v1/whoami", token, "")
	if status != 200 {
		return ""
	}
	var v struct{ Role string }
	_ = json.Unmarshal(b, &v)
	return v.Role
}

// eventually polls cond up to the bound of 1 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 1 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAccountsBadInput: each bad request gets its 4xx and stores nothing.
func TestAccountsBadInput(t *testing.T) {
	env := startAccounts(t)
	admin := env.static[editor.RoleAdmin]
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"no token", "GET", "/editors", "", "", 401, "missing_token", ""},
		{"invalid token", "GET", "/editors", "nf_nobody", "", 401, "invalid_token", ""},
		{"me without token", "GET", "/editors/me", "", "", 401, "missing_token", ""},
		{"me with an invalid token", "GET", "/editors/me", "nf_nobody", "", 401, "invalid_token", ""},
		{"editor lists", "GET", "/editors", env.static[editor.RoleEditor], "", 403, "forbidden", ""},
		{"reporter lists", "GET", "/editors", env.static[editor.RoleReporter], "", 403, "forbidden", ""},
		{"editor creates", "POST", "/editors", env.static[editor.RoleEditor], `{"name":"x","role":"reporter"}`, 403, "forbidden", ""},
		{"reporter rotates", "POST", "/editors/root/token", env.static[editor.RoleReporter], "", 403, "forbidden", ""},
		{"editor revokes", "DELETE", "/editors/root", env.static[editor.RoleEditor], "", 403, "forbidden", ""},
		{"empty name", "POST", "/editors", admin, `{"name":"","role":"editor"}`, 400, "invalid_name", "name"},
		{"no name", "POST", "/editors", admin, `{"role":"editor"}`, 400, "invalid_name", "name"},
		{"name with space", "POST", "/editors", admin, `{"name":"al ice","role":"editor"}`, 400, "invalid_name", "name"},
		{"name with colon", "POST", "/editors", admin, `{"name":"a:b","role":"editor"}`, 400, "invalid_name", "name"},
		{"name with slash", "POST", "/editors", admin, `{"name":"a/b","role":"editor"}`, 400, "invalid_name", "name"},
		{"name of 65", "POST", "/editors", admin, `{"name":"` + strings.Repeat("n", 65) + `","role":"editor"}`, 400, "invalid_name", "name"},
		{"name not a string", "POST", "/editors", admin, `{"name":7,"role":"editor"}`, 400, "invalid_type", "name"},
		{"unknown role", "POST", "/editors", admin, `{"name":"bob","role":"boss"}`, 400, "invalid_role", "role"},
		{"no role", "POST", "/editors", admin, `{"name":"bob"}`, 400, "invalid_role", "role"},
		{"role in capitals", "POST", "/editors", admin, `{"name":"bob","role":"Editor"}`, 400, "invalid_role", "role"},
		{"unknown field", "POST", "/editors", admin, `{"name":"bob","role":"editor","token":"x"}`, 400, "unknown_field", "token"},
		{"empty body", "POST", "/editors", admin, "", 400, "empty_body", ""},
		{"static name taken", "POST", "/editors", admin, `{"name":"ed","role":"editor"}`, 409, "name_taken", "name"},
		{"role of a static editor", "PATCH", "/editors/ed", admin, `{"role":"admin"}`, 409, "static_editor", ""},
		{"rotate a static editor", "POST", "/editors/root/token", admin, "", 409, "static_editor", ""},
		{"revoke a static editor", "DELETE", "/editors/rep", admin, "", 409, "static_editor", ""},
		{"role of nobody", "PATCH", "/editors/nobody", admin, `{"role":"admin"}`, 404, "not_found", ""},
		{"unknown role for nobody", "PATCH", "/editors/nobody", admin, `{"role":"boss"}`, 400, "invalid_role", "role"},
		{"rotate nobody", "POST", "/editors/nobody/token", admin, "", 404, "not_found", ""},
		{"revoke nobody", "DELETE", "/editors/nobody", admin, "", 404, "not_found", ""},
		{"revoke a bad name", "DELETE", "/editors/a:b", admin, "", 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := env.do(env.urlA, tt.method, "/api/v1"+tt.path, tt.token, tt.body)
			var e struct {
				Error struct{ Code, Field string }
			}
			_ = json.Unmarshal(b, &e)
			if status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field {
				t.Errorf("%d %s, want %d %s field %q", status, b, tt.status, tt.code, tt.field)
			}
			if k := env.keys(); len(k) != 0 {
				t.Errorf("stored %v", k)
			}
		})
	}

	// A runtime account's name is taken too; the refusal changes nothing.
	if status, b := env.do(env.urlA, "POST", "/api/v1/editors", admin, `{"name":"bob","role":"reporter"}`); status != 201 {
		t.Fatalf("create bob: %d %s", status, b)
	}
	before, err := env.kv.Get(context.Background(), stream.Layout{}.EditorKey("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if status, b := env.do(env.urlA, "POST", "/api/v1/editors", admin, `{"name":"bob","role":"admin"}`); status != 409 || !strings.Contains(string(b), `"name_taken"`) {
		t.Errorf("bob again: %d %s, want 409 name_taken", status, b)
	}
	if after, err := env.kv.Get(context.Background(), stream.Layout{}.EditorKey("bob")); err != nil || after.Revision() != before.Revision() {
		t.Errorf("bob's account changed: %v", err)
	}
}

// TestAccountsLifecycle: create, list, change the role, rotate and revoke,
// each seen by the other instance within 1 s; tokens are shown once and
// never listed.
func TestAccountsLifecycle(t *testing.T) {
	env := startAccounts(t)
	admin := env.static[editor.RoleAdmin]
	status, b := env.do(env.urlA, "POST", "/api/v1/editors", admin, `{"name":"bob@desk","role":"reporter"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, b)
	}
	var made struct{ Name, Role, Token string }
	if err := json.Unmarshal(b, &made); err != nil || made.Name != "bob@desk" || made.Role != "reporter" || !strings.HasPrefix(made.Token, "nf_") {
		t.Fatalf("create answered %s", b)
	}
	if r := env.whoami(env.urlA, made.Token); r != "reporter" {
		t.Errorf("the new token on A signs in as %q", r)
	}
	eventually(t, "the new token on B", func() bool { return env.whoami(env.urlB, made.Token) == "reporter" })
	if status, b := env.do(env.urlA, "GET", "/api/v1/editors/me", made.Token, ""); status != 200 || string(b) != `{"name":"bob@desk","role":"reporter"}` {
		t.Errorf("GET /editors/me as bob: %d %s", status, b)
	}

	// The list: static editors marked, runtime ones with created and last
	// use, never a token or a hash.
	status, b = env.do(env.urlB, "GET", "/api/v1/editors", admin, "")
	if status != 200 {
		t.Fatalf("list: %d %s", status, b)
	}
	raw, _ := env.kv.Get(context.Background(), stream.Layout{}.EditorKey("bob@desk"))
	acc, _ := stream.DecodeAccount(raw.Value())
	if strings.Contains(string(b), made.Token) || strings.Contains(string(b), acc.Hash) || strings.Contains(string(b), "hash") {
		t.Errorf("list shows a token or hash: %s", b)
	}
	var list struct{ Editors []editor.AccountInfo }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]editor.AccountInfo{}
	for _, e := range list.Editors {
		got[e.Name] = e
	}
	if len(got) != 4 || !got["root"].Static || got["root"].Role != "admin" || got["bob@desk"].Static ||
		got["bob@desk"].Created == nil || got["bob@desk"].LastUsed == nil || got["root"].LastUsed == nil {
		t.Errorf("list: %s", b)
	}

	// The role changes everywhere.
	if status, b := env.do(env.urlA, "PATCH", "/api/v1/editors/bob@desk", admin, `{"role":"editor"}`); status != 200 || !strings.Contains(string(b), `"role":"editor"`) {
		t.Fatalf("patch: %d %s", status, b)
	}
	eventually(t, "the role on B", func() bool { return env.whoami(env.urlB, made.Token) == "editor" })

	// Rotation: the old token stops on both, the new one works.
	status, b = env.do(env.urlB, "POST", "/api/v1/editors/bob@desk/token", admin, "")
	var rotated struct{ Token string }
	if status != 200 || json.Unmarshal(b, &rotated) != nil || rotated.Token == "" || rotated.Token == made.Token {
		t.Fatalf("rotate: %d %s", status, b)
	}
	if r := env.whoami(env.urlB, made.Token); r != "" {
		t.Errorf("the old token still works on B (the instance that rotated it)")
	}
	eventually(t, "the old token refused on A", func() bool { return env.whoami(env.urlA, made.Token) == "" })
	eventually(t, "the new token on A", func() bool { return env.whoami(env.urlA, rotated.Token) == "editor" })

	// Revocation.
	if status, b := env.do(env.urlA, "DELETE", "/api/v1/editors/bob@desk", admin, ""); status != 204 {
		t.Fatalf("revoke: %d %s", status, b)
	}
	if r := env.whoami(env.urlA, rotated.Token); r != "" {
		t.Errorf("the revoked token still works on A")
	}
	eventually(t, "the revoked token refused on B", func() bool { return env.whoami(env.urlB, rotated.Token) == "" })
	if status, _ := env.do(env.urlA, "DELETE", "/api/v1/editors/bob@desk", admin, ""); status != 404 {
		t.Errorf("revoke again: %d, want 404", status)
	}
	if status, b := env.do(env.urlA, "GET", "/api/v1/editors", admin, ""); strings.Contains(string(b), "bob@desk") {
		t.Errorf("a revoked account is listed: %d %s", status, b)
	}
	// The name may be taken again, with a new token.
	status, b = env.do(env.urlB, "POST", "/api/v1/editors", admin, `{"name":"bob@desk","role":"admin"}`)
	if status != 201 {
		t.Fatalf("create again: %d %s", status, b)
	}
	var again struct{ Token string }
	_ = json.Unmarshal(b, &again)
	eventually(t, "the new account on A", func() bool { return env.whoami(env.urlA, again.Token) == "admin" })
	if r := env.whoami(env.urlA, rotated.Token); r != "" {
		t.Errorf("the revoked token works again")
	}
}
