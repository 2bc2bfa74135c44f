package tail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/tail"
)

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Ceasefire announced", "Ceasefire announced"},
		{"arabic and emoji", "مراسل الميادين 🚨", "مراسل الميادين 🚨"},
		{"SGR colour", "\x1b[31mred\x1b[0m text", "red text"},
		{"cursor and clear", "a\x1b[2J\x1b[H\x1b[10;20Hb", "ab"},
		{"OSC title with BEL", "\x1b]0;pwned\x07after", "after"},
		{"OSC 8 hyperlink with ST", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"OSC 52 clipboard", "x\x1b]52;c;cm0gLXJmIH4=\x07y", "xy"},
		{"DCS", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"C1 CSI", "a\u009b2Jb", "ab"},
		{"C1 OSC to C1 ST", "a\u009d0;t\u009cb", "ab"},
		{"unterminated OSC", "a\x1b]0;forever", "a"},
		{"short escape", "a\x1bcb", "ab"},
		{"escape at the end", "a\x1b", "a"},
		{"line breaks and tabs", "one\ntwo\r\nthree\tfour", "one two  three four"},
		{"other controls", "a\x00b\x07c\x08d\x7fe\u0085f", "abcdef"},
		{"invalid UTF-8", "bad \xff\xfe text", "bad \uFFFD text"},
		{"right-to-left override stays text", "\u202Eevil", "\u202Eevil"},
	}
	for _, tt := range tests {
		if got := tail.Clean(tt.in); got != tt.want {
			t.Errorf("%s: Clean(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestTailHostileServer: a server that puts terminal escapes and control
// characters in every string gets plain text printed, in text and in JSON.
func TestTailHostileServer(t *testing.T) {
	evil := "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\nline two\u009b2J\u0085"
	item, _ := json.Marshal(map[string]any{"id": "id\x1b[1m", "seq": 7, "version": 1, "status": "live", "text": evil,
		"priority": "flash\x1b[5m", "updated_at": "2026-11-28T13:48:33Z"}) // C1 characters stay raw in JSON
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "retry: 2000\nid: 6\nevent: welcome\ndata: {\"type\":\"welcome\",\"seq\":6,\"epoch\":\"e\",\"recovered\":false,\"backfill\":0}\n\n")
		fmt.Fprintf(w, "id: 7\nevent: item\ndata: %s\n\n", item)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		p := &tail.Printer{W: &out, JSON: asJSON, Location: time.UTC}
		var status lockedBuffer
		done := make(chan error, 1)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			done <- tail.Run(ctx, tail.Options{Server: srv.URL, Status: &status}, func(ev tail.Event) error {
				defer cancel() // one event is all this server sends
				return p.Print(ev)
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(wait):
			cancel()
			t.Fatalf("json %v: nothing printed; status:\n%s", asJSON, status.String())
		}
		got := out.String()
		if strings.ContainsFunc(strings.TrimSuffix(got, "\n"), func(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }) {
			t.Errorf("json %v: control characters printed: %q", asJSON, got)
		}
		want := "2026-11-28 13:48:33  flash     id  red line two\n"
		if asJSON {
			want = `{"type":"item","seq":7,"item":{"id":"id\u001b[1m",`
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("json %v: printed %q, want %q", asJSON, got, want)
		}
		if asJSON && !strings.Contains(got, `line two\u009b2J\u0085"`) {
			t.Errorf("json: C1 characters not escaped: %q", got)
		}
	}
}

func TestPrintText(t *testing.T) {
	at := time.Date(2026, 11, 28, 13, 48, 33, 0, time.UTC)
	it := news.Item{ID: "qpvtgkhop6re344ppstq", Text: "Ceasefire", Priority: "flash", Version: 2, UpdatedAt: at}
	tests := []struct {
		ev   tail.Event
		want string
	}{
		{tail.Event{Type: news.EventItem, Item: it}, "2026-11-28 13:48:33  flash     qpvtgkhop6re344ppstq  Ceasefire\n"},
		{tail.Event{Type: news.EventUpdate, Item: it}, "2026-11-28 13:48:33  flash     qpvtgkhop6re344ppstq  [update] Ceasefire\n"},
		{tail.Event{Type: news.EventRetract, Item: it}, "2026-11-28 13:48:33  flash     qpvtgkhop6re344ppstq  [retract] Ceasefire\n"},
		{tail.Event{Type: news.EventItem, Snapshot: true, Item: it}, "2026-11-28 13:48:33  flash     qpvtgkhop6re344ppstq  [corrected] Ceasefire\n"},
		{tail.Event{Type: news.EventItem, Item: news.Item{ID: "x", Text: "no time", Priority: "breaking"}}, "-  breaking  x  no time\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := (&tail.Printer{W: &b, Location: time.UTC}).Print(tt.ev); err != nil || b.String() != tt.want {
			t.Errorf("Print(%s) = %q, %v; want %q", tt.ev.Type, b.String(), err, tt.want)
		}
	}
}
