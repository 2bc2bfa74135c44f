package feed_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/feed"
	"newsflash/internal/history"
	"newsflash/internal/news"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// stories knows the stories it lists (all open).
type stories map[string]bool

func (s stories) Open(slug string) bool  { return s[slug] }
func (s stories) Known(slug string) bool { return s[slug] }

// arabic is a right-to-left line with a mark and punctuation that must
// survive every encoding byte for byte.
const arabic = "عاجل: وقف إطلاق النار في غزة يبدأ الساعة ٨ صباحاً \u200f«تحديث» & <مباشر>"

var t0 = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

// fixture is a history log served by the feeds on a real listener.
type fixture struct {
	t    *testing.T
	log  *history.Log
	srv  *httptest.Server
	seq  uint64
	now  time.Time
	byID map[string]news.Item
}

func newFixture(t *testing.T, opts feed.Options) *fixture {
	t.Helper()
	fx := &fixture{t: t, log: history.New(history.Options{Now: func() time.Time { return t0.Add(time.Hour) }}), now: t0, byID: map[string]news.Item{}}
	f, err := feed.New(feed.Deps{Log: fx.log, Taxonomy: news.DefaultTaxonomy(), Stories: stories{"gaza-truce": true}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	f.Register(e)
	fx.srv = httptest.NewServer(e)
	t.Cleanup(fx.srv.Close)
	return fx
}

// post appends a new live item and returns it.
func (fx *fixture) post(id, text, lang string, regions []string, mutate func(*news.Item)) news.Item {
	fx.seq++
	fx.now = fx.now.Add(time.Minute)
	it := news.Item{ID: id, Seq: fx.seq, PublishedSeq: fx.seq, Version: 1, Status: news.StatusLive, Text: text, Lang: lang,
		Regions: regions, Priority: news.PriorityBreaking, Editor: "alice", PublishedAt: fx.now, UpdatedAt: fx.now}
	if mutate != nil {
		mutate(&it)
	}
	fx.log.Append(news.Event{Type: news.EventItem, Seq: fx.seq, Item: it})
	fx.byID[id] = it
	return it
}

// change appends a correction (text) or, with an empty text, a retraction.
func (fx *fixture) change(id, text string) news.Item {
	fx.seq++
	fx.now = fx.now.Add(time.Minute)
	it := fx.byID[id]
	it.Seq, it.Version, it.UpdatedAt, it.UpdatedBy = fx.seq, it.Version+1, fx.now, "ed"
	typ := news.EventUpdate
	if text == "" {
		typ, it.Status = news.EventRetract, news.StatusRetracted
	} else {
		it.Text = text
	}
	fx.log.Append(news.Event{Type: typ, Seq: fx.seq, Item: it})
	fx.byID[id] = it
	return it
}

func (fx *fixture) get(path string, hdr ...string) (*http.Response, []byte) {
	fx.t.Helper()
	req, err := http.NewRequest(http.MethodGet, fx.srv.URL+path, nil)
	if err != nil {
		fx.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := fx.srv.Client().Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		fx.t.Fatal(err)
	}
	return res, b
}

var paths = []string{feed.PathJSON, feed.PathAtom, feed.PathRSS}

func TestBadQuery(t *testing.T) {
	fx := newFixture(t, feed.Options{})
	fx.post("a1", "one", "en", []string{"mena"}, nil)
	tests := []struct {
		name, query, code, field string
	}{
		{"unknown region", "regions=mars", "unknown_region", "regions"},
		{"unknown topic", "topics=gossip", "unknown_topic", "topics"},
		{"unknown lang", "langs=xx", "unknown_lang", "langs"},
		{"too many regions", "regions=" + strings.Repeat("mena,", 65), "too_many_regions", "regions"},
		{"too many topics", "topics=" + strings.Repeat("sports,", 65), "too_many_topics", "topics"},
		{"too many langs", "langs=" + strings.Repeat("en,", 65), "too_many_langs", "langs"},
		{"invalid story", "stories=Not_A_Slug", "invalid_story", "stories"},
		{"too many stories", "stories=" + strings.Repeat("gaza-truce,", 65), "too_many_stories", "stories"},
		{"unknown story", "stories=no-such-story", "unknown_story", "stories"},
		{"limit 0", "limit=0", "invalid_limit", "limit"},
		{"limit 101", "limit=101", "invalid_limit", "limit"},
		{"limit negative", "limit=-1", "invalid_limit", "limit"},
		{"limit a word", "limit=ten", "invalid_limit", "limit"},
		{"limit a fraction", "limit=1.5", "invalid_limit", "limit"},
		{"bad filter and bad limit: the filter first", "regions=mars&limit=0", "unknown_region", "regions"},
	}
	for _, p := range paths {
		for _, tt := range tests {
			t.Run(p+"/"+tt.name, func(t *testing.T) {
				res, body := fx.get(p + "?" + tt.query)
				if res.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", res.StatusCode, body)
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q, want JSON", ct)
				}
				var e struct {
					Error struct{ Code, Message, Field string }
				}
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("%v: %s", err, body)
				}
				if e.Error.Code != tt.code || e.Error.Field != tt.field || e.Error.Message == "" {
					t.Errorf("error %+v, want code %s field %s and a message", e.Error, tt.code, tt.field)
				}
				if res.Header.Get("ETag") != "" {
					t.Error("a refused request got an ETag")
				}
			})
		}
	}
}

