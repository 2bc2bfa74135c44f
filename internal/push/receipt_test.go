package push

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
)

func testKey(b byte) *receiptKey {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b + byte(i)
	}
	rk := newReceiptKey(k)
	return &rk
}

// TestReceiptToken: a receipt checks under its key and says its item and
// platform; the same (item, subscription) makes the same receipt, another
// subscription or item another nonce; a forged, truncated, re-labelled or
// foreign receipt does not check.
func TestReceiptToken(t *testing.T) {
	k := testKey(1)
	item, other := news.NewID(), news.NewID()
	tok := k.receipt(item, platformIOS, "sub-a")
	if tok == "" || len(tok) != base64.RawURLEncoding.EncodedLen(receiptRawLen) {
		t.Fatalf("receipt %q", tok)
	}
	if len(`,"receipt":""`)+len(tok) != receiptSpace {
		t.Errorf("receiptSpace %d does not fit a receipt of %d characters", receiptSpace, len(tok))
	}
	rc, err := k.check(tok)
	if err != nil || rc.item != item || rc.plat != platformIOS {
		t.Fatalf("check = %+v, %v", rc, err)
	}
	if again := k.receipt(item, platformIOS, "sub-a"); again != tok {
		t.Errorf("not deterministic: %q then %q", tok, again)
	}
	b, _ := k.check(k.receipt(item, platformIOS, "sub-b"))
	c, _ := k.check(k.receipt(other, platformIOS, "sub-a"))
	if b.nonce == rc.nonce || c.nonce == rc.nonce {
		t.Error("a nonce repeats across subscriptions or alerts")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	mod := func(f func([]byte)) string {
		c := append([]byte(nil), raw...)
		f(c)
		return base64.RawURLEncoding.EncodeToString(c)
	}
	otherID, _ := itemIDEncoding.DecodeString(other)
	bad := map[string]string{
		"empty":          "",
		"forged tag":     mod(func(c []byte) { c[len(c)-1] ^= 1 }),
		"other item":     mod(func(c []byte) { copy(c[1:13], otherID) }),
		"other platform": mod(func(c []byte) { c[13] = byte(platformWeb) }),
		"no platform":    mod(func(c []byte) { c[13] = 9 }),
		"other nonce":    mod(func(c []byte) { c[14] ^= 1 }),
		"version":        mod(func(c []byte) { c[0] = 2 }),
		"truncated":      tok[:len(tok)-1],
		"longer":         tok + "A",
		"bad base64":     "*" + tok[1:],
		"padded":         tok[:len(tok)-1] + "=",
		"other key":      testKey(2).receipt(item, platformIOS, "sub-a"),
		"spaces":         strings.Repeat(" ", len(tok)),
	}
	for name, tok := range bad {
		if _, err := k.check(tok); err == nil {
			t.Errorf("%s: %q checks", name, tok)
		}
	}
	if got := k.receipt("not-an-id", platformWeb, "s"); got != "" {
		t.Errorf("receipt of a bad id: %q", got)
	}
	if got := (&receiptKey{}).receipt(item, platformWeb, "s"); got != "" {
		t.Errorf("zero key made %q", got)
	}
}

// TestWithReceipt: the receipt goes in as the payload's last key, and a
// payload of the longest text still fits MaxPayload with it.
func TestWithReceipt(t *testing.T) {
	tok := testKey(1).receipt(news.NewID(), platformWeb, "s")
	if got := string(withReceipt([]byte(`{"type":"item"}`), tok)); got != `{"type":"item","receipt":"`+tok+`"}` {
		t.Errorf("withReceipt = %s", got)
	}
	if got := string(withReceipt([]byte(`{"a":1}`), "")); got != `{"a":1}` {
		t.Errorf("no receipt: %s", got)
	}
	it := news.Item{ID: news.NewID(), Text: strings.Repeat("ü", 4000), Priority: news.PriorityFlash}
	if b := withReceipt(encodePayload(news.EventItem, 1, &it), tok); len(b) > MaxPayload {
		t.Errorf("payload with receipt of %d bytes", len(b))
	}
}

// TestHistogram: quantiles fall in the right bucket and interpolate.
func TestHistogram(t *testing.T) {
	var h hist
	if h.percentiles() != nil {
		t.Error("empty histogram has percentiles")
	}
	for range 10 {
		h.add(0) // bucket 0: up to 50 ms
	}
	if p := h.percentiles(); p == nil || p.P50 > 0.05 || p.P90 > 0.05 {
		t.Errorf("all at 0: %+v", p)
	}
	var g hist
	for i := range 100 {
		g.add(time.Duration(i+1) * time.Second)
	}
	p := g.percentiles()
	if p.P50 < 35 || p.P50 > 70 || p.P90 < 70 || p.P90 > 130 {
		t.Errorf("1..100 s: %+v", p)
	}
	g.add(48 * time.Hour) // beyond the last bound: counted in the last bucket
	if g.total() != 101 || g[histBuckets-1] != 1 {
		t.Errorf("long time not counted last: %v", g)
	}
}

// BenchmarkReceipt is what a receipt adds to one send: the token (two
// HMACs) and the payload with it.
func BenchmarkReceipt(b *testing.B) {
	k := testKey(1)
	it := news.Item{ID: news.NewID(), Text: "Quake of magnitude 7 hits the coast", Lang: "en", Priority: news.PriorityFlash}
	payload := encodePayload(news.EventItem, 1, &it)
	b.ReportAllocs()
	for b.Loop() {
		_ = withReceipt(payload, k.receipt(it.ID, platformWeb, "0123456789abcdef0123456789abcdef"))
	}
}
