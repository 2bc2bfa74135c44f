package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"newsflash/internal/news"
	"newsflash/internal/server"
)

// TestIdempotentRetryAfterTheItemLeftHistory: a retry with the
// Idempotency-Key of an item that was retracted and then pushed out of the
// stream's history (here MaxEvents 3) must not publish the item again:
// readers and push subscribers would get a retracted item back. It is
// refused with 409 idempotency_item_gone and stores nothing.
func TestIdempotentRetryAfterTheItemLeftHistory(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Stream.MaxEvents = 3 }})
	body := item("Retracted, then forgotten", "en", []string{"europe"}, nil)
	key := map[string]string{"Idempotency-Key": "click-7"}

	status, _, b := in.do("POST", "/api/v1/items", body, key)
	if status != http.StatusCreated {
		t.Fatalf("first post: %d %s", status, b)
	}
	first := decode[news.Item](t, b)
	// A retry while the item is held answers the item it made.
	status, hdr, b := in.do("POST", "/api/v1/items", body, key)
	if status != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "true" || decode[news.Item](t, b).ID != first.ID {
		t.Fatalf("retry while held: %d %v %s", status, hdr, b)
	}
	if status, _, b := in.do("DELETE", "/api/v1/items/"+first.ID, "", nil); status != http.StatusOK {
		t.Fatalf("retract: %d %s", status, b)
	}
	for _, text := range []string{"one", "two", "three"} {
		in.post(item(text, "en", []string{"europe"}, nil))
	}
	if status, _, b := in.do("GET", "/api/v1/items/"+first.ID, "", nil); status != http.StatusNotFound {
		t.Fatalf("the retracted item is still in the stream (%d %s); the test needs it gone", status, b)
	}
	ws, _ := in.dialWS("backfill=0")
	last, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	status, hdr, b = in.do("POST", "/api/v1/items", body, key)
	e := decode[apiError](t, b)
	if status != http.StatusConflict || e.Error.Code != "idempotency_item_gone" || e.Error.Field != "Idempotency-Key" ||
		!strings.Contains(e.Error.Message, first.ID) || hdr.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after the item left history: %d %v %s, want 409 idempotency_item_gone naming %s", status, hdr, b, first.ID)
	}
	if now, err := in.srv.Stream().LastSeq(context.Background()); err != nil || now != last {
		t.Fatalf("the refused retry stored something: stream at %d, was %d (%v)", now, last, err)
	}
	if status, _, b := in.do("GET", "/api/v1/items/"+first.ID, "", nil); status != http.StatusNotFound {
		t.Fatalf("the item is back: %d %s", status, b)
	}
	// Readers got nothing: the next frame they see is the next new item.
	next := in.post(item("after the retry", "en", []string{"europe"}, nil))
	if f := ws.next(); f.Item.ID != next.ID {
		t.Fatalf("a reader got %s %q before the next item, want nothing", f.Type, f.Item.Text)
	}
}