// Parsed forms of the three feeds, as far as the tests look at them.
type (
	jsonDoc struct {
		Version, Title, HomePageURL string
		FeedURL                     string `json:"feed_url"`
		Language                    string
		Hubs                        []struct{ Type, URL string }
		Items                       []struct {
			ID, URL, Title, Language string
			ContentText              string    `json:"content_text"`
			DatePublished            time.Time `json:"date_published"`
			DateModified             time.Time `json:"date_modified"`
			Tags                     []string
		}
	}
	atomDoc struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
		ID      string   `xml:"id"`
		Updated string   `xml:"updated"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Entries []struct {
			Lang  string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
			ID    string `xml:"id"`
			Title struct {
				Type string `xml:"type,attr"`
				Text string `xml:",chardata"`
			} `xml:"title"`
			Link struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Published  string `xml:"published"`
			Updated    string `xml:"updated"`
			Categories []struct {
				Term string `xml:"term,attr"`
			} `xml:"category"`
		} `xml:"entry"`
	}
	rssDoc struct {
		XMLName xml.Name `xml:"rss"`
		Version string   `xml:"version,attr"`
		Channel struct {
			Language  string `xml:"language"`
			AtomLinks []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"http://www.w3.org/2005/Atom link"`
			Items []struct {
				Title       string   `xml:"title"`
				Link        string   `xml:"link"`
				Description string   `xml:"description"`
				PubDate     string   `xml:"pubDate"`
				GUID        string   `xml:"guid"`
				Updated     string   `xml:"http://www.w3.org/2005/Atom updated"`
				Categories  []string `xml:"category"`
			} `xml:"item"`
		} `xml:"channel"`
	}
)

// parsed is what every format says of an entry.
type parsed struct {
	id, link, text, lang string
	published, updated   time.Time
	cats                 []string
}

