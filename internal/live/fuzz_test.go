package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"newsflash/internal/history"
	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// Fuzz targets of the reader side. Run one with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzWSClientFrames$' -fuzztime 1m -parallel 1 ./internal/live
//
// Crashers land in testdata/fuzz/<target>/ and are committed as
// regressions; plain go test runs them with the seeds below.

// fuzzEpoch is the epoch of the fuzz hubs.
const fuzzEpoch = "fuzz-epoch"

func newFuzzHub(tb testing.TB) (*Hub, *history.Log) {
	tb.Helper()
	log := history.New(history.Options{})
	h, err := New(Deps{
		Log: log, Taxonomy: news.DefaultTaxonomy(), Epoch: fuzzEpoch, LastSeq: lastSeqZero,
		Logger: slog.New(slog.DiscardHandler),
	}, Options{
		PingInterval:      time.Hour, // no server pings in the middle of a fuzz exchange
		CatchUpWait:       time.Millisecond,
		ReadersPerAddress: -1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	h.SetReady()
	return h, log
}

// FuzzParseResume parses reader queries (WebSocket and SSE) and origins.
// Properties: a refusal is a 400 at the edge with a documented code naming
// the parameter; an accepted query gives the filter, since (Last-Event-ID
// winning for SSE), backfill (default 20, 0 to 100) and epoch (at most 64
// bytes) the query holds; the filter's Key is stable (the reader's group is
// found again by it when the reader leaves); the welcome a fresh reader
// gets is valid JSON saying so; an origin is allowed only when absent, the
// request's own host or one the patterns match.
func FuzzParseResume(f *testing.F) {
	for _, s := range []struct {
		query, lastEventID, origin string
		sse                        bool
	}{
		{"regions=mena,palestine&topics=politics&langs=en,ar", "", "", false},
		{"regions=+MENA+,mena&since=5&epoch=" + fuzzEpoch + "&backfill=0", "", "https://news.example", false},
		{"since=5", "7", "https://live.news.example", true},
		{"since=5", "7", "", false},
		{"since=-1", "", "", false},
		{"since=18446744073709551616", "", "", false},
		{"since=0x10", "", "", false},
		{"", "+3", "", true},
		{"backfill=101", "", "", false},
		{"backfill=-0&backfill=5", "", "", false},
		{"backfill=%2B100", "", "", false},
		{"epoch=" + strings.Repeat("e", maxEpoch+1), "", "", false},
		{"epoch=%FF%FE%00", "", "", false},
		{"regions=mars", "", "", false},
		{"regions=" + strings.Repeat("mena,", news.MaxFilterValues), "", "", false},
		{"regions=mena&regions=mars;topics=x", "", "", false},
		{"regions=%E2%80%AEmena", "", "", false},
		{"%zz=1&regions=mena", "", "", false},
		{strings.Repeat("a=b&", 2000), "", "", false},
		{"", "", "https://evil.example", false},
		{"", "", "https://news.example.evil.example", false},
		{"", "", "https://evilnews.example", false},
		{"", "", "null", false},
		{"", "", "https://news.example:8443", false},
		{"", "", "https://NEWS.EXAMPLE", false},
		{"", "", "https://user@news.example", false},
		{"", "", "https://x.news.example%2F.evil.example", false},
		{"", "", "\x00", false},
	} {
		f.Add(s.query, s.lastEventID, s.origin, s.sse)
	}
	gin.SetMode(gin.TestMode)
	h, _ := newFuzzHub(f)
	patterns := []string{"*.news.example"}
	f.Fuzz(func(t *testing.T, query, lastEventID, origin string, sse bool) {
		req := httptest.NewRequest(http.MethodGet, "http://news.example/api/v1/ws", nil)
		req.URL.RawQuery = query
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		checkOriginRule(t, req, patterns)

		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = req
		q, err := h.parseResume(c, sse)
		if err != nil {
			he := httperr.From(err)
			fields := map[string][]string{
				"invalid_since": {"since", "Last-Event-ID"}, "invalid_backfill": {"backfill"}, "invalid_epoch": {"epoch"},
				"too_many_regions": {"regions"}, "too_many_topics": {"topics"}, "too_many_langs": {"langs"},
				"unknown_region": {"regions"}, "unknown_topic": {"topics"}, "unknown_lang": {"langs"},
			}[he.Code]
			if he.Status != http.StatusBadRequest || !slices.Contains(fields, he.Field) || he.Message == "" {
				t.Fatalf("query %q: %#v", query, he)
			}
			return
		}
		vals := req.URL.Query()
		since, field := vals.Get("since"), "since"
		if sse && lastEventID != "" {
			since, field = lastEventID, "Last-Event-ID"
		}
		if q.hasSince != (since != "") {
			t.Fatalf("%s %q: hasSince %v", field, since, q.hasSince)
		}
		if n, err := strconv.ParseUint(since, 10, 64); q.hasSince && (err != nil || n != q.since) {
			t.Fatalf("%s %q read as %d", field, since, q.since)
		}
		if b := vals.Get("backfill"); q.backfill < 0 || q.backfill > MaxBackfill || (b == "" && q.backfill != DefaultBackfill) {
			t.Fatalf("backfill %q read as %d", b, q.backfill)
		}
		if q.epoch != vals.Get("epoch") || len(q.epoch) > maxEpoch {
			t.Fatalf("epoch %q read as %q", vals.Get("epoch"), q.epoch)
		}
		want, err := h.deps.Taxonomy.ParseFilter(vals.Get("regions"), vals.Get("topics"), vals.Get("langs"))
		if err != nil || !reflect.DeepEqual(q.filter, want) {
			t.Fatalf("query %q: filter %+v, want %+v (%v)", query, q.filter, want, err)
		}
		again, err := h.deps.Taxonomy.ParseFilter(strings.Join(q.filter.Regions, ","), strings.Join(q.filter.Topics, ","), strings.Join(q.filter.Langs, ","))
		if err != nil || again.Key() != q.filter.Key() {
			t.Fatalf("filter %+v: key %q parses again to %q (%v)", q.filter, q.filter.Key(), again.Key(), err)
		}

		// A reader with this query: its welcome, and its group found again
		// by the filter's Key when it leaves.
		key, err := h.admit("192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.subscribe(transportWS, q, key, hooks{kill: func() {}})
		if err != nil {
			t.Fatal(err)
		}
		var w welcome
		if len(r.first) != 1 || json.Unmarshal(wsPayload(t, r.first[0]), &w) != nil ||
			w.Type != "welcome" || w.Epoch != fuzzEpoch || w.Backfill != 0 {
			t.Fatalf("query %q: first frames %q", query, r.first)
		}
		h.unsubscribe(r)
		h.mu.Lock()
		groups := len(h.groups)
		h.mu.Unlock()
		if groups != 0 || h.Readers() != 0 {
			t.Fatalf("query %q: %d groups and %d readers left after the reader left", query, groups, h.Readers())
		}
	})
}

// checkOriginRule checks OriginAllowed: no origin, the request's own host,
// or a host the patterns match (here: subdomains of news.example).
func checkOriginRule(t *testing.T, r *http.Request, patterns []string) {
	t.Helper()
	origin := r.Header.Get("Origin")
	if !OriginAllowed(r, patterns) || origin == "" {
		return
	}
	u, err := url.Parse(origin)
	if err != nil {
		t.Fatalf("origin %q allowed: %v", origin, err)
	}
	host := strings.ToLower(u.Host)
	if host != strings.ToLower(r.Host) && !strings.HasSuffix(host, ".news.example") {
		t.Fatalf("origin %q (host %q) allowed for %q with patterns %q", origin, u.Host, r.Host, patterns)
	}
}

// wsPayload returns the payload of one whole unmasked frame built here.
func wsPayload(t *testing.T, frame []byte) []byte {
	t.Helper()
	f, err := readWSFrame(bufio.NewReader(bytes.NewReader(frame)))
	if err != nil {
		t.Fatalf("frame %q: %v", frame, err)
	}
	return f.payload
}

// WebSocket opcodes.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

// wsFrame is a frame as read off the wire.
type wsFrame struct {
	fin     bool
	rsv     byte
	op      byte
	masked  bool
	length  uint64 // as declared
	payload []byte
}

// readWSFrame reads one frame, unmasking its payload.
func readWSFrame(br *bufio.Reader) (wsFrame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return wsFrame{}, err
	}
	f := wsFrame{fin: hdr[0]&0x80 != 0, rsv: hdr[0] & 0x70, op: hdr[0] & 0x0f, masked: hdr[1]&0x80 != 0}
	f.length = uint64(hdr[1] & 0x7f)
	var ext [8]byte
	switch f.length {
	case 126:
		if _, err := io.ReadFull(br, ext[:2]); err != nil {
			return f, io.ErrUnexpectedEOF
		}
		f.length = uint64(binary.BigEndian.Uint16(ext[:2]))
	case 127:
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return f, io.ErrUnexpectedEOF
		}
		f.length = binary.BigEndian.Uint64(ext[:])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return f, io.ErrUnexpectedEOF
		}
	}
	if f.length > 1<<20 {
		return f, fmt.Errorf("frame of %d bytes", f.length)
	}
	f.payload = make([]byte, f.length)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return f, io.ErrUnexpectedEOF
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

// clientFrame is one frame the fuzz input makes a client send.
type clientFrame struct {
	b0       byte   // FIN, RSV1-3 and opcode, as given
	masked   bool   // clients must mask; the input may say not to
	form     int    // length encoding: 0 as short as possible, 1 16-bit, 2 64-bit
	declared uint64 // the length in the header; len(payload) unless huge
	huge     bool   // a declared length with no payload following
	payload  []byte
}

// Huge lengths a frame header may declare, with no payload sent.
const (
	hugeLength     = 1 << 62
	negativeLength = 1<<63 | 5 // the top bit set: an invalid length
)

// parseClientFrames reads the fuzz input as frames: for each, a byte of
// FIN/RSV/opcode, a byte whose top bit set means unmasked and whose low 7
// bits are the length (126: a 16-bit length follows in the input, 127: the
// same, sent in the 64-bit form; 0xffff and 0xfffe there declare a huge
// and an invalid length with no payload), then the payload, cut to what the
// input has left. Lengths from the input are taken modulo 4096.
func parseClientFrames(data []byte) []clientFrame {
	var frames []clientFrame
	for len(data) >= 2 && len(frames) < 32 {
		f := clientFrame{b0: data[0], masked: data[1]&0x80 == 0}
		n := int(data[1] & 0x7f)
		data = data[2:]
		if n >= 126 {
			if len(data) < 2 {
				break
			}
			v := binary.BigEndian.Uint16(data)
			data = data[2:]
			f.form = n - 125
			switch {
			case n == 127 && v == 0xffff:
				f.declared, f.huge = hugeLength, true
			case n == 127 && v == 0xfffe:
				f.declared, f.huge = negativeLength, true
			default:
				n = int(v) % 4096
			}
		}
		if !f.huge {
			n = min(n, len(data))
			f.payload, f.declared = data[:n], uint64(n)
			data = data[n:]
		}
		frames = append(frames, f)
		if f.huge {
			break
		}
	}
	return frames
}

// encode appends the frame as sent, masked with a key of its own.
func (f clientFrame) encode(b []byte, i int) []byte {
	b = append(b, f.b0)
	mask := byte(0x80)
	if !f.masked {
		mask = 0
	}
	switch {
	case f.form == 2 || f.declared > 0xffff:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, f.declared)
	case f.form == 1 || f.declared > 125:
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(f.declared))
	default:
		b = append(b, mask|byte(f.declared))
	}
	if !f.masked {
		return append(b, f.payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, byte(i)}
	b = append(b, key[:]...)
	for j, c := range f.payload {
		b = append(b, c^key[j%4])
	}
	return b
}

