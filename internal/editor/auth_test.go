package editor_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"newsflash/internal/editor"
)

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken(t *testing.T, name string) (token, line string) {
	t.Helper()
	token, line, err := editor.NewToken(name)
	if err != nil {
		t.Fatalf("NewToken(%q): %v", name, err)
	}
	return token, line
}

func TestParseEditors(t *testing.T) {
	ha, hb := hashOf("token-a"), hashOf("token-b")
	name64 := strings.Repeat("n", 64)
	tests := []struct {
		name  string
		text  string
		want  []string          // names, in order
		token map[string]string // token → editor it must find
	}{
		{"one line", "alice:" + ha, []string{"alice"}, map[string]string{"token-a": "alice"}},
		{"two lines with a trailing newline", "alice:" + ha + "\nbob:" + hb + "\n", []string{"alice", "bob"},
			map[string]string{"token-a": "alice", "token-b": "bob"}},
		{"comments and blank lines", "# editors\n\n  # night desk\nalice:" + ha + "\n\n\t\n#bob:" + hb + "\n", []string{"alice"},
			map[string]string{"token-a": "alice"}},
		{"commas in comments", "# Alice, Bob, and the night desk\nalice:" + ha + "\n  # a, b\nbob:" + hb + "\n", []string{"alice", "bob"},
			map[string]string{"token-b": "bob"}},
		{"CRLF line ends", "alice:" + ha + "\r\nbob:" + hb + "\r\n", []string{"alice", "bob"}, map[string]string{"token-a": "alice"}},
		{"sha256: prefix", "alice:sha256:" + ha, []string{"alice"}, map[string]string{"token-a": "alice"}},
		{"upper-case hex", "alice:" + strings.ToUpper(ha), []string{"alice"}, map[string]string{"token-a": "alice"}},
		{"name punctuation", "news.desk_1@example-org:" + ha, []string{"news.desk_1@example-org"}, nil},
		{"name of 64 characters", name64 + ":" + ha, []string{name64}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eds, err := editor.ParseEditors(tt.text)
			if err != nil {
				t.Fatalf("ParseEditors: %v", err)
			}
			if got := eds.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names = %q, want %q", got, tt.want)
			}
			for token, want := range tt.token {
				if got, ok := eds.Lookup(token); !ok || got != want {
					t.Errorf("Lookup(%q) = %q, %v; want %q", token, got, ok, want)
				}
			}
			if got, ok := eds.Lookup("token-c"); ok {
				t.Errorf("Lookup of an unknown token found %q", got)
			}
		})
	}
}

