// Package web holds the pages and scripts Newsflash serves itself, embedded
// in the binary: the embeddable live ticker (/ticker.js), the demo page with
// the push opt-in (/), the service worker (/sw.js) and the newsroom console
// (/newsroom). Plain JavaScript and CSS, no build step: the console (a
// module) and the ticker (a classic script, as sites embed it, that loads
// modules with import()) share the reader-protocol client (reader.js), and
// the notification titles (titles.js) are one classic script that the
// service worker imports too. The JavaScript linter's files (package.json,
// eslint.config.js, node_modules) sit in web/, outside the embedded static/.
//
// Handler serves them with strong ETags, cache headers and a
// Content-Security-Policy that needs no 'unsafe-inline'. Everything is built
// once at start; the handler is safe for concurrent use.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// CSP is the Content-Security-Policy of the pages: scripts, styles and
// connections only from this origin, nothing inline, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type asset struct {
	body  []byte
	etag  string
	ctype string
	cache string
	page  bool // an HTML page: gets the CSP
	cors  bool // a script other sites load as a module: readable from any origin
}

// types are the Content-Types of the files we ship, the same on every
// system (mime.TypeByExtension reads the system's tables; a module script
// must come with a JavaScript type or the browser refuses it).
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// Assets are the embedded files by URL path.
type Assets struct {
	byPath map[string]*asset
}

// routes maps public paths to embedded files; other files are under /static/.
var routes = map[string]string{
	"/":          "index.html",
	"/newsroom":  "newsroom.html",
	"/ticker.js": "ticker.js",
	"/sw.js":     "sw.js",
}

// Load reads and fingerprints the embedded files.
func Load() (*Assets, error) {
	a := &Assets{byPath: map[string]*asset{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ct := types[path.Ext(name)]
		if ct == "" {
			ct = mime.TypeByExtension(path.Ext(name))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		as := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ct, cache: "public, max-age=300"}
		if strings.HasSuffix(name, ".html") || name == "sw.js" || name == "titles.js" {
			// Pages, the service worker and the script it imports are
			// revalidated every time (cheap with the ETag), so a deploy is
			// seen at once.
			as.cache = "no-cache"
		}
		as.page = strings.HasSuffix(name, ".html")
		// The ticker on another site imports the reader client and the
		// titles (and /ticker.js itself, when the site's tag says
		// type="module"); the browser fetches modules with CORS. They are
		// public and sent without credentials, so any origin may read them.
		as.cors = strings.HasSuffix(name, ".js")
		a.byPath["/static/"+name] = as
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A routed file has that one URL: the modules a script imports are
	// found relative to it (/ticker.js imports ./static/reader.js).
	for route, name := range routes {
		if as, ok := a.byPath["/static/"+name]; ok {
			a.byPath[route] = as
			delete(a.byPath, "/static/"+name)
		}
	}
	return a, nil
}

// Paths lists the routes that serve a file, for the router.
func (a *Assets) Paths() []string {
	out := make([]string, 0, len(a.byPath))
	for p := range a.byPath {
		out = append(out, p)
	}
	return out
}

// ServeHTTP answers GET and HEAD for a known path, with 304 for a matching
// If-None-Match.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	as, ok := a.byPath[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", as.etag)
	h.Set("Cache-Control", as.cache)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	if as.cors {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	if as.page {
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, as.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", as.ctype)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write(as.body)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
