package feed

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/history"
	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// Limits of the limit query parameter.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// CacheControl lets a CDN in front keep a feed for a few seconds and serve
// it a little longer while it revalidates.
const CacheControl = "public, max-age=15, stale-while-revalidate=30"

// Paths of the feeds and of the hub they name.
const (
	PathJSON = "/feeds/items.json"
	PathAtom = "/feeds/items.atom"
	PathRSS  = "/feeds/items.rss"
	PathHub  = "/websub"
)

// Content types of the feeds.
const (
	TypeJSON = "application/feed+json"
	TypeAtom = "application/atom+xml; charset=utf-8"
	TypeRSS  = "application/rss+xml; charset=utf-8"
)

// Deps wire the feeds. Log and Taxonomy are required.
type Deps struct {
	Log      *history.Log
	Taxonomy *news.Taxonomy
	// Stories says which stories exist, for stories=. Default: none, and
	// every story is unknown_story.
	Stories news.Stories
	// Ready reports whether the Log has caught up with the stream; before,
	// feeds answer 503 not_ready rather than an empty or stale document
	// that a CDN would keep. Default: always ready.
	Ready func() bool
}

// Options of the feeds; the zero value of a field is its default.
type Options struct {
	// PublicURL is where readers reach this server (scheme, host and an
	// optional path prefix, such as https://news.example.com): the base of
	// the feeds' self links, the hub's URL, the items' API links and the
	// host of their tag: ids. Default: taken from each request (its Host,
	// and https when it came over TLS), which is not stable behind proxies.
	PublicURL string
	// Hub says a WebSub hub is served at PathHub: the feeds name it (Link
	// rel=hub, JSON Feed hubs, the Atom and RSS hub links). False, the
	// default: they name none, rather than a hub that answers 404.
	Hub bool
}

// CheckPublicURL reports whether s can be Options.PublicURL: an absolute
// http or https URL with a host and no query or fragment.
func CheckPublicURL(s string) error {
	_, err := parsePublicURL(s)
	return err
}

func parsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("public URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("public URL: want http:// or https://")
	case u.Hostname() == "":
		return nil, errors.New("public URL: it has no host")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("public URL: want scheme, host and path only")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Feeds serves the three feeds.
type Feeds struct {
	deps   Deps
	public *url.URL // nil: from each request
	hub    bool     // Options.Hub
}

// New checks deps and opts. It starts no goroutine.
func New(deps Deps, opts Options) (*Feeds, error) {
	if deps.Log == nil || deps.Taxonomy == nil {
		return nil, errors.New("feed: Log and Taxonomy are required")
	}
	f := &Feeds{deps: deps, hub: opts.Hub}
	if opts.PublicURL != "" {
		u, err := parsePublicURL(opts.PublicURL)
		if err != nil {
			return nil, err
		}
		f.public = u
	}
	return f, nil
}

// Register adds the three feeds to r (the engine's root).
func (f *Feeds) Register(r gin.IRoutes) {
	r.GET(PathJSON, f.serve(formatJSON))
	r.GET(PathAtom, f.serve(formatAtom))
	r.GET(PathRSS, f.serve(formatRSS))
}

// format is one of the three encodings.
type format struct {
	name, path, contentType string
	encode                  func(*document) ([]byte, error)
}

var (
	formatJSON = &format{"json", PathJSON, TypeJSON, encodeJSON}
	formatAtom = &format{"atom", PathAtom, TypeAtom, encodeAtom}
	formatRSS  = &format{"rss", PathRSS, TypeRSS, encodeRSS}
)

var errNotReady = &httperr.Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "the server is starting; try again", RetryAfter: "1"}

// query is a feed request's filter and limit.
type query struct {
	filter news.Filter
	limit  int
}

