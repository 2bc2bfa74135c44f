package push

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"newsflash/internal/news"
)

func TestPayload(t *testing.T) {
	base := news.Item{ID: "abcdefghijklmnopqrst", Version: 2, Text: "Short text", Lang: "ar", Regions: []string{"mena"},
		Priority: "flash", Source: "Al Mayadeen", URL: "https://news.example/1", PublishedAt: time.Unix(1_800_000_000, 0).UTC()}
	long := base
	long.Text = strings.Repeat("<𝕏", 300) // JSON: 6 + 4 bytes a pair, 3,000 bytes
	long.Source = strings.Repeat("ب", 120)
	long.URL = "https://news.example/" + strings.Repeat("a", 2000)
	cases := []struct {
		name     string
		kind     string
		it       news.Item
		wantText string // "" = check the ellipsis
	}{
		{"item", news.EventItem, base, "Short text"},
		{"update", news.EventUpdate, base, "Short text"},
		{"long item is shortened", news.EventItem, long, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := encodePayload(tc.kind, 42, &tc.it)
			if len(b) > MaxPayload {
				t.Fatalf("payload is %d bytes", len(b))
			}
			var p payload
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.kind || p.Seq != 42 || p.Item.ID != tc.it.ID || p.Item.Version != 2 || p.Item.Lang != "ar" || p.Item.Priority != "flash" {
				t.Fatalf("payload %s", b)
			}
			if tc.wantText != "" && p.Item.Text != tc.wantText {
				t.Fatalf("text %q", p.Item.Text)
			}
			if tc.wantText == "" {
				if !strings.HasSuffix(p.Item.Text, "…") || !utf8.ValidString(p.Item.Text) || utf8.RuneCountInString(p.Item.Text) < 300 {
					t.Fatalf("shortened text %q (%d runes)", p.Item.Text, utf8.RuneCountInString(p.Item.Text))
				}
				if !strings.HasPrefix(tc.it.Text, strings.TrimSuffix(p.Item.Text, "…")) {
					t.Fatal("shortened text is not a prefix")
				}
			}
		})
	}
	r := encodePayload(news.EventRetract, 43, &base)
	if string(r) != `{"type":"retract","seq":43,"item":{"id":"abcdefghijklmnopqrst","version":2}}` {
		t.Fatalf("retract payload %s", r)
	}
}
