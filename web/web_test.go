package web

import (
	"net/http"
	"net/http/httptest"
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
	cases := []struct {
		path, ctype, cache string
		page               bool
	}{
		{"/", "text/html", "no-cache", true},
		{"/newsroom", "text/html", "no-cache", true},
		{"/ticker.js", "javascript", "public, max-age=300", false},
		{"/sw.js", "javascript", "no-cache", false},
		{"/static/ticker.css", "text/css", "public, max-age=300", false},
		{"/static/newsroom.js", "javascript", "public, max-age=300", false},
	}
	for _, c := range cases {
		res := get(c.path, nil)
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), c.ctype) || res.Header.Get("Cache-Control") != c.cache ||
			len(etag) < 10 || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v", c.path, res.StatusCode, res.Header)
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
	if res := get("/static/missing.js", nil); res.StatusCode != 404 {
		t.Errorf("missing file: %d", res.StatusCode)
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

func TestTickerUnder15KB(t *testing.T) {
	b, err := files.ReadFile("static/ticker.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= 15*1000 {
		t.Fatalf("ticker.js is %d bytes; the budget is 15 KB unminified", len(b))
	}
}
