package fcm

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"newsflash/internal/news"
)

// MaxPayload is FCM's limit on a message's payload: here the bytes of the
// notification's title and body and of the data's keys and values. The body
// is shortened with "…" to fit it.
const MaxPayload = 4096

// Kinds of message, as the news events that cause them.
const (
	KindItem    = news.EventItem
	KindUpdate  = news.EventUpdate
	KindRetract = news.EventRetract
)

// Message is one notification for one device.
type Message struct {
	// Token is the device's FCM registration token.
	Token string
	// Kind is KindItem, KindUpdate (a correction, which replaces the
	// notification: same tag and collapse key) or KindRetract (a data-only
	// message telling the app to remove it).
	Kind string
	// Seq is the event's stream sequence.
	Seq  uint64
	Item *news.Item
	// TTL is how long FCM keeps the message for an offline device, sent in
	// whole seconds; zero or less is sent as "0s" (now or never).
	TTL time.Duration
	// Title is the notification's title (the pipeline's, per priority and
	// language, as for Web Push); unused for a retract.
	Title string
	// Receipt is the device's receipt token of the alert (data key
	// "receipt"), at most MaxReceipt bytes; empty: none. Unused for a
	// retract. Like Token it is per device: Prepare keeps its place and
	// SendPrepared fills it.
	Receipt string
}

// MaxReceipt is the longest Message.Receipt: room for it is kept in
// every item and update message, so a receipt never shortens the text of
// one device's notification more than another's.
const MaxReceipt = 64

// receiptKey is the data key of the receipt; encoding/json writes a map's
// keys sorted, so it always comes after "priority" and before "seq".
const receiptKey = `"receipt":"`

// The request body of messages:send; field names as FCM spells them.
type sendRequest struct {
	Message wireMessage `json:"message"`
}

type wireMessage struct {
	Token        string            `json:"token"`
	Notification *wireNotification `json:"notification,omitempty"`
	Data         map[string]string `json:"data"`
	Android      wireAndroid       `json:"android"`
}

type wireNotification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type wireAndroid struct {
	CollapseKey  string                   `json:"collapse_key,omitempty"`
	Priority     string                   `json:"priority"`
	TTL          string                   `json:"ttl"`
	Notification *wireAndroidNotification `json:"notification,omitempty"`
}

type wireAndroidNotification struct {
	Tag       string `json:"tag"`
	ChannelID string `json:"channel_id"`
}

// ChannelID is the Android notification channel of a priority; the app
// creates one per priority.
func ChannelID(priority string) string { return "newsflash_" + priority }

// AndroidPriority is the delivery priority of an item's notification:
// HIGH wakes the device, for flash and urgent items.
func AndroidPriority(priority string) string {
	if priority == news.PriorityFlash || priority == news.PriorityUrgent {
		return "HIGH"
	}
	return "NORMAL"
}

var errNoMessage = errors.New("message without token or item")

// Prepared is a Message encoded once for any number of devices: the body of
// messages:send without its token, which is the message's first field.
// Nothing writes to it once made, so sends share it.
type Prepared struct {
	err  error  // a message that cannot be sent; rest is unset
	rest []byte // the body after the token's value
	// slot is where in rest the receipt's value goes (just after
	// `"receipt":"`), or -1 for a message without one (a retract).
	slot int
}

// bodyHead is how every body starts, up to the token's value; Prepare
// checks that encoding/json writes it so.
const bodyHead = `{"message":{"token":`

// Prepare encodes m for SendPrepared; m.Token is not used. A message that
// cannot be encoded makes a Prepared that every send fails with the
// reason.
func Prepare(m Message) *Prepared {
	m.Token, m.Receipt = "", ""
	b, err := encodeWith(m, m.Kind != KindRetract)
	if err != nil {
		return &Prepared{err: err}
	}
	rest, ok := bytes.CutPrefix(b, []byte(bodyHead+`""`))
	if !ok {
		return &Prepared{err: errors.New("message encoded without its token first")}
	}
	p := &Prepared{rest: rest, slot: -1}
	if m.Kind != KindRetract {
		// The key, with its quotes, occurs once: inside a JSON string
		// every '"' is escaped.
		i := bytes.Index(rest, []byte(receiptKey+`",`))
		if i < 0 {
			return &Prepared{err: errors.New("message encoded without its receipt's place")}
		}
		p.slot = i + len(receiptKey)
	}
	return p
}