// wsOutcome is what the server must answer to a client's frames: a pong
// for every ping, in order, until the first frame that ends the
// connection; then a close frame with code (and, for a client's close,
// the same reason), or none (code 0) when it drops the connection.
type wsOutcome struct {
	pongs  [][]byte
	code   int
	echo   bool // the close frame echoes the client's: code -1 is an empty one
	reason []byte
	ended  bool
}

// expect is the WebSocket protocol (RFC 6455) as a server that takes no
// messages applies it: the model the fuzz target checks the server by.
func expect(frames []clientFrame) (wsOutcome, int) {
	var o wsOutcome
	for i, f := range frames {
		op := f.b0 & 0x0f
		fin := f.b0&0x80 != 0
		switch {
		case f.declared >= 1<<63: // not a length: the connection drops
		case f.b0&0x70 != 0: // no extension was agreed: RSV bits are errors
			o.code = int(websocket.StatusProtocolError)
		case !f.masked: // a client's frame must be masked
		case op == opPing || op == opPong || op == opClose:
			switch {
			case f.declared > 125 || !fin:
				o.code = int(websocket.StatusProtocolError)
			case op == opPing:
				o.pongs = append(o.pongs, f.payload)
				continue
			case op == opPong:
				continue
			case len(f.payload) == 0:
				o.code, o.echo = -1, true
			case len(f.payload) == 1:
				o.code = int(websocket.StatusProtocolError)
			default:
				code := int(binary.BigEndian.Uint16(f.payload))
				if validCloseCode(code) {
					o.code, o.echo, o.reason = code, true, f.payload[2:]
				} else {
					o.code = int(websocket.StatusProtocolError)
				}
			}
		case op == opText || op == opBinary:
			o.code = int(websocket.StatusPolicyViolation) // readers send no messages
		default: // a continuation of nothing, or an unknown opcode
			o.code = int(websocket.StatusProtocolError)
		}
		o.ended = true
		return o, i + 1
	}
	return o, len(frames)
}

