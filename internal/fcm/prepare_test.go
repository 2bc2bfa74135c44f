package fcm

import (
	"bytes"
	"testing"
	"time"

	"newsflash/internal/news"
)

// TestPreparedBody: the body a Prepared makes for a token is byte for byte
// the one encoding the message with that token gives, for every kind and
// for tokens json.Marshal writes as they are and ones it escapes.
func TestPreparedBody(t *testing.T) {
	it := &news.Item{ID: "01JABCDEF", Version: 2, Lang: "en", Priority: news.PriorityFlash,
		Text: "Quake <M7> & \"aftershocks\" — ünïcode", URL: "https://news.example/a?b=1&c=2"}
	tokens := []string{
		"dGVzdF90b2tlbjpBUEE5MWJIdXZfYWJjLWRlZg",
		"with \"quote\" and \\backslash",
		"html <&> chars",
		"ünïcode\u2028line",
		"control\x01\n",
	}
	for _, kind := range []string{KindItem, KindUpdate, KindRetract} {
		m := Message{Kind: kind, Seq: 42, Item: it, TTL: 90 * time.Minute, Title: "Flash"}
		p := Prepare(m)
		if p.err != nil {
			t.Fatalf("%s: Prepare: %v", kind, p.err)
		}
		for _, tok := range tokens {
			for _, receipt := range []string{"", "AQ4xZ2Vf-_rcpt", "odd \"receipt\" <&>"} {
				m.Token, m.Receipt = tok, receipt
				if kind == KindRetract {
					m.Receipt = "" // a retract has no receipt
				}
				want, err := encode(m)
				if err != nil {
					t.Fatalf("%s: encode: %v", kind, err)
				}
				if got := p.body(tok, m.Receipt); !bytes.Equal(got, want) {
					t.Errorf("%s, token %q, receipt %q:\n got %s\nwant %s", kind, tok, m.Receipt, got, want)
				}
				if m.Receipt != "" && !bytes.Contains(want, []byte(`"receipt":`)) {
					t.Errorf("%s: no receipt in %s", kind, want)
				}
			}
		}
	}
}

// TestPrepareBadMessage: a message that cannot be encoded prepares one
// that fails every send.
func TestPrepareBadMessage(t *testing.T) {
	for name, m := range map[string]Message{
		"no item":      {Kind: KindItem},
		"no item id":   {Kind: KindItem, Item: &news.Item{}},
		"unknown kind": {Kind: "nope", Item: &news.Item{ID: "x"}},
	} {
		if p := Prepare(m); p.err == nil {
			t.Errorf("%s: Prepare made a sendable message", name)
		}
	}
}

// BenchmarkPreparedBody is the per-device work of a prepared message: its
// body with the device's token and receipt.
func BenchmarkPreparedBody(b *testing.B) {
	it := &news.Item{ID: "abcdefghijklmnopqrst", Version: 1, Lang: "en", Priority: news.PriorityFlash, Text: "Quake of magnitude 7 hits the coast", URL: "https://news.example/a"}
	p := Prepare(Message{Kind: KindItem, Seq: 42, Item: it, TTL: time.Hour, Title: "FLASH"})
	tok := "cT0k:APA91b" + string(bytes.Repeat([]byte("Ab3_-"), 30))
	receipt := "ARm7upQHBlxXueDfagAWIFI6_1km7dO2Fce9pNv25e2-NULBiyI"
	b.ReportAllocs()
	for b.Loop() {
		_ = p.body(tok, receipt)
	}
}