func TestParseEditorsErrors(t *testing.T) {
	ha := hashOf("token-a")
	tests := []struct {
		name    string
		text    string
		wantSub string
	}{
		{"empty", "", "no editor configured"},
		{"only comments and blanks", "# nobody yet\n\n   \n", "no editor configured"},
		{"no colon", "alice", "line 1: want name:sha256hex"},
		{"empty name", ":" + ha, "line 1: want name:sha256hex"},
		{"space in name", "al ice:" + ha, "line 1"},
		{"space before colon", "alice :" + ha, "line 1"},
		{"name starting with a dot", ".alice:" + ha, "line 1"},
		{"name with slash", "a/b:" + ha, "line 1"},
		{"name not ASCII", "zoë:" + ha, "line 1"},
		{"name of 65 characters", strings.Repeat("n", 65) + ":" + ha, "line 1"},
		{"error names the line", "# header, with a comma\nalice:" + ha + "\n\nbob", "line 4"},
		{"two entries on a line", "alice:" + ha + ",bob:" + hashOf("b"), "line 1: want name:sha256hex"},
		{"empty hash", "alice:", "line 1 (alice): the hash must be 64 hex digits"},
		{"space before hash", "alice: " + ha, "64 hex digits"},
		{"not hex", "alice:" + strings.Repeat("zz", 32), "64 hex digits"},
		{"token instead of hash", "alice:nf_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "64 hex digits"},
		{"hash too short", "alice:" + ha[:62], "64 hex digits"},
		{"hash too long", "alice:" + ha + "00", "64 hex digits"},
		{"odd number of digits", "alice:" + ha[:63], "64 hex digits"},
		{"sha1 length", "alice:" + ha[:40], "64 hex digits"},
		{"trailing comment on the line", "alice:" + ha + " # alice", "64 hex digits"},
		{"duplicate names", "alice:" + ha + "\nalice:" + hashOf("other"), `line 2: editor "alice" appears twice (first on line 1)`},
		{"bad line after good ones", "alice:" + ha + "\nbob:xyz", "line 2 (bob)"},
		// One token for two names would sign its holder in as either.
		{"same hash under two names", "# desk\nalice:" + ha + "\n\nbob:" + ha, `line 4: editor "bob" has the same token hash as editor "alice" on line 2`},
		{"unknown role", "# desk\nalice:" + ha + ":boss", `line 2 (alice): unknown role "boss"`},
		{"empty role", "alice:" + ha + ":", `line 1 (alice): unknown role ""`},
		{"role in upper case", "alice:" + ha + ":Admin", `unknown role "Admin"`},
		{"two roles", "alice:" + ha + ":editor:admin", `unknown role "editor:admin"`},
		{"same hash, one with sha256: prefix and upper case", "alice:" + ha + "\nbob:sha256:" + strings.ToUpper(ha), `line 2: editor "bob" has the same token hash as editor "alice" on line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eds, err := editor.ParseEditors(tt.text)
			if err == nil {
				t.Fatalf("ParseEditors succeeded with %q, want an error", eds.Names())
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not contain %q", err, tt.wantSub)
			}
			if strings.Contains(err.Error(), ha) {
				t.Errorf("error %q repeats the hash", err)
			}
		})
	}
}

// TestParseEditorList is the comma form of --editor-hashes and
// NEWSFLASH_EDITOR_HASHES: errors name the entry.
func TestParseEditorList(t *testing.T) {
	ha, hb := hashOf("token-a"), hashOf("token-b")
	good := []struct {
		name, list string
		want       []string
	}{
		{"one entry", "alice:" + ha, []string{"alice"}},
		{"commas", "alice:" + ha + ",bob:" + hb, []string{"alice", "bob"}},
		{"commas with spaces and empty entries", " alice:" + ha + " , ,bob:" + hb + ",", []string{"alice", "bob"}},
		{"sha256: prefix", "alice:sha256:" + ha, []string{"alice"}},
		{"newlines separate entries too", "alice:" + ha + "\nbob:" + hb + ",\n", []string{"alice", "bob"}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			eds, err := editor.ParseEditorList(tt.list)
			if err != nil {
				t.Fatalf("ParseEditorList: %v", err)
			}
			if got := eds.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names = %q, want %q", got, tt.want)
			}
			if got, ok := eds.Lookup("token-a"); !ok || got != "alice" {
				t.Errorf("Lookup(token-a) = %q, %v", got, ok)
			}
		})
	}
	bad := []struct {
		name, list, wantSub string
	}{
		{"empty", "", "no editor configured"},
		{"only commas", ",,,", "no editor configured"},
		{"no colon", "alice", "entry 1: want name:sha256hex"},
		{"error names the entry", "alice:" + ha + ",,bob", "entry 3: want name:sha256hex"},
		{"bad hash", "alice:" + ha + ",bob:xyz", "entry 2 (bob): the hash must be 64 hex digits"},
		{"duplicate names", "alice:" + ha + ",bob:" + hb + ",alice:" + hashOf("c"), `entry 3: editor "alice" appears twice (first in entry 1)`},
		{"same hash under two names", "alice:" + ha + ",bob:" + ha, `entry 2: editor "bob" has the same token hash as editor "alice" in entry 1`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			eds, err := editor.ParseEditorList(tt.list)
			if err == nil {
				t.Fatalf("ParseEditorList succeeded with %q, want an error", eds.Names())
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not contain %q", err, tt.wantSub)
			}
			if strings.Contains(err.Error(), ha) {
				t.Errorf("error %q repeats the hash", err)
			}
		})
	}
}

var tokenRE = regexp.MustCompile(`^nf_[A-Za-z0-9_-]{43}$`)

func TestNewToken(t *testing.T) {
	tests := []string{"alice", "a", "news.desk@example.com", "night_desk-2", strings.Repeat("x", 64)}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			token, line := newToken(t, name)
			if !tokenRE.MatchString(token) {
				t.Errorf("token %q does not look like nf_ + 43 base64url characters", token)
			}
			if want := name + ":" + hashOf(token); line != want {
				t.Errorf("line = %q, want %q", line, want)
			}
			if strings.Contains(line, token) {
				t.Errorf("the editors line %q contains the token", line)
			}
			eds, err := editor.ParseEditors(line)
			if err != nil {
				t.Fatalf("ParseEditors(line): %v", err)
			}
			if got, ok := eds.Lookup(token); !ok || got != name {
				t.Errorf("Lookup(token) = %q, %v; want %q", got, ok, name)
			}
		})
	}
	a, _ := newToken(t, "alice")
	b, _ := newToken(t, "alice")
	if a == b {
		t.Errorf("two NewToken calls returned the same token %q", a)
	}
}

func TestNewTokenBadName(t *testing.T) {
	for _, name := range []string{"", " ", "al ice", "-alice", ".alice", "a:b", "a,b", "a/b", "zoë", "a\nb", strings.Repeat("x", 65)} {
		token, line, err := editor.NewToken(name)
		if err == nil {
			t.Errorf("NewToken(%q) = %q, %q; want an error", name, token, line)
			continue
		}
		if token != "" || line != "" {
			t.Errorf("NewToken(%q) returned a token or line with its error", name)
		}
	}
}

func TestLookup(t *testing.T) {
	ta, la := newToken(t, "alice")
	tb, lb := newToken(t, "bob")
	eds, err := editor.ParseEditors("# desk\n" + la + "\n" + lb + "\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, want string
		wantOK            bool
	}{
		{"alice", ta, "alice", true},
		{"bob", tb, "bob", true},
		{"empty", "", "", false},
		{"prefix only", "nf_", "", false},
		{"token with a character more", ta + "x", "", false},
		{"token with a character less", ta[:len(ta)-1], "", false},
		{"token in upper case", strings.ToUpper(ta), "", false},
		{"token with a space", " " + ta, "", false},
		{"the stored hash", hashOf(ta), "", false},
		{"the editors line", la, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := eds.Lookup(tt.token)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Lookup = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	first, err := editor.Bootstrap(dir, log)
	if err != nil {
		t.Fatalf("first Bootstrap: %v", err)
	}
	path := filepath.Join(dir, "editor-token")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	token := strings.TrimSuffix(string(raw), "\n")
	if !tokenRE.MatchString(token) || string(raw) != token+"\n" {
		t.Fatalf("token file holds %q, want one nf_ token and a newline", raw)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode %v, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("data dir mode %v is open to others", perm)
	}
	// The token is a secret: the log says where it is, never what it is.
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), token[3:20]) {
		t.Errorf("first Bootstrap logged the token; log: %s", logs.String())
	}
	if !strings.Contains(logs.String(), path) {
		t.Errorf("first Bootstrap did not log the token file; log: %s", logs.String())
	}
	if got := first.Names(); !slices.Equal(got, []string{editor.BootstrapName}) {
		t.Errorf("Names = %q, want [%s]", got, editor.BootstrapName)
	}
	if role, _ := first.Role(token); role != editor.RoleAdmin {
		t.Errorf("the bootstrap editor is a %q, want admin", role)
	}
	if got, ok := first.Lookup(token); !ok || got != editor.BootstrapName {
		t.Errorf("Lookup(token) = %q, %v", got, ok)
	}

	logs.Reset()
	second, err := editor.Bootstrap(dir, log)
	if err != nil {
		t.Fatalf("second Bootstrap: %v", err)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("second Bootstrap logged the token: %s", logs.String())
	}
	if got, ok := second.Lookup(token); !ok || got != editor.BootstrapName {
		t.Errorf("second Lookup(token) = %q, %v; want the same editor", got, ok)
	}
	again, err := os.ReadFile(path)
	if err != nil || string(again) != string(raw) {
		t.Errorf("second Bootstrap changed the token file: %q, %v", again, err)
	}
	other, _ := newToken(t, editor.BootstrapName)
	if _, ok := second.Lookup(other); ok {
		t.Error("bootstrap editors accept another token")
	}
}

// A token file written by an operator is used as it is, without logging.
func TestBootstrapExistingFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "editor-token"), []byte("  my-own-token \n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	eds, err := editor.Bootstrap(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if got, ok := eds.Lookup("my-own-token"); !ok || got != editor.BootstrapName {
		t.Errorf("Lookup(my-own-token) = %q, %v", got, ok)
	}
	if logs.Len() != 0 {
		t.Errorf("Bootstrap logged with an existing token file: %s", logs.String())
	}
}

func TestBootstrapErrors(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	t.Run("empty token file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "editor-token"), []byte(" \n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := editor.Bootstrap(dir, quiet)
		if err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("Bootstrap = %v, want an error saying the file is empty", err)
		}
	})
	t.Run("data dir is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := editor.Bootstrap(file, quiet); err == nil {
			t.Error("Bootstrap under a regular file succeeded")
		}
	})
	t.Run("token file is a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "editor-token"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := editor.Bootstrap(dir, quiet); err == nil {
			t.Error("Bootstrap with a directory as token file succeeded")
		}
	})
}

func TestRequireEditor(t *testing.T) {
	gin.SetMode(gin.TestMode)
	token, line := newToken(t, "alice")
	eds, err := editor.ParseEditors(line)
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.POST("/items", eds.RequireEditor(), func(c *gin.Context) {
		c.String(http.StatusOK, "editor=%s", editor.EditorName(c))
	})

	tests := []struct {
		name     string
		header   string // Authorization; "-" for none
		status   int
		code     string // error code, or "" for success
		wwwError bool   // WWW-Authenticate carries error="invalid_token"
	}{
		{"no header", "-", http.StatusUnauthorized, "missing_token", false},
		{"empty header", "", http.StatusUnauthorized, "missing_token", false},
		{"scheme only", "Bearer", http.StatusUnauthorized, "missing_token", false},
		{"blank token", "Bearer    ", http.StatusUnauthorized, "missing_token", false},
		{"basic auth", "Basic " + token, http.StatusUnauthorized, "missing_token", false},
		{"token without scheme", token, http.StatusUnauthorized, "missing_token", false},
		{"wrong token", "Bearer nf_wrong", http.StatusUnauthorized, "invalid_token", true},
		{"the hash as token", "Bearer " + hashOf(token), http.StatusUnauthorized, "invalid_token", true},
		{"valid", "Bearer " + token, http.StatusOK, "", false},
		{"valid, lower-case scheme", "bearer " + token, http.StatusOK, "", false},
		{"valid, spaces around the token", "Bearer  " + token + " ", http.StatusOK, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/items", nil)
			if tt.header != "-" {
				req.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.code == "" {
				if got := w.Body.String(); got != "editor=alice" {
					t.Errorf("body %q, want editor=alice", got)
				}
				return
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if body.Error.Code != tt.code || body.Error.Message == "" {
				t.Errorf("error %+v, want code %s", body.Error, tt.code)
			}
			auth := w.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(auth, `Bearer realm="newsflash"`) {
				t.Errorf("WWW-Authenticate = %q", auth)
			}
			if got := strings.Contains(auth, `error="invalid_token"`); got != tt.wwwError {
				t.Errorf("WWW-Authenticate = %q, want invalid_token %v", auth, tt.wwwError)
			}
			if strings.Contains(w.Body.String(), token) {
				t.Error("the answer repeats the token")
			}
		})
	}
}

// TestOptionalEditor: public reads go on without a token and as the editor
// with a valid one; an invalid bearer token is refused (and so counted as a
// failure), not taken for the public.
func TestOptionalEditor(t *testing.T) {
	gin.SetMode(gin.TestMode)
	token, line := newToken(t, "alice")
	eds, err := editor.ParseEditors(line)
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/items", eds.OptionalEditor(), func(c *gin.Context) {
		c.String(http.StatusOK, "editor=%s", editor.EditorName(c))
	})
	tests := []struct {
		name, header string // Authorization; "-" for none
		status       int
		body         string
	}{
		{"no header", "-", http.StatusOK, "editor="},
		{"empty header", "", http.StatusOK, "editor="},
		{"basic auth of a site in front", "Basic YWxpY2U6cHc=", http.StatusOK, "editor="},
		{"bearer without a token", "Bearer  ", http.StatusOK, "editor="},
		{"valid", "Bearer " + token, http.StatusOK, "editor=alice"},
		{"valid, lower-case scheme", "bearer " + token, http.StatusOK, "editor=alice"},
		{"invalid", "Bearer nf_wrong", http.StatusUnauthorized, `"invalid_token"`},
		{"the hash as token", "Bearer " + hashOf(token), http.StatusUnauthorized, `"invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/items", nil)
			if tt.header != "-" {
				req.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("%d %s, want %d with %s", w.Code, w.Body, tt.status, tt.body)
			}
			if tt.status == http.StatusUnauthorized && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestEditorsRoles: a line without a role is an editor; name:hash:role sets
// one; the role reaches the request through the middleware.
func TestEditorsRoles(t *testing.T) {
	text := "alice:" + hashOf("token-a") + "\nbob:" + hashOf("token-b") + ":reporter\ncarol:sha256:" + hashOf("token-c") + ":admin\ndan:" + hashOf("token-d") + ":editor\n"
	eds, err := editor.ParseEditors(text)
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]string{"token-a": "editor", "token-b": "reporter", "token-c": "admin", "token-d": "editor"} {
		if got, ok := eds.Role(token); !ok || got != want {
			t.Errorf("Role(%q) = %q, %v; want %q", token, got, ok, want)
		}
	}
	list, err := editor.ParseEditorList("alice:" + hashOf("token-a") + ":reporter,bob:" + hashOf("token-b"))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := list.Role("token-a"); r != editor.RoleReporter {
		t.Errorf("--editor-hashes role %q, want reporter", r)
	}

	// RequireRole after RequireEditor: below the role is 403 forbidden.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/admin", eds.RequireEditor(), editor.RequireRole(editor.RoleAdmin), func(c *gin.Context) { c.String(200, editor.Role(c)) })
	e.GET("/alert", eds.RequireEditor(), func(c *gin.Context) { c.JSON(200, editor.CanAlert(editor.Role(c))) })
	for _, tc := range []struct {
		token, path string
		status      int
		body        string
	}{
		{"token-c", "/admin", 200, "admin"},
		{"token-a", "/admin", 403, `"code":"forbidden"`},
		{"token-b", "/admin", 403, `"code":"forbidden"`},
		{"token-b", "/alert", 200, "false"},
		{"token-a", "/alert", 200, "true"},
		{"token-c", "/alert", 200, "true"},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", tc.path, nil)
		r.Header.Set("Authorization", "Bearer "+tc.token)
		e.ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("%s %s: %d %s, want %d %s", tc.token, tc.path, w.Code, w.Body, tc.status, tc.body)
		}
	}
}

func TestNewTokenRole(t *testing.T) {
	token, line, err := editor.NewTokenRole("alice", editor.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(line, ":admin") {
		t.Errorf("line %q has no role", line)
	}
	eds, err := editor.ParseEditors(line)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := eds.Role(token); !ok || r != editor.RoleAdmin {
		t.Errorf("Role = %q, %v", r, ok)
	}
	for _, role := range []string{"", "boss", "Admin"} {
		if _, _, err := editor.NewTokenRole("alice", role); err == nil {
			t.Errorf("NewTokenRole with role %q succeeded", role)
		}
	}
}