// entries fetches path in every format and returns what each says, after
// checking the formats agree.
func (fx *fixture) entries(query string) []parsed {
	fx.t.Helper()
	var all [][]parsed
	for _, p := range paths {
		res, body := fx.get(p + query)
		if res.StatusCode != http.StatusOK {
			fx.t.Fatalf("%s%s: %d %s", p, query, res.StatusCode, body)
		}
		var got []parsed
		switch p {
		case feed.PathJSON:
			var d jsonDoc
			if err := json.Unmarshal(body, &d); err != nil {
				fx.t.Fatalf("%s: %v", p, err)
			}
			for _, it := range d.Items {
				if it.Title != it.ContentText {
					fx.t.Errorf("JSON title %q and content_text %q differ", it.Title, it.ContentText)
				}
				got = append(got, parsed{it.ID, it.URL, it.ContentText, it.Language, it.DatePublished, it.DateModified, it.Tags})
			}
		case feed.PathAtom:
			var d atomDoc
			if err := xml.Unmarshal(body, &d); err != nil {
				fx.t.Fatalf("%s: %v\n%s", p, err, body)
			}
			for _, e := range d.Entries {
				if e.Title.Type != "text" {
					fx.t.Errorf("Atom title type %q, want text", e.Title.Type)
				}
				pe := parsed{id: e.ID, link: e.Link.Href, text: e.Title.Text, lang: e.Lang}
				pe.published, _ = time.Parse(time.RFC3339, e.Published)
				pe.updated, _ = time.Parse(time.RFC3339, e.Updated)
				for _, c := range e.Categories {
					pe.cats = append(pe.cats, c.Term)
				}
				got = append(got, pe)
			}
		case feed.PathRSS:
			var d rssDoc
			if err := xml.Unmarshal(body, &d); err != nil {
				fx.t.Fatalf("%s: %v\n%s", p, err, body)
			}
			for _, it := range d.Channel.Items {
				if it.Title != it.Description {
					fx.t.Errorf("RSS title %q and description %q differ", it.Title, it.Description)
				}
				pe := parsed{id: it.GUID, link: it.Link, text: it.Description, cats: it.Categories}
				pe.published, _ = time.Parse(time.RFC1123Z, it.PubDate)
				pe.updated, _ = time.Parse(time.RFC3339, it.Updated)
				got = append(got, pe)
			}
		}
		all = append(all, got)
	}
	for i, got := range all[1:] {
		for j := range got {
			if paths[i+1] == feed.PathRSS && j < len(all[0]) {
				got[j].lang = all[0][j].lang // RSS has no language per item
			}
			if j < len(all[0]) && !equal(got[j], all[0][j]) {
				fx.t.Errorf("%s entry %d = %+v, JSON Feed says %+v", paths[i+1], j, got[j], all[0][j])
			}
		}
		if len(got) != len(all[0]) {
			fx.t.Errorf("%s has %d entries, JSON Feed %d", paths[i+1], len(got), len(all[0]))
		}
	}
	return all[0]
}

func equal(a, b parsed) bool {
	return a.id == b.id && a.link == b.link && a.text == b.text && a.lang == b.lang &&
		a.published.Equal(b.published) && a.updated.Equal(b.updated) && slices.Equal(a.cats, b.cats)
}

func ids(es []parsed) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.id[strings.LastIndex(e.id, "/")+1:]
	}
	return out
}

