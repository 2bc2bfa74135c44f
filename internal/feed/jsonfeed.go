package feed

import (
	"bytes"
	"encoding/json"
	"time"
)

// JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

const jsonFeedVersion = "https://jsonfeed.org/version/1.1"

type jsonFeed struct {
	Version     string     `json:"version"`
	Title       string     `json:"title"`
	HomePageURL string     `json:"home_page_url"`
	FeedURL     string     `json:"feed_url"`
	Description string     `json:"description"`
	Language    string     `json:"language,omitempty"`
	Authors     []jsonName `json:"authors"`
	Hubs        []jsonHub  `json:"hubs,omitempty"`
	Items       []jsonItem `json:"items"`
}

type jsonName struct {
	Name string `json:"name"`
}

type jsonHub struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type jsonItem struct {
	ID            string    `json:"id"`
	URL           string    `json:"url"`
	Title         string    `json:"title"`
	ContentText   string    `json:"content_text"`
	DatePublished time.Time `json:"date_published"`
	DateModified  time.Time `json:"date_modified"`
	Language      string    `json:"language"`
	Tags          []string  `json:"tags,omitempty"`
	// Newsflash is the item's own fields (an extension, as JSON Feed
	// allows under a name starting with _).
	Newsflash jsonExtension `json:"_newsflash"`
}

type jsonExtension struct {
	ID       string   `json:"id"`
	Seq      uint64   `json:"seq"`
	Version  int      `json:"version"`
	Priority string   `json:"priority"`
	Regions  []string `json:"regions"`
	Topics   []string `json:"topics"`
	Story    string   `json:"story,omitempty"`
	Source   string   `json:"source,omitempty"`
	Alert    bool     `json:"alert"`
}

func encodeJSON(d *document) ([]byte, error) {
	f := jsonFeed{
		Version: jsonFeedVersion, Title: feedTitle, HomePageURL: d.base + "/", FeedURL: d.self,
		Description: feedDescription, Language: d.lang, Authors: []jsonName{{authorName}},
		Items: make([]jsonItem, len(d.entries)),
	}
	if d.hub != "" {
		f.Hubs = []jsonHub{{"WebSub", d.hub}}
	}
	for i, e := range d.entries {
		it := e.item
		tags := make([]string, len(e.cats))
		for j, c := range e.cats {
			tags[j] = c.term
		}
		f.Items[i] = jsonItem{
			ID: e.id, URL: e.link, Title: it.Text, ContentText: it.Text,
			DatePublished: e.published, DateModified: e.updated, Language: it.Lang, Tags: tags,
			Newsflash: jsonExtension{ID: it.ID, Seq: it.Seq, Version: it.Version, Priority: it.Priority,
				Regions: nonNil(it.Regions), Topics: nonNil(it.Topics), Story: it.Story, Source: it.Source, Alert: it.Alert},
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // text, not HTML: keep <, > and & as they are
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// nonNil keeps an empty list a list ([]) in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