// validCloseCode reports whether a close frame may carry the code
// (RFC 6455 §7.4).
func validCloseCode(code int) bool {
	switch {
	case code == 1004 || code == 1005 || code == 1006:
		return false
	case code >= 1000 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fuzzWS is the server side of FuzzWSClientFrames: the real handler on a
// real listener, and a reader beside the fuzzed clients.
type fuzzWS struct {
	h      *Hub
	log    *history.Log
	addr   string
	seq    uint64
	frames chan wsEvent // the normal reader's frames
}

type wsEvent struct {
	Type string    `json:"type"`
	Seq  uint64    `json:"seq"`
	Item news.Item `json:"item"`
	err  error
}

func startFuzzWS(f *testing.F) *fuzzWS {
	gin.SetMode(gin.TestMode)
	h, log := newFuzzHub(f)
	engine := gin.New()
	engine.GET("/api/v1/ws", h.ServeWS)
	srv := httptest.NewServer(engine)
	s := &fuzzWS{h: h, log: log, addr: srv.Listener.Addr().String(), frames: make(chan wsEvent, 64)}

	ctx, cancel := context.WithCancel(context.Background())
	conn, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/api/v1/ws?regions=mena&backfill=0", nil)
	if err != nil {
		f.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, b, err := conn.Read(ctx)
			var e wsEvent
			if err == nil {
				err = json.Unmarshal(b, &e)
			}
			e.err = err
			select {
			case s.frames <- e:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	if e := s.next(f); e.Type != "welcome" {
		f.Fatalf("normal reader: first frame %+v", e)
	}
	f.Cleanup(func() {
		cancel()
		conn.CloseNow()
		<-done
		c, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = h.Close(c)
		srv.Close()
	})
	return s
}

// hangGuard bounds the waits of these tests: it only turns a hang into a
// failure, so it is generous enough for -race on a loaded machine and
// decides nothing about speed.
const hangGuard = 30 * time.Second

func (s *fuzzWS) next(tb testing.TB) wsEvent {
	tb.Helper()
	select {
	case e := <-s.frames:
		if e.err != nil {
			tb.Fatalf("normal reader: %v", e.err)
		}
		return e
	case <-time.After(hangGuard):
		tb.Fatalf("normal reader: no frame for %s", hangGuard)
	}
	return wsEvent{}
}

// publish posts an event for the normal reader (the fuzzed clients ask for
// another region) and checks it arrives, text unchanged.
func (s *fuzzWS) publish(t *testing.T) {
	s.seq++
	now := time.Now().UTC()
	it := news.Item{ID: news.NewID(), Seq: s.seq, PublishedSeq: s.seq, Version: 1, Status: news.StatusLive,
		Text: "<b>Breaking</b> &amp; \u202eevil\u202c " + strconv.FormatUint(s.seq, 10), Lang: "en", Regions: []string{"mena"},
		Priority: news.PriorityBreaking, PublishedAt: now, UpdatedAt: now}
	s.h.Deliver(s.log.Append(news.Event{Type: news.EventItem, Seq: s.seq, Item: it}))
	for {
		e := s.next(t)
		if e.Seq < s.seq {
			continue
		}
		if e.Type != news.EventItem || e.Seq != s.seq || e.Item.Text != it.Text || e.Item.ID != it.ID {
			t.Fatalf("normal reader got %+v, want item %d %q", e, s.seq, it.Text)
		}
		return
	}
}

// fuzzHandshake is a client's opening handshake; the server must answer
// with the accept value for its key.
const (
	fuzzHandshake = "GET /api/v1/ws?regions=africa&backfill=0 HTTP/1.1\r\nHost: news.example\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	fuzzAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// FuzzWSClientFrames drives the real WebSocket read path: per input, a raw
// TCP client does the handshake by hand (or sends the handshake and its
// frames in one write, pipelined), sends the input as frames (masked, as a
// client must, unless the input says otherwise) followed by a ping, or as
// raw bytes, then half-closes. Properties:
//   - the server neither crashes nor hangs: it ends the connection within
//     5 s of the client's end, and the reader leaves the hub;
//   - it sends only well-formed unmasked frames: the welcome (first, unless
//     pipelined), pongs and at most one close frame, last;
//   - framed input gets exactly what RFC 6455 says (see expect): a pong
//     with the same payload for every ping, and for the first frame that
//     may not be sent (a message, a fragmented or oversized control frame,
//     RSV bits, an unknown opcode, a continuation of nothing, a bad close
//     payload, an unmasked frame, an invalid length) a close frame with
//     1008 (messages) or 1002 (protocol errors), an echo of the client's
//     close, or a dropped connection;
//   - a normal reader connected beside keeps getting events, text intact.
func FuzzWSClientFrames(f *testing.F) {
	ping := func(p string) []byte { return append([]byte{0x80 | opPing, byte(len(p))}, p...) }
	frame := func(b0, b1 byte, p string) []byte { return append([]byte{b0, b1}, p...) }
	seeds := []struct {
		pipelined, raw bool
		data           []byte
	}{
		{false, false, nil},
		{false, false, ping("hello")},
		{true, false, ping("hello")},
		{false, false, bytes.Join([][]byte{ping("a"), frame(0x80|opPong, 1, "b"), ping("")}, nil)},
		{false, false, frame(0x80|opText, 5, "hello")},
		{true, false, frame(0x80|opText, 5, "hello")},
		{false, false, frame(0x80|opBinary, 3, "\x00\xff\xfe")},
		{false, false, frame(opText, 3, "par")},
		{false, false, frame(0x80|opCont, 3, "con")},
		{false, false, frame(0x80|opText, 0x80|5, "plain")},
		{false, false, frame(0x80|opPing, 0x80|2, "hi")},
		{false, false, frame(0xc0|opText, 2, "z!")},
		{false, false, frame(0xa0|opPing, 0, "")},
		{false, false, frame(0x90|opPing, 0, "")},
		{false, false, frame(opPing, 2, "fr")},
		{false, false, frame(0x80|opPing, 126, "\x00\x7e"+strings.Repeat("p", 126))},
		{false, false, frame(0x80|opPing, 127, "\x00\x05hello")},
		{false, false, frame(0x80|opText, 126, "\x04\x01"+strings.Repeat("x", 1025))},
		{false, false, frame(0x80|opText, 126, "\x0f\xff"+strings.Repeat("x", 4095))},
		{false, false, frame(0x80|opText, 127, "\xff\xff")},
		{false, false, frame(0x80|opPing, 127, "\xff\xff")},
		{false, false, frame(0x80|opPing, 127, "\xff\xfe")},
		{false, false, frame(0x80|opClose, 0, "")},
		{false, false, frame(0x80|opClose, 1, "\x03")},
		{false, false, frame(0x80|opClose, 2, "\x03\xe8")},
		{false, false, frame(0x80|opClose, 6, "\x03\xe8bye\xff")},
		{false, false, frame(0x80|opClose, 2, "\x03\xed")},
		{false, false, frame(0x80|opClose, 2, "\x13\x88")},
		{true, false, bytes.Join([][]byte{ping("x"), frame(0x80|opClose, 4, "\x0f\xa0ok")}, nil)},
		{false, false, frame(0x83, 0, "")},
		{false, false, frame(0x8b, 3, "abc")},
		{false, false, bytes.Join([][]byte{ping("1"), frame(0x80|opText, 1, "m"), ping("2")}, nil)},
		{false, true, nil},
		{false, true, []byte{0x89}},
		{false, true, []byte{0x89, 0x80, 1, 2, 3}},
		{false, true, []byte{0x89, 0x85, 1, 2, 3}},
		{true, true, []byte{0x81, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}},
		{false, true, []byte("GET / HTTP/1.1\r\n\r\n")},
		{false, true, bytes.Repeat([]byte{0x89, 0x80, 0, 0, 0, 0}, 200)},
		{true, true, bytes.Repeat([]byte{0x89, 0x80, 0, 0, 0, 0}, 200)},
	}
	for _, s := range seeds {
		f.Add(s.pipelined, s.raw, s.data)
	}
	srv := startFuzzWS(f)
	f.Fuzz(func(t *testing.T, pipelined, raw bool, data []byte) {
		var (
			wire  []byte
			want  wsOutcome
			model = !raw
		)
		if raw {
			wire = data
		} else {
			frames := parseClientFrames(data)
			var n int
			want, n = expect(frames)
			for i, fr := range frames[:n] {
				wire = fr.encode(wire, i)
			}
			if !want.ended {
				probe := clientFrame{b0: 0x80 | opPing, masked: true, payload: []byte("probe " + strconv.FormatUint(srv.seq, 10))}
				probe.declared = uint64(len(probe.payload))
				wire = probe.encode(wire, n)
				want.pongs = append(want.pongs, probe.payload)
			}
		}
		got := srv.exchange(t, pipelined, wire)
		checkServerFrames(t, got, pipelined)
		if model {
			checkOutcome(t, got, want)
		}
		waitReaders(t, srv.h, 1)
		srv.publish(t)
	})
}

// wsAnswer is what the server sent after the handshake, the welcome aside.
type wsAnswer struct {
	frames   []wsFrame
	welcomes int
	end      error // io.EOF, or a reset: the server closed the connection
}

// exchange opens a connection, sends the handshake and wire, half-closes
// and reads what the server answers until it closes the connection.
func (s *fuzzWS) exchange(t *testing.T, pipelined bool, wire []byte) wsAnswer {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(hangGuard)); err != nil {
		t.Fatal(err)
	}
	var ans wsAnswer
	br := bufio.NewReader(conn)
	handshake := func() {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != fuzzAccept {
			t.Fatalf("handshake answered %s %v", resp.Status, resp.Header)
		}
	}
	if pipelined {
		if _, err := conn.Write(append([]byte(fuzzHandshake), wire...)); err != nil {
			t.Fatal(err)
		}
		handshake()
	} else {
		if _, err := io.WriteString(conn, fuzzHandshake); err != nil {
			t.Fatal(err)
		}
		handshake()
		// The welcome comes first.
		fr, err := readWSFrame(br)
		if err != nil || fr.op != opText || !isWelcome(fr.payload) {
			t.Fatalf("first frame %+v (%q), %v; want the welcome", fr, fr.payload, err)
		}
		ans.welcomes++
		if len(wire) > 0 {
			if _, err := conn.Write(wire); err != nil && !isReset(err) {
				t.Fatal(err)
			}
		}
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil && !isReset(err) && !errors.Is(err, syscall.ENOTCONN) {
		t.Fatal(err)
	}
	for {
		fr, err := readWSFrame(br)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server neither answered nor closed the connection within 5 s (wire %q)", wire)
			}
			ans.end = err
			return ans
		}
		if fr.op == opText && fr.fin && isWelcome(fr.payload) {
			ans.welcomes++
			continue
		}
		ans.frames = append(ans.frames, fr)
	}
}

func isWelcome(p []byte) bool {
	var w welcome
	return json.Unmarshal(p, &w) == nil && w.Type == "welcome" && w.Epoch == fuzzEpoch && !w.Recovered && w.Backfill == 0
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// checkServerFrames checks what any server may send a client: well-formed
// unmasked frames, one welcome, pongs and at most one close frame, last.
func checkServerFrames(t *testing.T, a wsAnswer, pipelined bool) {
	t.Helper()
	if !errors.Is(a.end, io.EOF) && !isReset(a.end) {
		t.Fatalf("server answer ends with %v", a.end)
	}
	if a.welcomes > 1 || (!pipelined && a.welcomes != 1) {
		t.Fatalf("%d welcomes", a.welcomes)
	}
	for i, fr := range a.frames {
		if !fr.fin || fr.rsv != 0 || fr.masked || (fr.op != opPong && fr.op != opClose) {
			t.Fatalf("server frame %d: %+v (%q)", i, fr, fr.payload)
		}
		if fr.op == opClose && i != len(a.frames)-1 {
			t.Fatalf("server frame %d after its close frame: %+v", i+1, a.frames[i+1])
		}
		if fr.op == opClose && len(fr.payload) == 1 {
			t.Fatalf("close frame payload %q", fr.payload)
		}
	}
}

// checkOutcome compares the server's answer with the model's.
func checkOutcome(t *testing.T, a wsAnswer, want wsOutcome) {
	t.Helper()
	var pongs [][]byte
	var closeFrame *wsFrame
	for i := range a.frames {
		switch a.frames[i].op {
		case opPong:
			pongs = append(pongs, a.frames[i].payload)
		case opClose:
			closeFrame = &a.frames[i]
		}
	}
	if len(pongs) != len(want.pongs) {
		t.Fatalf("%d pongs (%q), want %d (%q)", len(pongs), pongs, len(want.pongs), want.pongs)
	}
	for i := range pongs {
		if !bytes.Equal(pongs[i], want.pongs[i]) {
			t.Fatalf("pong %d is %q, want %q", i, pongs[i], want.pongs[i])
		}
	}
	switch {
	case want.code == 0 && closeFrame != nil:
		t.Fatalf("close frame %q, want the connection dropped", closeFrame.payload)
	case want.code == 0:
	case closeFrame == nil:
		t.Fatalf("no close frame (connection ended with %v), want code %d", a.end, want.code)
	case want.code == -1:
		if len(closeFrame.payload) != 0 {
			t.Fatalf("close frame %q, want an empty one", closeFrame.payload)
		}
	default:
		code := int(binary.BigEndian.Uint16(append(closeFrame.payload, 0, 0)))
		if code != want.code || (want.echo && !bytes.Equal(closeFrame.payload[2:], want.reason)) {
			t.Fatalf("close frame %d %q, want %d %q", code, closeFrame.payload[min(2, len(closeFrame.payload)):], want.code, want.reason)
		}
	}
}

// waitReaders waits until the hub has n readers: a connection the server
// ended leaves it.
func waitReaders(t *testing.T, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for h.Readers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d readers %s after the connection ended, want %d", h.Readers(), hangGuard, n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}
