package feed_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"newsflash/internal/feed"
	"newsflash/internal/news"
)

// skipOrFail skips a test that needs an outside program, or fails it when
// NEWSFLASH_E2E=1 (CI has them all).
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("NEWSFLASH_E2E") == "1" {
		t.Fatal(why + " (NEWSFLASH_E2E=1)")
	}
	t.Skip(why)
}

// parseWithNode runs testdata/parser/parse.js (rss-parser) on a feed.
func parseWithNode(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed")
	}
	dir := filepath.Join("testdata", "parser")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "rss-parser")); err != nil {
		skipOrFail(t, "rss-parser is not installed: run npm ci in internal/feed/testdata/parser")
	}
	cmd := exec.Command(node, "parse.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rss-parser: %v\n%s\n%s", err, stderr.Bytes(), doc)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("rss-parser's output: %v\n%s", err, out)
	}
	return got
}

// TestIndependentParser has rss-parser read the Atom and RSS feeds, and
// checks the JSON Feed against the fields JSON Feed 1.1 defines.
func TestIndependentParser(t *testing.T) {
	fx := newFixture(t, feed.Options{PublicURL: "https://news.example.com", Hub: true})
	fx.post("en1", "Markets fall", "en", []string{"europe"}, func(it *news.Item) { it.Topics = []string{"economy"} })
	fx.post("ar1", arabic, "ar", []string{"mena"}, func(it *news.Item) { it.URL, it.Story = "https://news.example.com/ar/1", "gaza-truce" })
	fx.post("gone", "Wrong line", "en", []string{"mena"}, nil)
	fx.change("en1", "Markets fall 3% <again> & more")
	fx.change("gone", "")
	en := fx.byID["en1"]
	wantIDs := []string{"tag:news.example.com,2025:items/ar1", "tag:news.example.com,2025:items/en1"}
	wantTitles := []string{arabic, "Markets fall 3% <again> & more"}
	wantLinks := []string{"https://news.example.com/ar/1", "https://news.example.com/api/v1/items/en1"}

	for _, p := range []string{feed.PathAtom, feed.PathRSS} {
		t.Run(p, func(t *testing.T) {
			_, body := fx.get(p)
			got := parseWithNode(t, body)
			items, _ := got["items"].([]any)
			if len(items) != 2 {
				t.Fatalf("rss-parser found %d items, want 2: %v", len(items), got)
			}
			for i, raw := range items {
				it := raw.(map[string]any)
				id := it["id"]
				if p == feed.PathRSS {
					id = it["guid"]
				}
				if id != wantIDs[i] || it["title"] != wantTitles[i] || it["link"] != wantLinks[i] {
					t.Errorf("item %d: id %v title %q link %v, want %s %q %s", i, id, it["title"], it["link"], wantIDs[i], wantTitles[i], wantLinks[i])
				}
				if c, _ := it["content"].(string); c != wantTitles[i] {
					t.Errorf("item %d content %q, want the text %q", i, c, wantTitles[i])
				}
			}
			en1 := items[1].(map[string]any)
			updated := en1["updated"]
			if p == feed.PathRSS {
				updated = en1["atom:updated"]
				if d, _ := time.Parse(time.RFC3339, en1["isoDate"].(string)); !d.Equal(en.PublishedAt) {
					t.Errorf("RSS isoDate %v, want the first publication %v", en1["isoDate"], en.PublishedAt)
				}
			} else if d, _ := time.Parse(time.RFC3339, en1["published"].(string)); !d.Equal(en.PublishedAt) {
				t.Errorf("Atom published %v, want %v", en1["published"], en.PublishedAt)
			}
			if d, _ := time.Parse(time.RFC3339, updated.(string)); !d.Equal(en.UpdatedAt) {
				t.Errorf("updated %v, want the correction's time %v", updated, en.UpdatedAt)
			}
			if got["title"] != "Newsflash" || !strings.Contains(string(mustJSON(t, got)), "https://news.example.com/websub") {
				t.Errorf("feed title %v, or no hub link: %v", got["title"], got)
			}
			if p == feed.PathRSS && got["feedUrl"] != "https://news.example.com"+feed.PathRSS {
				t.Errorf("RSS feedUrl (atom:link rel=self) %v", got["feedUrl"])
			}
		})
	}

	t.Run(feed.PathJSON, func(t *testing.T) {
		_, body := fx.get(feed.PathJSON)
		checkJSONFeed(t, body)
		var d jsonDoc
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		var ids, titles []string
		for _, it := range d.Items {
			ids, titles = append(ids, it.ID), append(titles, it.ContentText)
		}
		if !slices.Equal(ids, wantIDs) || !slices.Equal(titles, wantTitles) {
			t.Errorf("JSON Feed ids %q texts %q, want %q %q", ids, titles, wantIDs, wantTitles)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkJSONFeed validates a document against JSON Feed 1.1: the top-level
// and item fields it defines with their types, the required ones present,
// anything else an extension (a name starting with _).
func checkJSONFeed(t *testing.T, body []byte) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not a JSON object: %v", err)
	}
	top := map[string]string{"version": "string", "title": "string", "home_page_url": "url", "feed_url": "url", "description": "string",
		"user_comment": "string", "next_url": "url", "icon": "url", "favicon": "url", "authors": "array", "language": "string",
		"expired": "bool", "hubs": "array", "items": "array"}
	item := map[string]string{"id": "string", "url": "url", "external_url": "url", "title": "string", "content_html": "string",
		"content_text": "string", "summary": "string", "image": "url", "banner_image": "url", "date_published": "date",
		"date_modified": "date", "authors": "array", "tags": "array", "language": "string", "attachments": "array"}
	checkFields(t, "feed", doc, top, "version", "title", "items")
	var version string
	_ = json.Unmarshal(doc["version"], &version)
	if version != "https://jsonfeed.org/version/1.1" {
		t.Errorf("version %q", version)
	}
	var hubs []map[string]json.RawMessage
	if err := json.Unmarshal(doc["hubs"], &hubs); err != nil || len(hubs) == 0 {
		t.Errorf("hubs %s: %v", doc["hubs"], err)
	}
	for _, h := range hubs {
		checkFields(t, "hub", h, map[string]string{"type": "string", "url": "url"}, "type", "url")
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(doc["items"], &items); err != nil {
		t.Fatalf("items: %v", err)
	}
	for _, it := range items {
		checkFields(t, "item", it, item, "id")
		if it["content_html"] == nil && it["content_text"] == nil {
			t.Errorf("item %s has neither content_html nor content_text", it["id"])
		}
		if it["content_html"] != nil {
			t.Errorf("item %s has content_html: the text is never HTML", it["id"])
		}
	}
}

func checkFields(t *testing.T, what string, obj map[string]json.RawMessage, known map[string]string, required ...string) {
	t.Helper()
	for _, r := range required {
		if _, ok := obj[r]; !ok {
			t.Errorf("%s lacks %s", what, r)
		}
	}
	for k, raw := range obj {
		kind, ok := known[k]
		if !ok {
			if !strings.HasPrefix(k, "_") {
				t.Errorf("%s has %q, neither a JSON Feed 1.1 field nor an extension", what, k)
			}
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Errorf("%s.%s: %v", what, k, err)
			continue
		}
		switch kind {
		case "string", "url", "date":
			s, isString := v.(string)
			switch {
			case !isString:
				t.Errorf("%s.%s = %s, want a string", what, k, raw)
			case kind == "url" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://"):
				t.Errorf("%s.%s = %q, want an absolute URL", what, k, s)
			case kind == "date":
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					t.Errorf("%s.%s = %q, want RFC 3339", what, k, s)
				}
			}
		case "array":
			if _, ok := v.([]any); !ok {
				t.Errorf("%s.%s = %s, want an array", what, k, raw)
			}
		case "bool":
			if _, ok := v.(bool); !ok {
				t.Errorf("%s.%s = %s, want a boolean", what, k, raw)
			}
		}
	}
}
