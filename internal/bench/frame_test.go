package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"newsflash/internal/news"
)

const sentAt = 1795000000123456789 // a unix nano of 19 digits

// serverFrame encodes an event frame as the server does: envelope type and
// seq, then the item's public JSON.
func serverFrame(t testing.TB, typ string, seq uint64, text string) []byte {
	t.Helper()
	it := news.Item{ID: news.NewID(), Seq: seq, PublishedSeq: seq, Version: 1, Status: news.StatusLive, Text: text,
		Lang: "en", Regions: []string{"mena"}, Priority: news.PriorityFlash, Source: "newsflash bench",
		PublishedAt: time.Unix(0, sentAt), UpdatedAt: time.Unix(0, sentAt)}
	b, err := json.Marshal(it.Public())
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"type":"` + typ + `","seq":` + strconv.FormatUint(seq, 10) + `,"item":` + string(b) + `}`)
}

func benchText(n int, run string) string {
	return "bench " + strconv.FormatInt(sentAt, 10) + " " + strconv.Itoa(n) + " " + run
}

func TestParseFrame(t *testing.T) {
	const run = "ab12cd34"
	tests := []struct {
		name  string
		frame []byte
		want  frame
	}{
		{"welcome", []byte(`{"type":"welcome","seq":4,"epoch":"dn6wbwcm8u84","recovered":false,"backfill":0}`), frame{kind: frameWelcome, seq: 4}},
		{"item of this run", serverFrame(t, "item", 17, benchText(42, run)), frame{kind: frameItem, seq: 17, sent: sentAt, n: 42}},
		{"item of another run", serverFrame(t, "item", 18, benchText(42, "ffffffff")), frame{kind: frameForeign, seq: 18}},
		{"run is a prefix", serverFrame(t, "item", 18, benchText(42, run+"x")), frame{kind: frameForeign, seq: 18}},
		{"update of this run", serverFrame(t, "update", 19, benchText(1, run)), frame{kind: frameForeign, seq: 19}},
		{"retract", serverFrame(t, "retract", 20, benchText(1, run)), frame{kind: frameForeign, seq: 20}},
		{"editor's item", serverFrame(t, "item", 21, "Ceasefire announced"), frame{kind: frameForeign, seq: 21}},
		{"text starting like ours", serverFrame(t, "item", 22, "bench press record"), frame{kind: frameForeign, seq: 22}},
		{"no n", serverFrame(t, "item", 23, "bench 123"), frame{kind: frameForeign, seq: 23}},
		{"number too long", serverFrame(t, "item", 24, "bench 123456789012345678901 1 "+run), frame{kind: frameForeign, seq: 24}},
		{"unknown type", []byte(`{"type":"pong","seq":1}`), frame{}},
		{"not json", []byte(`hello`), frame{}},
		{"empty", nil, frame{}},
		{"unterminated type", []byte(`{"type":"item`), frame{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseFrame(tt.frame, run); got != tt.want {
				t.Errorf("parseFrame(%s) = %+v, want %+v", tt.frame, got, tt.want)
			}
		})
	}
}

func TestParseFrameDoesNotAllocate(t *testing.T) {
	b := serverFrame(t, "item", 17, benchText(42, "ab12cd34"))
	if n := testing.AllocsPerRun(100, func() { parseFrame(b, "ab12cd34") }); n != 0 {
		t.Errorf("parseFrame allocates %v times", n)
	}
}

func TestReaderHandleDoesNotAllocate(t *testing.T) {
	tl := &tally{run: "ab12cd34", items: 100}
	r := &reader{seen: make([]uint64, 2)}
	b := serverFrame(t, "item", 17, benchText(42, tl.run))
	now := time.Now().UnixNano()
	if n := testing.AllocsPerRun(100, func() { r.handle(parseFrame(b, tl.run), now, tl) }); n != 0 {
		t.Errorf("a frame costs %v allocations", n)
	}
}

