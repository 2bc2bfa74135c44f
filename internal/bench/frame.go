package bench

import (
	"bytes"
)

// Frame kinds as the tool tells them apart.
const (
	frameOther   = iota // not a frame of this protocol, or of an unknown type
	frameWelcome        // {"type":"welcome",...}
	frameItem           // an item frame of this run, with n and sent set
	frameForeign        // an item, update or retract frame not posted by this run
)

// frame is what the tool reads from one reader frame.
type frame struct {
	kind int
	seq  uint64 // the envelope seq
	sent int64  // unix nano the item was posted at (frameItem)
	n    int    // the item's number in this run (frameItem)
}

var (
	prefixType = []byte(`{"type":"`)
	keySeq     = []byte(`"seq":`)
	keyText    = []byte(`"text":"bench `)
)

// parseFrame reads a WebSocket frame without decoding the JSON: the
// envelope type and seq, and, in the item's text, "bench <unix-nano> <n>
// <run>". The server encodes every frame the same way (type, then seq, then
// the item), so this is safe for its frames and cheap: no allocation.
func parseFrame(b []byte, run string) frame {
	rest, ok := bytes.CutPrefix(b, prefixType)
	if !ok {
		return frame{}
	}
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return frame{}
	}
	typ := rest[:q]
	var f frame
	switch string(typ) {
	case "welcome":
		f.kind = frameWelcome
	case "item", "update", "retract":
		f.kind = frameForeign
	default:
		return frame{}
	}
	rest = rest[q:]
	if i := bytes.Index(rest, keySeq); i >= 0 {
		f.seq, _ = parseUint(rest[i+len(keySeq):])
	}
	if string(typ) != "item" {
		return f // a welcome, or an update or retract: this run posts only new items
	}
	i := bytes.Index(rest, keyText)
	if i < 0 {
		return f
	}
	t := rest[i+len(keyText):]
	sent, k := parseUint(t)
	if k == 0 || k >= len(t) || t[k] != ' ' {
		return f
	}
	t = t[k+1:]
	n, k := parseUint(t)
	if k == 0 || k >= len(t) || t[k] != ' ' {
		return f
	}
	t = t[k+1:]
	if len(t) <= len(run) || string(t[:len(run)]) != run || t[len(run)] != '"' {
		return f
	}
	f.kind, f.sent, f.n = frameItem, int64(sent), int(n)
	return f
}

// parseUint reads the decimal digits at the start of b and returns the
// value and how many bytes it took (0: none, or more than 19 digits, which
// might not fit).
func parseUint(b []byte) (uint64, int) {
	var v uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i == 19 {
			return 0, 0
		}
		v = v*10 + uint64(b[i]-'0')
	}
	return v, i
}

// parseEvent reads the type and envelope seq of an item, update or retract
// frame, as parseFrame does; ok is false for any other frame.
func parseEvent(b []byte) (kind byte, seq uint64, ok bool) {
	rest, ok := bytes.CutPrefix(b, prefixType)
	if !ok {
		return kindNone, 0, false
	}
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return kindNone, 0, false
	}
	if kind = kindOf(string(rest[:q])); kind == kindNone {
		return kindNone, 0, false
	}
	rest = rest[q:]
	i := bytes.Index(rest, keySeq)
	if i < 0 {
		return kindNone, 0, false
	}
	seq, n := parseUint(rest[i+len(keySeq):])
	if n == 0 {
		return kindNone, 0, false
	}
	return kind, seq, true
}
