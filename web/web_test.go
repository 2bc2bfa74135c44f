package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestAssets(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	get := func(path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	const js = "text/javascript; charset=utf-8" // module scripts need a JavaScript type
	cases := []struct {
		path, ctype, cache string
		page               bool
	}{
		{"/", "text/html; charset=utf-8", "no-cache", true},
		{"/newsroom", "text/html; charset=utf-8", "no-cache", true},
		{"/ticker.js", js, "public, max-age=300", false},
		{"/sw.js", js, "no-cache", false},
		{"/static/titles.js", js, "no-cache", false}, // imported by sw.js
		{"/static/reader.js", js, "public, max-age=300", false},
		{"/static/ticker.css", "text/css; charset=utf-8", "public, max-age=300", false},
		{"/static/newsroom.js", js, "public, max-age=300", false},
	}
	for _, c := range cases {
		res := get(c.path, nil)
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || res.Header.Get("Cache-Control") != c.cache ||
			len(etag) < 10 || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v", c.path, res.StatusCode, res.Header)
		}
		// Scripts are modules other sites' pages load (with CORS); pages
		// are not for other origins to read.
		if acao := res.Header.Get("Access-Control-Allow-Origin"); (c.ctype == js) != (acao == "*") {
			t.Errorf("%s: Access-Control-Allow-Origin %q", c.path, acao)
		}
		if csp := res.Header.Get("Content-Security-Policy"); c.page != (csp != "") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", c.path, csp)
		}
		if r := get(c.path, map[string]string{"If-None-Match": etag}); r.StatusCode != 304 {
			t.Errorf("%s: If-None-Match answered %d", c.path, r.StatusCode)
		}
		if r := get(c.path, map[string]string{"If-None-Match": `"other"`}); r.StatusCode != 200 {
			t.Errorf("%s: a stale ETag answered %d", c.path, r.StatusCode)
		}
	}
	for _, p := range []string{"/static/missing.js", "/static/ticker.js", "/static/index.html"} {
		if res := get(p, nil); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404 (a missing file, or a routed file at a second URL)", p, res.StatusCode)
		}
	}
}

// TestPagesHaveNothingInline: the CSP forbids inline scripts, styles and
// handlers, so the pages must not have any.
func TestPagesHaveNothingInline(t *testing.T) {
	for _, name := range []string{"static/index.html", "static/newsroom.html"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		html := strings.ToLower(string(b))
		for _, bad := range []string{"<style", " style=", " onclick=", " onload=", " onerror=", "javascript:"} {
			if strings.Contains(html, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		for _, s := range strings.Split(html, "<script")[1:] {
			if !strings.Contains(s[:strings.Index(s, ">")], "src=") {
				t.Errorf("%s has an inline script", name)
			}
		}
	}
}

// TestTickerBudget: what a page with the ticker downloads (ticker.js and
// the modules it imports; the CSS apart) stays small, unminified.
func TestTickerBudget(t *testing.T) {
	total := 0
	for _, name := range []string{"static/ticker.js", "static/reader.js", "static/titles.js"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
	}
	if total >= tickerBudget {
		t.Fatalf("the ticker's scripts are %d bytes; the budget is %d unminified", total, tickerBudget)
	}
}

const tickerBudget = 20 * 1000

// TestScriptImportsResolve: every module import and importScripts in the
// scripts names a file that is served, at the URL the browser asks for.
func TestScriptImportsResolve(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	// Static imports, importScripts, and import() of a literal, maybe
	// through a helper that resolves it (ticker.js: import(near("./x.js"))).
	imports := regexp.MustCompile(`(?m)^\s*import\s+(?:[^"';]*\s+from\s+)?["']([^"']+)["']|(?:importScripts|\bimport)\(\s*(?:\w+\(\s*)?["']([^"']+)["']`)
	found := 0
	for route := range a.byPath {
		if !strings.HasSuffix(route, ".js") {
			continue
		}
		base, _ := url.Parse("http://server" + route)
		for _, m := range imports.FindAllStringSubmatch(string(a.byPath[route].body), -1) {
			spec := m[1] + m[2]
			ref, err := base.Parse(spec)
			if err != nil || ref.Host != "server" || a.byPath[ref.Path] == nil {
				t.Errorf("%s imports %q: not a served file", route, spec)
			}
			found++
		}
	}
	if found < 5 { // ticker.js 2, newsroom.js 2, sw.js 1
		t.Errorf("found %d imports; the pattern no longer sees them", found)
	}
}

// TestEmbedsOnlyStatic: the linter's files beside static/ (package.json,
// node_modules) are not embedded.
func TestEmbedsOnlyStatic(t *testing.T) {
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && p != "static" && !strings.HasPrefix(p, "static/") || strings.Contains(p, "node_modules") ||
			strings.HasSuffix(p, "package.json") || strings.HasSuffix(p, "package-lock.json") {
			t.Errorf("embedded: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