func BenchmarkFrame(b *testing.B) {
	tl := &tally{run: "ab12cd34", items: 100}
	r := &reader{seen: make([]uint64, 2)}
	f := serverFrame(b, "item", 17, benchText(42, tl.run))
	b.ReportAllocs()
	for b.Loop() {
		r.handle(parseFrame(f, tl.run), sentAt+1e6, tl)
	}
}

func TestReadInto(t *testing.T) {
	buf := make([]byte, 0, 4)
	got, err := readInto(buf, strings.NewReader("a longer message than the buffer"))
	if err != nil || string(got) != "a longer message than the buffer" {
		t.Errorf("readInto = %q, %v", got, err)
	}
	got, err = readInto(got[:0], strings.NewReader("short"))
	if err != nil || string(got) != "short" {
		t.Errorf("readInto reused = %q, %v", got, err)
	}
}

// TestFleetCounts runs readers against a fake server that sends a welcome,
// then items of the run (one twice, one out of order) and foreign frames.
func TestFleetCounts(t *testing.T) {
	const run = "ab12cd34"
	frames := [][]byte{
		serverFrame(t, "item", 11, benchText(0, run)),
		serverFrame(t, "item", 12, benchText(1, run)),
		serverFrame(t, "item", 13, benchText(0, run)), // a repeat
		serverFrame(t, "item", 14, benchText(2, "ffffffff")),
		serverFrame(t, "update", 15, benchText(1, run)),
		serverFrame(t, "item", 16, benchText(99, run)), // beyond the run's items
		serverFrame(t, "item", 9, benchText(3, run)),   // seq went back; the last frame
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("backfill") != "0" {
			http.Error(w, `{"error":{"code":"want_backfill_0"}}`, http.StatusBadRequest)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"welcome","seq":10,"epoch":"e","recovered":false,"backfill":0}`))
		for _, f := range frames {
			c.Write(ctx, websocket.MessageText, f)
		}
		c.Read(ctx) // until the client goes
	}))
	defer srv.Close()

	fl := &fleet{t: &tally{run: run, items: 4}}
	clients := []*http.Client{newClient(netip.MustParseAddr("127.0.0.2")), newClient(netip.MustParseAddr("127.0.0.3"))}
	defer closeIdle(clients)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/ws?backfill=0"
	fl.connect(context.Background(), 3, 1000, clients, wsURL, io.Discard)
	if len(fl.readers) != 3 || fl.failed != 0 {
		t.Fatalf("connected %d, failed %d (%v), want 3 and 0", len(fl.readers), fl.failed, fl.firstErr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for fl.t.frames.Load() < 3*4 && time.Now().Before(deadline) { // the last frame is the run's 4th
		time.Sleep(5 * time.Millisecond)
	}
	if err := fl.close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n, err := fl.dropped(); n != 0 {
		t.Errorf("%d readers dropped (%v)", n, err)
	}
	for i, r := range fl.readers {
		if r.got != 3 || r.dup != 1 || r.foreign != 3 || r.outOfOrder != 1 || r.other != 0 {
			t.Errorf("reader %d: got %d, dup %d, foreign %d, out of order %d, other %d; want 3, 1, 3, 1, 0",
				i, r.got, r.dup, r.foreign, r.outOfOrder, r.other)
		}
		if r.handshake <= 0 || r.maxLat <= 0 {
			t.Errorf("reader %d: handshake %v, max latency %v", i, r.handshake, r.maxLat)
		}
	}
	if got := fl.t.unique.Load(); got != 9 {
		t.Errorf("unique deliveries %d, want 9", got)
	}

	// A refused handshake is reported with the server's answer.
	fl = &fleet{t: &tally{run: run}}
	fl.connect(context.Background(), 2, 1000, clients, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws", io.Discard)
	if len(fl.readers) != 0 || fl.failed != 2 || fl.firstErr == nil || !strings.Contains(fl.firstErr.Error(), "400") {
		t.Errorf("refused handshakes: %d connected, %d failed, %v", len(fl.readers), fl.failed, fl.firstErr)
	}
}