// parseQuery reads the filter as GET /api/v1/items does (the same
// functions, so the same errors) and the limit.
func (f *Feeds) parseQuery(c *gin.Context) (query, error) {
	var q query
	var err error
	if q.filter, err = f.deps.Taxonomy.ParseFilter(c.Query("regions"), c.Query("topics"), c.Query("langs")); err != nil {
		return q, err
	}
	if q.filter.Stories, err = news.ParseStories(c.Query("stories")); err != nil {
		return q, err
	}
	if err = news.KnownStories(f.deps.Stories, "stories", q.filter.Stories); err != nil {
		return q, err
	}
	q.limit = DefaultLimit
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return q, httperr.Field(http.StatusBadRequest, "invalid_limit", "limit",
				"limit must be a whole number from 1 to "+strconv.Itoa(MaxLimit))
		}
		q.limit = n
	}
	return q, nil
}

func (f *Feeds) serve(fm *format) gin.HandlerFunc {
	return func(c *gin.Context) {
		q, err := f.parseQuery(c)
		if err != nil {
			httperr.Abort(c, err)
			return
		}
		if f.deps.Ready != nil && !f.deps.Ready() {
			httperr.Abort(c, errNotReady)
			return
		}
		entries, head := f.deps.Log.Latest(q.filter, q.limit)
		base := f.base(c.Request)
		self := selfURL(base, fm.path, q)
		etag := entityTag(fm, base, q, entries)
		var modified time.Time
		if e, ok := f.deps.Log.Entry(head); ok && head != 0 {
			modified = e.Event.Item.UpdatedAt.UTC().Truncate(time.Second)
		}
		h := c.Writer.Header()
		h.Set("ETag", etag)
		if !modified.IsZero() {
			h.Set("Last-Modified", modified.Format(http.TimeFormat))
		}
		h.Set("Cache-Control", CacheControl)
		hub := ""
		if f.hub {
			hub = base + PathHub
			h.Set("Link", "<"+hub+`>; rel="hub", <`+self+`>; rel="self"`)
		} else {
			h.Set("Link", "<"+self+`>; rel="self"`)
		}
		if notModified(c.Request, etag, modified) {
			c.Status(http.StatusNotModified)
			return
		}
		doc := newDocument(base, self, hub, q, entries)
		body, err := fm.encode(doc)
		if err != nil {
			httperr.Abort(c, fmt.Errorf("encode %s feed: %w", fm.name, err))
			return
		}
		c.Data(http.StatusOK, fm.contentType, body)
	}
}

// base is the public URL without a trailing slash.
func (f *Feeds) base(r *http.Request) string {
	if f.public != nil {
		return f.public.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// selfURL is the feed's canonical URL: the filter as parsed (normalised,
// sorted), so that equal feeds have one URL whatever the spelling of the
// request.
func selfURL(base, path string, q query) string {
	var parts []string
	add := func(name string, vals []string) {
		if len(vals) == 0 {
			return
		}
		esc := make([]string, len(vals))
		for i, v := range vals {
			esc[i] = url.QueryEscape(v)
		}
		parts = append(parts, name+"="+strings.Join(esc, ","))
	}
	add("regions", q.filter.Regions)
	add("topics", q.filter.Topics)
	add("langs", q.filter.Langs)
	add("stories", q.filter.Stories)
	if q.limit != DefaultLimit {
		parts = append(parts, "limit="+strconv.Itoa(q.limit))
	}
	if len(parts) == 0 {
		return base + path
	}
	return base + path + "?" + strings.Join(parts, "&")
}

// entityTag is a strong tag of the document: it hashes everything the
// document is made of (the format, the public URL, the filter, the limit
// and the seq of every listed version), so equal tags mean equal bytes. It
// changes only when the feed does: an event outside the filter leaves it.
func entityTag(fm *format, base string, q query, entries []*history.Entry) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%d\n", fm.name, base, q.filter.Key(), q.limit)
	var b [8]byte
	for _, e := range entries {
		binary.BigEndian.PutUint64(b[:], e.Event.Seq)
		h.Write(b[:])
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// notModified applies RFC 9110's rules: If-None-Match when given (weak
// comparison, * matches), else If-Modified-Since against modified.
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
		return false
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || modified.IsZero() {
		return false
	}
	since, err := http.ParseTime(ims)
	return err == nil && !modified.After(since)
}
