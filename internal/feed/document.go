package feed

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
)

// title and description of every feed.
const (
	feedTitle       = "Newsflash"
	feedDescription = "Breaking news, newest first"
	authorName      = "Newsflash"
)

// document is what the three encodings share: the feed and its entries,
// newest first.
type document struct {
	base, self, hub string
	// lang is the filter's language when it has exactly one, else "".
	lang string
	// updated is the newest updated time of the entries (the Unix epoch
	// for an empty feed, so the document depends on its entries only).
	updated time.Time
	entries []entry
}

// entry is one item in its current version, in public form.
type entry struct {
	id        string // tag: URI, stable across versions
	link      string // the item's url, else its API URL
	item      news.Item
	published time.Time
	updated   time.Time
	cats      []category
}

// category is a region, a topic or the story of an entry; scheme names
// which.
type category struct {
	term, scheme string
}

// newDocument makes the document of the entries; hub is the WebSub hub's
// URL, "" for none.
func newDocument(base, self, hub string, q query, entries []*history.Entry) *document {
	d := &document{base: base, self: self, hub: hub, updated: time.Unix(0, 0).UTC()}
	if len(q.filter.Langs) == 1 {
		d.lang = q.filter.Langs[0]
	}
	host := tagHost(base)
	regions, topics, stories := base+"/api/v1/taxonomy#regions", base+"/api/v1/taxonomy#topics", base+"/api/v1/stories"
	d.entries = make([]entry, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- { // Latest is oldest first
		it := entries[i].Event.Item.Public()
		e := entry{
			id:        "tag:" + host + "," + strconv.Itoa(it.PublishedAt.UTC().Year()) + ":items/" + it.ID,
			link:      it.URL,
			item:      it,
			published: it.PublishedAt.UTC(),
			updated:   it.UpdatedAt.UTC(),
		}
		if e.link == "" {
			e.link = base + "/api/v1/items/" + url.PathEscape(it.ID)
		}
		for _, r := range it.Regions {
			e.cats = append(e.cats, category{r, regions})
		}
		for _, t := range it.Topics {
			e.cats = append(e.cats, category{t, topics})
		}
		if it.Story != "" {
			e.cats = append(e.cats, category{it.Story, stories})
		}
		if e.updated.After(d.updated) {
			d.updated = e.updated
		}
		d.entries = append(d.entries, e)
	}
	return d
}

// tagHost is the authority of the entries' tag: URIs (RFC 4151): the
// public host name, without port, in lower case.
func tagHost(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	return strings.ToLower(u.Hostname())
}
