package live

import (
	"encoding/json"
	"strconv"

	"newsflash/internal/history"
	"newsflash/internal/news"
)

// Transports.
const (
	transportWS = iota
	transportSSE
	numTransports
)

var transportNames = [numTransports]string{"ws", "sse"}

// kinds of frames a reader gets for an event.
const (
	kindItem = iota
	kindUpdate
	kindRetract
	numKinds
)

var kindNames = [numKinds]string{news.EventItem, news.EventUpdate, news.EventRetract}

// memo keys on history entries.
const (
	memoItemJSON   = iota
	memoGoneJSON                                         // the item retracted since: without what it said
	memoFrames                                           // + transport*numKinds + kind
	memoGoneFrames = memoFrames + numTransports*numKinds // + transport*numKinds + kind
)

// itemJSON is the public JSON of the entry's item, encoded once. A
// retracted item's has no text or url (news.Item.Public).
func itemJSON(e *history.Entry) []byte {
	return e.Memo(memoItemJSON, func() []byte { return mustJSON(e.Event.Item.Public()) })
}

// goneJSON is the entry's item as a reader resuming after its retraction
// gets it: without its text and url, and with the status it has now.
func goneJSON(e *history.Entry) []byte {
	return e.Memo(memoGoneJSON, func() []byte {
		it := e.Event.Item.Redacted()
		it.Status = news.StatusRetracted
		return mustJSON(it)
	})
}

func mustJSON(it news.Item) []byte {
	b, err := json.Marshal(it)
	if err != nil {
		panic(err) // an Item always encodes
	}
	return b
}

// goneFrame is the frame of kind for an entry whose item has been retracted
// since, for a reader resuming from history: the same type and seq as
// eventFrame, with goneJSON for the item.
func goneFrame(e *history.Entry, transport, kind int) []byte {
	return e.Memo(memoGoneFrames+transport*numKinds+kind, func() []byte {
		return buildFrame(transport, kind, e.Event.Seq, goneJSON(e))
	})
}

// eventFrame is the frame of kind for the entry on a transport, with the
// event's own seq, encoded once for every reader.
func eventFrame(e *history.Entry, transport, kind int) []byte {
	return e.Memo(memoFrames+transport*numKinds+kind, func() []byte {
		return buildFrame(transport, kind, e.Event.Seq, itemJSON(e))
	})
}

// buildFrame encodes {"type","seq","item"} for WebSocket, or an SSE event
// whose id is seq and whose data is the item.
func buildFrame(transport, kind int, seq uint64, item []byte) []byte {
	name := kindNames[kind]
	if transport == transportSSE {
		b := make([]byte, 0, len(item)+48)
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, "\nevent: "...)
		b = append(b, name...)
		b = append(b, "\ndata: "...)
		b = append(b, item...)
		return append(b, "\n\n"...)
	}
	var seqText [20]byte
	sq := strconv.AppendUint(seqText[:0], seq, 10)
	n := len(`{"type":"","seq":,"item":}`) + len(name) + len(sq) + len(item)
	b := wsHeader(make([]byte, 0, n+wsMaxHeader), n)
	b = append(b, `{"type":"`...)
	b = append(b, name...)
	b = append(b, `","seq":`...)
	b = append(b, sq...)
	b = append(b, `,"item":`...)
	b = append(b, item...)
	return append(b, '}')
}

// wsMaxHeader is the longest header of an unmasked WebSocket frame.
const wsMaxHeader = 10

// wsHeader appends the header of an unmasked, final WebSocket text frame
// whose payload is n bytes long (RFC 6455 §5.2). WebSocket frames are
// built whole, header and all, once per event for every reader.
func wsHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n < 1<<16:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return append(b, finText, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// wsText frames a payload as one WebSocket text message.
func wsText(p []byte) []byte {
	return append(wsHeader(make([]byte, 0, len(p)+wsMaxHeader), len(p)), p...)
}

type welcome struct {
	Type      string `json:"type"`
	Seq       uint64 `json:"seq"`
	Epoch     string `json:"epoch"`
	Recovered bool   `json:"recovered"`
	// Backfill counts the snapshot frames that follow a welcome with
	// recovered false; a client dropped before it has them all reconnects
	// without since.
	Backfill int `json:"backfill"`
}

// welcomeFrame starts a reader's stream. Its seq is the newest stream seq.
// The SSE id, which browsers resume from, is the reader's cursor: the since
// it resumed from (history follows, and a drop in the middle of it must not
// skip any), or the head when a fresh snapshot follows.
func welcomeFrame(transport int, head, cursor uint64, epoch string, recovered bool, backfill int) []byte {
	w, _ := json.Marshal(welcome{Type: "welcome", Seq: head, Epoch: epoch, Recovered: recovered, Backfill: backfill})
	if transport == transportSSE {
		b := []byte("retry: 2000\nid: ")
		b = strconv.AppendUint(b, cursor, 10)
		b = append(b, "\nevent: welcome\ndata: "...)
		b = append(b, w...)
		return append(b, "\n\n"...)
	}
	return wsText(w)
}

// kindFor is what a reader with filter f gets for the entry's event.
func kindFor(f *news.Filter, e *history.Entry) (int, bool) {
	kind, ok := f.Delivery(e.Event.Type, &e.Event.Item, e.Prev)
	switch kind {
	case news.EventUpdate:
		return kindUpdate, ok
	case news.EventRetract:
		return kindRetract, ok
	}
	return kindItem, ok
}
