package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsflash/internal/server"
)

// TestFeedsServed runs the feeds on a real instance: posts, a correction
// and a retraction through the API show in the feed, with the public URL
// in its links and 304 for a copy that is still current.
func TestFeedsServed(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Feed.PublicURL = "https://news.example.com" }})
	anon := map[string]string{"Authorization": ""}
	first := in.post(item("Ceasefire announced", "en", []string{"mena"}, nil))
	gone := in.post(item("A wrong line", "en", []string{"mena"}, nil))
	if status, _, b := in.do("PATCH", "/api/v1/items/"+first.ID, `{"text":"Ceasefire announced, officials say"}`, nil); status != http.StatusOK {
		t.Fatalf("correct: %d %s", status, b)
	}
	if status, _, b := in.do("DELETE", "/api/v1/items/"+gone.ID, "", nil); status != http.StatusOK {
		t.Fatalf("retract: %d %s", status, b)
	}
	type feedDoc struct {
		Hubs  []struct{ URL string }
		Items []struct {
			ID           string
			ContentText  string    `json:"content_text"`
			DateModified time.Time `json:"date_modified"`
		}
	}
	var doc feedDoc
	var h http.Header
	// The correction and the retraction reach history after their answers.
	deadline := time.Now().Add(wait)
	for {
		var status int
		var b []byte
		status, h, b = in.do("GET", "/feeds/items.json?regions=mena", "", anon)
		if status != http.StatusOK {
			t.Fatalf("feed: %d %s", status, b)
		}
		doc = feedDoc{}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Items) == 1 && doc.Items[0].ContentText == "Ceasefire announced, officials say" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed never showed the correction without the retracted item: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasSuffix(doc.Items[0].ID, ":items/"+first.ID) || !strings.HasPrefix(doc.Items[0].ID, "tag:news.example.com,") {
		t.Errorf("entry id %q", doc.Items[0].ID)
	}
	// No WebSub hub is served yet (issue 16 §2): the feeds name none.
	if len(doc.Hubs) != 0 {
		t.Errorf("hubs %+v", doc.Hubs)
	}
	if want := `<https://news.example.com/feeds/items.json?regions=mena>; rel="self"`; h.Get("Link") != want {
		t.Errorf("Link %q, want %q", h.Get("Link"), want)
	}
	etag := h.Get("ETag")
	if status, _, _ := in.do("GET", "/feeds/items.json?regions=mena", "", map[string]string{"Authorization": "", "If-None-Match": etag}); status != http.StatusNotModified {
		t.Errorf("If-None-Match the current ETag: %d, want 304", status)
	}
	in.post(item("Second line", "en", []string{"mena"}, nil))
	status, h2, _ := in.do("GET", "/feeds/items.json?regions=mena", "", map[string]string{"Authorization": "", "If-None-Match": etag})
	if status != http.StatusOK || h2.Get("ETag") == etag {
		t.Errorf("after a post: %d with ETag %q (was %q), want 200 and a new one", status, h2.Get("ETag"), etag)
	}
	// The demo page links the three feeds.
	_, _, page := in.do("GET", "/", "", anon)
	for _, f := range []string{`type="application/feed+json"`, `href="/feeds/items.json"`, `type="application/atom+xml"`, `href="/feeds/items.atom"`, `type="application/rss+xml"`, `href="/feeds/items.rss"`} {
		if !strings.Contains(string(page), f) {
			t.Errorf("the demo page lacks %s", f)
		}
	}
}