func TestContent(t *testing.T) {
	fx := newFixture(t, feed.Options{PublicURL: "https://news.example.com/"})
	fx.post("en1", "Markets fall", "en", []string{"europe"}, func(it *news.Item) { it.Topics = []string{"economy"} })
	ar := fx.post("ar1", arabic, "ar", []string{"mena", "palestine"}, func(it *news.Item) {
		it.URL, it.Story, it.Topics = "https://news.example.com/ar/1", "gaza-truce", []string{"politics"}
	})
	fx.post("gone", "Wrong line", "en", []string{"mena"}, nil)
	fx.post("es1", "Terremoto", "es", []string{"latin-america"}, nil)
	fx.change("en1", "Markets fall 3%")
	fx.change("gone", "")
	en := fx.byID["en1"]

	got := fx.entries("")
	if want := []string{"es1", "ar1", "en1"}; !slices.Equal(ids(got), want) {
		t.Fatalf("entries %v, want %v (newest first, the retracted one gone)", ids(got), want)
	}
	a := got[1]
	if a.text != arabic {
		t.Errorf("Arabic text = %q, want %q", a.text, arabic)
	}
	if a.id != "tag:news.example.com,2025:items/ar1" || a.link != ar.URL || a.lang != "ar" {
		t.Errorf("Arabic entry %+v", a)
	}
	if want := []string{"mena", "palestine", "politics", "gaza-truce"}; !slices.Equal(a.cats, want) {
		t.Errorf("categories %v, want %v", a.cats, want)
	}
	c := got[2]
	if c.text != "Markets fall 3%" || !c.updated.Equal(en.UpdatedAt) || !c.published.Equal(en.PublishedAt) || c.updated.Equal(c.published) {
		t.Errorf("corrected entry %+v, want the new text, published %v, updated %v", c, en.PublishedAt, en.UpdatedAt)
	}
	if c.link != "https://news.example.com/api/v1/items/en1" {
		t.Errorf("link of an item without url = %q, want its API URL", c.link)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"?langs=ar", []string{"ar1"}},
		{"?regions=europe,latin-america", []string{"es1", "en1"}},
		{"?topics=economy", []string{"en1"}},
		{"?stories=gaza-truce", []string{"ar1"}},
		{"?regions=mena", []string{"ar1"}}, // the retracted mena item stays out
		{"?limit=2", []string{"es1", "ar1"}},
		{"?langs=en&regions=mena", nil},
	} {
		if got := ids(fx.entries(tt.query)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	// No editor names in any feed; RSS and Atom carry the one language of
	// a one-language filter.
	for _, p := range paths {
		_, body := fx.get(p + "?langs=ar")
		if strings.Contains(string(body), "alice") || strings.Contains(string(body), `"ed"`) {
			t.Errorf("%s names the newsroom staff: %s", p, body)
		}
	}
	_, body := fx.get(feed.PathRSS + "?langs=ar")
	var r rssDoc
	if err := xml.Unmarshal(body, &r); err != nil || r.Channel.Language != "ar" {
		t.Errorf("RSS channel language %q (%v), want ar", r.Channel.Language, err)
	}
	_, body = fx.get(feed.PathRSS)
	r = rssDoc{}
	if err := xml.Unmarshal(body, &r); err != nil || r.Channel.Language != "" {
		t.Errorf("RSS channel language %q (%v) for a feed of three languages, want none", r.Channel.Language, err)
	}
}

func TestEmpty(t *testing.T) {
	fx := newFixture(t, feed.Options{})
	if got := fx.entries(""); len(got) != 0 {
		t.Fatalf("entries %v in an empty log", got)
	}
	res, body := fx.get(feed.PathJSON)
	if !strings.Contains(string(body), `"items":[]`) {
		t.Errorf("empty JSON Feed has no items list: %s", body)
	}
	if res.Header.Get("Last-Modified") != "" {
		t.Errorf("Last-Modified %q for an empty log", res.Header.Get("Last-Modified"))
	}
}

func TestHeaders(t *testing.T) {
	for _, tt := range []struct {
		name, public, base string
	}{
		{"public URL", "https://news.example.com/wire/", "https://news.example.com/wire"},
		{"from the request", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, feed.Options{PublicURL: tt.public, Hub: true})
			fx.post("a1", "one", "en", []string{"mena"}, nil)
			base := tt.base
			if base == "" {
				base = fx.srv.URL
			}
			for _, p := range paths {
				res, body := fx.get(p + "?langs=EN,en&limit=7&regions=mena")
				self := base + p + "?regions=mena&langs=en&limit=7"
				want := map[string]string{
					"Content-Type":  map[string]string{feed.PathJSON: feed.TypeJSON, feed.PathAtom: feed.TypeAtom, feed.PathRSS: feed.TypeRSS}[p],
					"Cache-Control": "public, max-age=15, stale-while-revalidate=30",
					"Link":          "<" + base + `/websub>; rel="hub", <` + self + `>; rel="self"`,
					"Last-Modified": fx.byID["a1"].UpdatedAt.Format(http.TimeFormat),
				}
				for k, v := range want {
					if got := res.Header.Get(k); got != v {
						t.Errorf("%s %s = %q, want %q", p, k, got, v)
					}
				}
				if et := res.Header.Get("ETag"); !strings.HasPrefix(et, `"`) || len(et) < 10 {
					t.Errorf("%s ETag %q, want a strong tag", p, et)
				}
				inDoc := self
				if p != feed.PathJSON {
					inDoc = strings.ReplaceAll(self, "&", "&amp;")
				}
				for _, s := range []string{inDoc, base + "/websub"} {
					if !strings.Contains(string(body), s) {
						t.Errorf("%s does not name %s in the document:\n%s", p, s, body)
					}
				}
				u, _ := url.Parse(base)
				if !strings.Contains(string(body), "tag:"+u.Hostname()+",2025:items/a1") {
					t.Errorf("%s: ids not tag: URIs of the public host:\n%s", p, body)
				}
			}
			_, body := fx.get(feed.PathJSON)
			var d jsonDoc
			if err := json.Unmarshal(body, &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Hubs) != 1 || d.Hubs[0].Type != "WebSub" || d.Hubs[0].URL != base+"/websub" || d.FeedURL != base+feed.PathJSON {
				t.Errorf("hubs %+v, feed_url %q", d.Hubs, d.FeedURL)
			}
			_, body = fx.get(feed.PathAtom)
			var a atomDoc
			if err := xml.Unmarshal(body, &a); err != nil {
				t.Fatal(err)
			}
			rels := map[string]string{}
			for _, l := range a.Links {
				rels[l.Rel] = l.Href
			}
			if rels["self"] != base+feed.PathAtom || rels["hub"] != base+"/websub" {
				t.Errorf("Atom links %v", rels)
			}
			_, body = fx.get(feed.PathRSS)
			var r rssDoc
			if err := xml.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			rels = map[string]string{}
			for _, l := range r.Channel.AtomLinks {
				rels[l.Rel] = l.Href
			}
			if rels["self"] != base+feed.PathRSS || rels["hub"] != base+"/websub" || r.Version != "2.0" {
				t.Errorf("RSS version %q, atom:links %v", r.Version, rels)
			}
		})
	}
}

