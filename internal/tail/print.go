package tail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"newsflash/internal/news"
)

// Event is one item, update or retract event of the feed, or one item of
// a snapshot (Snapshot true: the item as it stands, sent after a welcome
// that could not resume).
type Event struct {
	Type     string // news.EventItem, news.EventUpdate or news.EventRetract
	Seq      uint64 // the envelope seq: the resume cursor
	Snapshot bool
	Item     news.Item
	Raw      []byte // the item's JSON as the server sent it
}

// Printer writes events to a terminal or a pipe.
type Printer struct {
	W        io.Writer
	JSON     bool           // one JSON envelope per line instead of text
	Location *time.Location // for times; nil: time.Local
}

// Print writes one line for ev. Text lines are
//
//	2026-11-28 13:48:33  flash     qpvtgkhop6re344ppstq  Ceasefire announced in Gaza
//
// with "[update] " before the text of a correction, "[retract]" for a
// retraction (the public feed carries no text for a retracted item: the id
// says which one), and "[corrected] " before a snapshot item that was
// corrected.
// JSON lines are the WebSocket envelope, {"type","seq","item"}, with any
// control character in the item escaped.
func (p *Printer) Print(ev Event) error {
	if p.JSON {
		return p.printJSON(ev)
	}
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	at := "-"
	if !ev.Item.UpdatedAt.IsZero() {
		at = ev.Item.UpdatedAt.In(loc).Format(time.DateTime)
	}
	mark := ""
	switch {
	case ev.Type == news.EventUpdate:
		mark = "[update] "
	case ev.Snapshot && ev.Item.Version > 1:
		mark = "[corrected] "
	}
	line := mark + Clean(ev.Item.Text)
	if ev.Type == news.EventRetract || ev.Item.Status == news.StatusRetracted {
		line = strings.TrimSpace("[retract] " + Clean(ev.Item.Text))
	}
	_, err := fmt.Fprintf(p.W, "%s  %-8s  %s  %s\n", at, Clean(ev.Item.Priority), Clean(ev.Item.ID), line)
	return err
}

func (p *Printer) printJSON(ev Event) error {
	var item bytes.Buffer
	if err := json.Compact(&item, ev.Raw); err != nil {
		return fmt.Errorf("event %d: the item is not JSON: %w", ev.Seq, err)
	}
	b := make([]byte, 0, item.Len()+64)
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, ev.Type)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, `,"item":`...)
	b = appendEscaped(b, item.Bytes())
	b = append(b, "}\n"...)
	_, err := p.W.Write(b)
	return err
}

// appendEscaped appends compact JSON with every control character (DEL and
// C1 among them, which JSON allows raw inside strings) escaped as \u00XX,
// and invalid UTF-8 as U+FFFD: what a terminal shows is then plain text.
func appendEscaped(b, js []byte) []byte {
	for len(js) > 0 {
		r, n := utf8.DecodeRune(js)
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case unicode.IsControl(r):
			b = append(b, fmt.Sprintf(`\u%04x`, r)...)
		default:
			b = append(b, js[:n]...)
		}
		js = js[n:]
	}
	return b
}
