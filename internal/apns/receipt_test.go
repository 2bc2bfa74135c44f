package apns

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
)

// TestReceiptInBody: a receipt added to a prepared alert's body gives byte
// for byte the body encoded with it, the body fits MaxPayload even with
// the longest receipt and a text that must be cut, and a retract's body
// has none.
func TestReceiptInBody(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, text := range []string{"Quake <M7> & \"aftershocks\"", strings.Repeat("ü", 3000)} {
		it := &news.Item{ID: "abc", Version: 2, Lang: "en", Priority: news.PriorityFlash, Text: text, URL: "https://news.example/a"}
		m := Message{Kind: news.EventItem, Seq: 9, Item: it, TTL: time.Hour, Title: "Flash"}
		plain, err := encode(m, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, receipt := range []string{"AQ4xZ2Vf-_rcpt", strings.Repeat("r", MaxReceipt), "odd \"q\" <&>"} {
			m.Receipt = receipt
			want, err := encode(m, now)
			if err != nil {
				t.Fatal(err)
			}
			got := withReceipt(plain.body, receipt)
			if !bytes.Equal(got, want.body) {
				t.Errorf("receipt %q:\n got %s\nwant %s", receipt, got, want.body)
			}
			if len(got) > MaxPayload && !strings.Contains(receipt, "\"") {
				t.Errorf("body of %d bytes over MaxPayload", len(got))
			}
			var p payload
			if err := json.Unmarshal(got, &p); err != nil || p.Receipt != receipt {
				t.Errorf("decoded receipt %q, err %v", p.Receipt, err)
			}
		}
	}
	m := Message{Kind: news.EventItem, Item: &news.Item{ID: "abc"}, Title: "x", Receipt: strings.Repeat("r", MaxReceipt+1)}
	if _, err := encode(m, now); err == nil {
		t.Error("a receipt over MaxReceipt was encoded")
	}
	var c Client
	c.now = func() time.Time { return now }
	if n := c.Prepare(Message{Kind: news.EventRetract, Item: &news.Item{ID: "abc"}, Receipt: "r"}); n.receipts || bytes.Contains(n.body, []byte("receipt")) {
		t.Errorf("a retract carries a receipt: %s", n.body)
	}
}
