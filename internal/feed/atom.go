package feed

import (
	"bytes"
	"encoding/xml"
	"time"
)

// Atom 1.0 (RFC 4287), with the hub and self links of WebSub.

type atomFeed struct {
	XMLName  xml.Name    `xml:"feed"`
	NS       string      `xml:"xmlns,attr"`
	Lang     string      `xml:"xml:lang,attr,omitempty"`
	ID       string      `xml:"id"`
	Title    atomText    `xml:"title"`
	Subtitle atomText    `xml:"subtitle"`
	Updated  string      `xml:"updated"`
	Author   atomAuthor  `xml:"author"`
	Links    []atomLink  `xml:"link"`
	Entries  []atomEntry `xml:"entry"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr"`
}

type atomEntry struct {
	Lang       string         `xml:"xml:lang,attr"`
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Link       atomLink       `xml:"link"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Categories []atomCategory `xml:"category"`
	Content    atomText       `xml:"content"`
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func encodeAtom(d *document) ([]byte, error) {
	f := atomFeed{
		NS: "http://www.w3.org/2005/Atom", Lang: d.lang, ID: d.self,
		Title: atomText{"text", feedTitle}, Subtitle: atomText{"text", feedDescription},
		Updated: atomTime(d.updated), Author: atomAuthor{authorName},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: d.self},
			{Rel: "alternate", Type: "text/html", Href: d.base + "/"},
		},
		Entries: make([]atomEntry, len(d.entries)),
	}
	if d.hub != "" {
		f.Links = append(f.Links, atomLink{Rel: "hub", Href: d.hub})
	}
	for i, e := range d.entries {
		cats := make([]atomCategory, len(e.cats))
		for j, c := range e.cats {
			cats[j] = atomCategory{c.term, c.scheme}
		}
		f.Entries[i] = atomEntry{
			Lang: e.item.Lang, ID: e.id, Title: atomText{"text", e.item.Text},
			Link:      atomLink{Rel: "alternate", Href: e.link},
			Published: atomTime(e.published), Updated: atomTime(e.updated),
			Categories: cats, Content: atomText{"text", e.item.Text},
		}
	}
	return encodeXML(f)
}

// encodeXML writes v after the XML declaration. encoding/xml escapes the
// text (&, <, > and quotes) and keeps every other character, Arabic and
// right-to-left marks included, as UTF-8.
func encodeXML(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
