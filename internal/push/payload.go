package push

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"newsflash/internal/news"
)

// MaxPayload is the largest plaintext sent: every encrypted body is
// recordSize bytes, the 3,070-byte limit some push services enforce
// (maxPlaintext, 2,967 bytes, would fit; this leaves a margin). An
// encoded payload leaves room in it for the receipt each send adds
// (withReceipt).
const MaxPayload = 2900

// recordSize is the length of every encrypted body and its record size
// (rs) in the aes128gcm header, as webpush-go's RecordSize 3070 gave.
const recordSize = 3070

type payloadItem struct {
	ID          string    `json:"id"`
	Version     int       `json:"version"`
	Text        string    `json:"text,omitempty"`
	URL         string    `json:"url,omitempty"`
	Lang        string    `json:"lang,omitempty"`
	Regions     []string  `json:"regions,omitempty"`
	Topics      []string  `json:"topics,omitempty"`
	Priority    string    `json:"priority,omitempty"`
	Source      string    `json:"source,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
}

type payload struct {
	Type string      `json:"type"`
	Seq  uint64      `json:"seq"`
	Item payloadItem `json:"item"`
	// Test marks a test notification (SendTest): the service worker shows
	// it apart from real alerts.
	Test bool `json:"test,omitempty"`
}

// encodePayload builds the notification for an event: the item (text
// shortened with an ellipsis to fit MaxPayload) or, for a retract, only
// what the service worker needs to close it.
func encodePayload(kind string, seq uint64, it *news.Item) []byte {
	return encodeAs(payload{Type: kind, Seq: seq}, it)
}

// encodeAs is encodePayload for a payload whose type, seq and test mark are
// set.
func encodeAs(p payload, it *news.Item) []byte {
	kind := p.Type
	limit := MaxPayload - receiptSpace
	p.Item = payloadItem{ID: it.ID, Version: it.Version}
	if kind == news.EventRetract {
		b, _ := json.Marshal(p)
		return b
	}
	p.Item = payloadItem{ID: it.ID, Version: it.Version, Text: it.Text, URL: it.URL, Lang: it.Lang, Regions: it.Regions,
		Topics: it.Topics, Priority: it.Priority, Source: it.Source, PublishedAt: it.PublishedAt}
	b, _ := json.Marshal(p)
	if len(b) <= limit {
		return b
	}
	if len(p.Item.URL) > 1024 { // a very long url goes before the text does
		p.Item.URL = ""
		if b, _ = json.Marshal(p); len(b) <= limit {
			return b
		}
	}
	// Shorten the text: binary search on its length in characters.
	runes := []rune(it.Text)
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		p.Item.Text = string(runes[:mid]) + "…"
		if b, _ := json.Marshal(p); len(b) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	p.Item.Text = string(runes[:lo]) + "…"
	if !utf8.ValidString(p.Item.Text) || lo == 0 {
		p.Item.Text = "…"
	}
	b, _ = json.Marshal(p)
	return b
}

// withReceipt is an encoded payload (a JSON object) with
// ,"receipt":"<token>" before its closing brace: the payload is encoded
// once per run, the receipt differs per send. A token is base64url, which
// JSON writes as it is. No receipt: the payload as it is.
func withReceipt(payload []byte, receipt string) []byte {
	if receipt == "" || len(payload) < 2 || payload[len(payload)-1] != '}' {
		return payload
	}
	b := make([]byte, 0, len(payload)+len(receipt)+len(`,"receipt":""`))
	b = append(b, payload[:len(payload)-1]...)
	b = append(b, `,"receipt":"`...)
	b = append(b, receipt...)
	return append(b, `"}`...)
}
