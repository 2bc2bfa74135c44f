package feed

import (
	"encoding/xml"
	"time"
)

// RSS 2.0 (https://www.rssboard.org/rss-specification), with atom:link for
// the self and hub links (WebSub) and atom:updated for corrections. RSS has
// a language per channel only: it is given when the filter has exactly one.

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string     `xml:"title"`
	Link          string     `xml:"link"`
	Description   string     `xml:"description"`
	Language      string     `xml:"language,omitempty"`
	LastBuildDate string     `xml:"lastBuildDate"`
	AtomLinks     []atomLink `xml:"atom:link"`
	Items         []rssItem  `xml:"item"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssCategory struct {
	Domain string `xml:"domain,attr"`
	Value  string `xml:",chardata"`
}

type rssItem struct {
	Title       string        `xml:"title"`
	Link        string        `xml:"link"`
	Description string        `xml:"description"`
	GUID        rssGUID       `xml:"guid"`
	PubDate     string        `xml:"pubDate"`
	Updated     string        `xml:"atom:updated"`
	Categories  []rssCategory `xml:"category"`
}

func rssTime(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func encodeRSS(d *document) ([]byte, error) {
	ch := rssChannel{
		Title: feedTitle, Link: d.base + "/", Description: feedDescription, Language: d.lang,
		LastBuildDate: rssTime(d.updated),
		AtomLinks: []atomLink{
			{Rel: "self", Type: "application/rss+xml", Href: d.self},
		},
		Items: make([]rssItem, len(d.entries)),
	}
	if d.hub != "" {
		ch.AtomLinks = append(ch.AtomLinks, atomLink{Rel: "hub", Href: d.hub})
	}
	for i, e := range d.entries {
		cats := make([]rssCategory, len(e.cats))
		for j, c := range e.cats {
			cats[j] = rssCategory{c.scheme, c.term}
		}
		ch.Items[i] = rssItem{
			Title: e.item.Text, Link: e.link, Description: e.item.Text,
			GUID:    rssGUID{"false", e.id},
			PubDate: rssTime(e.published), Updated: atomTime(e.updated), Categories: cats,
		}
	}
	return encodeXML(rssDoc{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", Channel: ch})
}