// body is p's body for one device: p's encoding with the token in place
// of "" and the receipt in its place (the key left out when receipt is
// empty), byte for byte what encoding m with the token and receipt gives.
func (p *Prepared) body(token, receipt string) []byte {
	b := make([]byte, 0, len(bodyHead)+len(token)+2+len(p.rest)+len(receipt))
	b = append(b, bodyHead...)
	b = appendString(b, token)
	if p.slot < 0 {
		return append(b, p.rest...)
	}
	if receipt == "" { // no key: what encoding without a receipt writes
		b = append(b, p.rest[:p.slot-len(receiptKey)]...)
		return append(b, p.rest[p.slot+2:]...) // after `",`
	}
	b = append(b, p.rest[:p.slot-1]...) // up to the value's opening quote
	b = appendString(b, receipt)
	return append(b, p.rest[p.slot+1:]...) // after its closing quote
}

// appendString appends s as a JSON string, as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	if plainJSON(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// plainJSON reports whether json.Marshal writes s as it is between quotes:
// printable ASCII without '"', '\\' or the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// encode builds the messages:send body of m; an empty m.Token is written
// as "" (Prepare's template).
func encode(m Message) ([]byte, error) { return encodeWith(m, false) }

// encodeWith is encode, with the data key receipt written even when
// m.Receipt is empty when slot is true (Prepare's template).
func encodeWith(m Message, slot bool) ([]byte, error) {
	if m.Item == nil || m.Item.ID == "" {
		return nil, errNoMessage
	}
	it := m.Item
	ttl := strconv.FormatInt(int64(max(m.TTL, 0)/time.Second), 10) + "s"
	switch m.Kind {
	case KindRetract:
		return json.Marshal(sendRequest{Message: wireMessage{
			Token:   m.Token,
			Data:    map[string]string{"type": KindRetract, "id": it.ID},
			Android: wireAndroid{Priority: "HIGH", TTL: ttl},
		}})
	case KindItem, KindUpdate:
	default:
		return nil, errors.New("message of unknown kind " + strconv.Quote(m.Kind))
	}
	data := map[string]string{
		"type":     m.Kind,
		"id":       it.ID,
		"seq":      strconv.FormatUint(m.Seq, 10),
		"version":  strconv.Itoa(it.Version),
		"lang":     it.Lang,
		"priority": it.Priority,
	}
	if it.URL != "" {
		data["url"] = it.URL
	}
	if len(m.Receipt) > MaxReceipt {
		return nil, errors.New("receipt longer than MaxReceipt")
	}
	if slot || m.Receipt != "" {
		data["receipt"] = m.Receipt
	}
	n := len(m.Title) + len("receipt") + MaxReceipt - len(data["receipt"]) // room for a receipt in any case
	for k, v := range data {
		n += len(k) + len(v)
	}
	return json.Marshal(sendRequest{Message: wireMessage{
		Token:        m.Token,
		Notification: &wireNotification{Title: m.Title, Body: shorten(it.Text, MaxPayload-n)},
		Data:         data,
		Android: wireAndroid{CollapseKey: it.ID, Priority: AndroidPriority(it.Priority), TTL: ttl,
			Notification: &wireAndroidNotification{Tag: it.ID, ChannelID: ChannelID(it.Priority)}},
	}})
}

// shorten cuts text to at most limit bytes on a character boundary, ending
// it with "…" when cut.
func shorten(text string, limit int) string {
	if len(text) <= limit {
		return text
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	if cut <= 0 {
		return ""
	}
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + ellipsis
}