func TestConditional(t *testing.T) {
	fx := newFixture(t, feed.Options{})
	fx.post("a1", "one", "en", []string{"mena"}, nil)
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			res, _ := fx.get(p + "?regions=mena")
			etag, lastMod := res.Header.Get("ETag"), res.Header.Get("Last-Modified")
			for _, tt := range []struct {
				name   string
				hdr    []string
				status int
			}{
				{"If-None-Match", []string{"If-None-Match", etag}, 304},
				{"If-None-Match weak", []string{"If-None-Match", "W/" + etag}, 304},
				{"If-None-Match in a list", []string{"If-None-Match", `"other", ` + etag}, 304},
				{"If-None-Match *", []string{"If-None-Match", "*"}, 304},
				{"If-None-Match other", []string{"If-None-Match", `"other"`}, 200},
				{"If-Modified-Since", []string{"If-Modified-Since", lastMod}, 304},
				{"If-Modified-Since later", []string{"If-Modified-Since", fx.now.Add(time.Hour).Format(http.TimeFormat)}, 304},
				{"If-Modified-Since earlier", []string{"If-Modified-Since", fx.now.Add(-time.Second).Format(http.TimeFormat)}, 200},
				{"If-Modified-Since garbage", []string{"If-Modified-Since", "yesterday"}, 200},
				{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"other"`, "If-Modified-Since", lastMod}, 200},
			} {
				res, body := fx.get(p+"?regions=mena", tt.hdr...)
				if res.StatusCode != tt.status {
					t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.status)
				}
				if tt.status == 304 && (len(body) != 0 || res.Header.Get("ETag") != etag || res.Header.Get("Link") == "" || res.Header.Get("Cache-Control") == "") {
					t.Errorf("%s: 304 with body %q, headers %v", tt.name, body, res.Header)
				}
			}
			// The same feed spelled otherwise has the same tag; another
			// limit has another.
			if res, _ := fx.get(p + "?regions=MENA,mena&limit=50"); res.Header.Get("ETag") != etag {
				t.Errorf("ETag %q for the same feed spelled otherwise, want %q", res.Header.Get("ETag"), etag)
			}
			if res, _ := fx.get(p + "?regions=mena&limit=49"); res.Header.Get("ETag") == etag {
				t.Error("another limit has the same ETag")
			}
		})
	}
	tags := func(q string) []string {
		var out []string
		for _, p := range paths {
			res, _ := fx.get(p + q)
			out = append(out, res.Header.Get("ETag"))
		}
		return out
	}
	before := tags("?regions=mena")
	if before[0] == before[1] || before[1] == before[2] {
		t.Errorf("formats share an ETag: %v", before)
	}
	// An event outside the filter leaves the tag (and the feed) alone.
	fx.post("e1", "elsewhere", "en", []string{"europe"}, nil)
	if got := tags("?regions=mena"); !slices.Equal(got, before) {
		t.Errorf("ETags after an event outside the filter %v, want %v", got, before)
	}
	for _, step := range []struct {
		name string
		do   func()
	}{
		{"a post", func() { fx.post("a2", "two", "en", []string{"mena"}, nil) }},
		{"a correction", func() { fx.change("a1", "one, corrected") }},
		{"a retraction", func() { fx.change("a1", "") }},
	} {
		step.do()
		got := tags("?regions=mena")
		for i := range got {
			if got[i] == before[i] {
				t.Errorf("after %s %s keeps its ETag", step.name, paths[i])
			}
			if res, _ := fx.get(paths[i]+"?regions=mena", "If-None-Match", before[i]); res.StatusCode != http.StatusOK {
				t.Errorf("after %s %s answers the old ETag %d, want 200", step.name, paths[i], res.StatusCode)
			}
		}
		before = got
	}
	// After the retraction of the newest-changed item, Last-Modified does
	// not go back: a client that saw the correction gets the feed without
	// the item, not 304.
	res, _ := fx.get(feed.PathAtom + "?regions=mena")
	if lm := res.Header.Get("Last-Modified"); lm != fx.now.Format(http.TimeFormat) {
		t.Errorf("Last-Modified after a retraction %q, want %q", lm, fx.now.Format(http.TimeFormat))
	}
	if res, _ := fx.get(feed.PathAtom+"?regions=mena", "If-Modified-Since", fx.now.Add(-time.Minute).Format(http.TimeFormat)); res.StatusCode != http.StatusOK {
		t.Errorf("If-Modified-Since the correction: %d after the retraction, want 200", res.StatusCode)
	}
}

func TestNotReady(t *testing.T) {
	ready := false
	log := history.New(history.Options{})
	f, err := feed.New(feed.Deps{Log: log, Taxonomy: news.DefaultTaxonomy(), Ready: func() bool { return ready }}, feed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	f.Register(e)
	for _, p := range paths {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"not_ready"`) || w.Header().Get("Retry-After") != "1" || w.Header().Get("ETag") != "" {
			t.Errorf("%s before ready: %d %v %s", p, w.Code, w.Header(), w.Body)
		}
	}
	ready = true
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, feed.PathRSS, nil))
	if w.Code != http.StatusOK {
		t.Errorf("ready: %d %s", w.Code, w.Body)
	}
}

func TestPublicURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://news.example.com", true},
		{"https://news.example.com/", true},
		{"http://localhost:8080/newsflash", true},
		{"news.example.com", false},
		{"ftp://news.example.com", false},
		{"https://", false},
		{"https://news.example.com/?a=b", false},
		{"https://news.example.com/#top", false},
		{"https://user:pw@news.example.com", false},
		{"https://news.example.com:x", false},
	} {
		err := feed.CheckPublicURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPublicURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
		if _, err2 := feed.New(feed.Deps{Log: history.New(history.Options{}), Taxonomy: news.DefaultTaxonomy()}, feed.Options{PublicURL: tt.url}); (err2 == nil) != tt.ok {
			t.Errorf("New with %q = %v, want ok %v", tt.url, err2, tt.ok)
		}
	}
	if _, err := feed.New(feed.Deps{}, feed.Options{}); err == nil {
		t.Error("New without a Log and Taxonomy succeeded")
	}
}

// TestNoHub: without a hub served (Options.Hub false) the feeds name none,
// in the Link header or in the document.
func TestNoHub(t *testing.T) {
	fx := newFixture(t, feed.Options{PublicURL: "https://news.example.com"})
	fx.post("a1", "one", "en", []string{"mena"}, nil)
	for _, p := range paths {
		res, body := fx.get(p)
		if l := res.Header.Get("Link"); l != "<https://news.example.com"+p+`>; rel="self"` {
			t.Errorf("%s: Link %q", p, l)
		}
		if b := string(body); strings.Contains(b, "websub") || strings.Contains(b, `"hubs"`) {
			t.Errorf("%s names a hub: %s", p, body)
		}
	}
}
