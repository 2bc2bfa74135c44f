package apns

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"newsflash/internal/news"
)

// MaxPayload is the largest body APNs accepts for a notification (413
// PayloadTooLarge above it).
const MaxPayload = 4096

// Message is one notification for one device.
type Message struct {
	Token string        // the device token (hex)
	Kind  string        // news.EventItem, news.EventUpdate or news.EventRetract
	Seq   uint64        // the event's stream sequence
	Item  *news.Item    // the item in its new version
	TTL   time.Duration // how long APNs keeps it for an offline device; 0: Apple's default
	Title string        // the alert's title (the pipeline's table, as for Web Push)
	// Receipt is the device's receipt token of the alert (payload key
	// "receipt"), at most MaxReceipt bytes; empty: none. Unused for a
	// retract. Like Token it is per device: Prepare leaves room for it and
	// SendNotification adds it.
	Receipt string
}

// MaxReceipt is the longest Message.Receipt: room for it is kept in every
// alert's body, so a receipt never shortens one device's text more than
// another's.
const MaxReceipt = 64

// receiptRoom is what a receipt adds to a body at most.
const receiptRoom = len(`,"receipt":""`) + MaxReceipt

type apsAlert struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type aps struct {
	Alert             *apsAlert `json:"alert,omitempty"`
	Sound             string    `json:"sound,omitempty"`
	InterruptionLevel string    `json:"interruption-level,omitempty"`
	ContentAvailable  int       `json:"content-available,omitempty"`
}

// custom is the app's own key: what it needs to open, replace or remove
// the notification.
type custom struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Seq     uint64 `json:"seq,omitempty"`
	Version int    `json:"version,omitempty"`
	URL     string `json:"url,omitempty"`
	Lang    string `json:"lang,omitempty"`
}

type payload struct {
	APS       aps    `json:"aps"`
	Newsflash custom `json:"newsflash"`
	// Receipt is last: withReceipt adds it to a body encoded without it.
	Receipt string `json:"receipt,omitempty"`
}

// request is what Send posts: the apns-* headers and the body.
type request struct {
	pushType   string
	priority   string
	expiration string // "" for no header
	collapseID string // "" for no header
	body       []byte
}

var errBadMessage = errors.New("apns: bad message")

// urgent reports whether an item's priority makes an immediate, sounding
// notification (APNs priority 10).
func urgent(priority string) bool {
	return priority == news.PriorityFlash || priority == news.PriorityUrgent
}

// encode builds the request for m at now. The body fits MaxPayload: the
// text is shortened with an ellipsis, after a very long url is left out.
func encode(m Message, now time.Time) (request, error) {
	if m.Item == nil || m.Item.ID == "" {
		return request{}, errors.Join(errBadMessage, errors.New("no item"))
	}
	var r request
	if m.TTL > 0 {
		r.expiration = strconv.FormatInt(now.Add(m.TTL).Unix(), 10)
	}
	switch m.Kind {
	case news.EventRetract:
		r.pushType, r.priority = "background", "5"
		r.body, _ = json.Marshal(payload{APS: aps{ContentAvailable: 1}, Newsflash: custom{Type: m.Kind, ID: m.Item.ID}})
		return r, nil
	case news.EventItem, news.EventUpdate:
	default:
		return request{}, errors.Join(errBadMessage, errors.New("unknown kind "+strconv.Quote(m.Kind)))
	}
	if m.Title == "" {
		return request{}, errors.Join(errBadMessage, errors.New("no title"))
	}
	it := m.Item
	r.pushType, r.priority, r.collapseID = "alert", "5", it.ID
	p := payload{
		APS:       aps{Alert: &apsAlert{Title: m.Title, Body: it.Text}, InterruptionLevel: "active"},
		Newsflash: custom{Type: m.Kind, ID: it.ID, Seq: m.Seq, Version: it.Version, URL: it.URL, Lang: it.Lang},
	}
	if urgent(it.Priority) {
		r.priority, p.APS.Sound = "10", "default"
	}
	if it.Priority == news.PriorityFlash {
		p.APS.InterruptionLevel = "time-sensitive"
	}
	if len(m.Receipt) > MaxReceipt {
		return request{}, errors.Join(errBadMessage, errors.New("receipt longer than MaxReceipt"))
	}
	p.Receipt = m.Receipt
	r.body = fit(p, it.Text)
	return r, nil
}

// fit encodes p, shortening its alert body (text) until the whole fits
// MaxPayload with room for a receipt (of MaxReceipt characters JSON
// writes as they are, as a token is).
func fit(p payload, text string) []byte {
	// The same text with or without a receipt: the receipt's own bytes
	// are over the limit.
	limit := MaxPayload - receiptRoom
	if p.Receipt != "" {
		q, _ := json.Marshal(p.Receipt)
		limit += len(`,"receipt":`) + len(q)
	}
	b, _ := json.Marshal(p)
	if len(b) <= limit {
		return b
	}
	if len(p.Newsflash.URL) > 1024 { // a very long url goes before the text does
		p.Newsflash.URL = ""
		if b, _ = json.Marshal(p); len(b) <= limit {
			return b
		}
	}
	// The longest prefix of the text, in characters, that fits with "…".
	runes := []rune(text)
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		p.APS.Alert.Body = string(runes[:mid]) + "…"
		if b, _ := json.Marshal(p); len(b) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	p.APS.Alert.Body = string(runes[:lo]) + "…"
	b, _ = json.Marshal(p)
	return b
}

// withReceipt is an alert's body (a JSON object encoded without a
// receipt) with the receipt as its last key: byte for byte what encoding
// the payload with it gives. No receipt: the body as it is.
func withReceipt(body []byte, receipt string) []byte {
	if receipt == "" || len(body) < 2 || body[len(body)-1] != '}' {
		return body
	}
	q, _ := json.Marshal(receipt) // a string always encodes
	b := make([]byte, 0, len(body)+len(`,"receipt":`)+len(q))
	b = append(b, body[:len(body)-1]...)
	b = append(b, `,"receipt":`...)
	b = append(b, q...)
	return append(b, '}')
}
