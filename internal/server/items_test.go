package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"newsflash/internal/news"
)

func TestRestartKeepsHistoryAndSeq(t *testing.T) {
	dir := t.TempDir()
	first := start(t, options{dir: dir})
	a := first.post(item("before restart 1", "en", []string{"europe"}, nil))
	b := first.post(item("before restart 2", "ar", []string{"mena"}, nil))
	first.stop()

	second := start(t, options{dir: dir})
	status, _, body := second.do("GET", "/api/v1/items", "", nil)
	list := decode[struct{ Items []news.Item }](t, body)
	if status != 200 || len(list.Items) != 2 || list.Items[0].ID != b.ID || list.Items[1].ID != a.ID {
		t.Fatalf("list after restart: %d %s", status, body)
	}
	c := second.post(item("after restart", "en", []string{"europe"}, nil))
	if c.Seq != b.Seq+1 {
		t.Fatalf("seq after restart %d, want %d", c.Seq, b.Seq+1)
	}
	ws, w := second.dialWS("since=0")
	if !w.Recovered {
		t.Fatalf("welcome %+v", w)
	}
	for _, want := range []news.Item{a, b, c} {
		if f := ws.next(); f.Item.ID != want.ID || f.Seq != want.Seq {
			t.Fatalf("replay after restart: %+v, want %s at %d", f, want.ID, want.Seq)
		}
	}
}

func TestIdempotentRetry(t *testing.T) {
	in := start(t, options{})
	ws, _ := in.dialWS("backfill=0")
	body := item("Only once", "en", []string{"asia"}, []string{"economy"})
	key := map[string]string{"Idempotency-Key": "click-42"}

	status, _, b1 := in.do("POST", "/api/v1/items", body, key)
	if status != 201 {
		t.Fatalf("first: %d %s", status, b1)
	}
	first := decode[news.Item](t, b1)
	status, hdr, b2 := in.do("POST", "/api/v1/items", body, key)
	if status != 201 || hdr.Get("Idempotent-Replayed") != "true" || decode[news.Item](t, b2).ID != first.ID {
		t.Fatalf("retry: %d %v %s", status, hdr, b2)
	}
	// Many at once with a fresh key: one item.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, b := in.do("POST", "/api/v1/items", item("Concurrent", "en", []string{"asia"}, nil), map[string]string{"Idempotency-Key": "burst"})
			if status != 201 {
				t.Errorf("concurrent post: %d %s", status, b)
				return
			}
			ids[i] = decode[news.Item](t, b).ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent retries made different items: %v", ids)
		}
	}
	// The same key for something else is refused, and stores nothing.
	status, _, b3 := in.do("POST", "/api/v1/items", item("Something else", "en", []string{"asia"}, nil), key)
	if e := decode[apiError](t, b3); status != 422 || e.Error.Code != "idempotency_key_reused" || e.Error.Field != "Idempotency-Key" {
		t.Fatalf("reuse: %d %s", status, b3)
	}
	// Keys are per editor and other keys make new items.
	end := in.post(item("end", "en", []string{"asia"}, nil))

	var got []string
	for {
		f := ws.next()
		got = append(got, f.Item.Text)
		if f.Item.ID == end.ID {
			break
		}
	}
	if strings.Join(got, "|") != "Only once|Concurrent|end" {
		t.Fatalf("readers got %q, want each item once", got)
	}
	last, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil || last != 3 {
		t.Fatalf("stream holds %d events (%v), want 3", last, err)
	}
}

func TestCorrectionsAndRetractions(t *testing.T) {
	in := start(t, options{})
	mena, _ := in.dialWS("regions=mena&backfill=0")
	europe, _ := in.dialWS("regions=europe&backfill=0")
	sseEurope := in.dialSSE("regions=europe&backfill=0", nil)
	sseEurope.mustNext()

	it := in.post(item("Strike reported in Gaza", "en", []string{"mena"}, []string{"politics"}))
	if f := mena.next(); f.Type != "item" || f.Item.ID != it.ID {
		t.Fatalf("mena got %+v", f)
	}

	// Move the item from MENA to Europe: MENA readers get a retract, Europe
	// readers an update.
	status, _, b := in.do("PATCH", "/api/v1/items/"+it.ID, `{"regions":["europe"],"text":"Strike reported near Brussels"}`, nil)
	moved := decode[news.Item](t, b)
	if status != 200 || moved.Version != 2 || moved.Text != "Strike reported near Brussels" || moved.UpdatedBy != editorName || moved.Seq != it.Seq+1 || moved.PublishedSeq != it.Seq {
		t.Fatalf("patch: %d %s", status, b)
	}
	if f := mena.next(); f.Type != "retract" || f.Item.ID != it.ID || f.Seq != moved.Seq {
		t.Fatalf("mena after the move: %+v", f)
	}
	if f := europe.next(); f.Type != "update" || f.Item.Version != 2 || f.Item.Text != moved.Text {
		t.Fatalf("europe after the move: %+v", f)
	}
	if ev := sseEurope.mustNext(); ev.Event != "update" || ev.item(t).Version != 2 {
		t.Fatalf("sse europe after the move: %+v", ev)
	}

	// A correction that changes nothing publishes nothing.
	status, _, b = in.do("PATCH", "/api/v1/items/"+it.ID, `{"text":"Strike reported near Brussels"}`, nil)
	if status != 200 || decode[news.Item](t, b).Version != 2 {
		t.Fatalf("no-op patch: %d %s", status, b)
	}

	status, _, b = in.do("DELETE", "/api/v1/items/"+it.ID, "", nil)
	gone := decode[news.Item](t, b)
	if status != 200 || gone.Status != "retracted" || gone.Version != 3 {
		t.Fatalf("retract: %d %s", status, b)
	}
	if f := europe.next(); f.Type != "retract" || f.Item.ID != it.ID || f.Item.Status != "retracted" {
		t.Fatalf("europe after retract: %+v", f)
	}
	// Retracting again changes nothing; correcting is refused.
	if status, _, b = in.do("DELETE", "/api/v1/items/"+it.ID, "", nil); status != 200 || decode[news.Item](t, b).Version != 3 {
		t.Fatalf("second retract: %d %s", status, b)
	}
	status, _, b = in.do("PATCH", "/api/v1/items/"+it.ID, `{"text":"new"}`, nil)
	if e := decode[apiError](t, b); status != 409 || e.Error.Code != "item_retracted" {
		t.Fatalf("patch retracted: %d %s", status, b)
	}
	// Reads: the item is still there by id, but no longer listed.
	status, _, b = in.do("GET", "/api/v1/items/"+it.ID, "", nil)
	if got := decode[news.Item](t, b); status != 200 || got.Status != "retracted" || got.Version != 3 {
		t.Fatalf("get retracted: %d %s", status, b)
	}
	_, _, b = in.do("GET", "/api/v1/items", "", nil)
	if list := decode[struct{ Items []news.Item }](t, b); len(list.Items) != 0 {
		t.Fatalf("retracted item listed: %s", b)
	}
	// A reader resuming from before the item gets its whole life, in order,
	// without what the item said: it is retracted now
	// (TestRetractedItemResume).
	ws, _ := in.dialWS(fmt.Sprintf("since=%d", it.Seq-1))
	var types []string
	for i := 0; i < 3; i++ {
		f := ws.next()
		if f.Item.ID != it.ID || f.Item.Text != "" || f.Item.Status != "retracted" {
			t.Fatalf("history of the item: %+v", f)
		}
		types = append(types, f.Type)
	}
	if strings.Join(types, ",") != "item,update,retract" {
		t.Fatalf("history of the item: %v", types)
	}
}

func TestConcurrentCorrectionsAllLand(t *testing.T) {
	in := start(t, options{})
	it := in.post(item("v1", "en", []string{"europe"}, nil))
	const n = 6
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, b := in.do("PATCH", "/api/v1/items/"+it.ID, fmt.Sprintf(`{"source":"desk %d"}`, i), nil)
			if status != 200 && status != 409 {
				t.Errorf("patch %d: %d %s", i, status, b)
			}
		}()
	}
	wg.Wait()
	_, _, b := in.do("GET", "/api/v1/items/"+it.ID, "", nil)
	got := decode[news.Item](t, b)
	last, _ := in.srv.Stream().LastSeq(context.Background())
	// Every landed correction is one version: no two made the same one.
	if uint64(got.Version) != last || got.Seq != last {
		t.Fatalf("version %d, seq %d, stream has %d events", got.Version, got.Seq, last)
	}
	if got.Version < 2 {
		t.Fatalf("no correction landed: %+v", got)
	}
}

func TestHealthAndReady(t *testing.T) {
	in := start(t, options{})
	if status, _, b := in.do("GET", "/healthz", "", nil); status != 200 {
		t.Fatalf("healthz %d %s", status, b)
	}
	status, _, b := in.do("GET", "/readyz", "", nil)
	if status != 200 || !strings.Contains(string(b), `"ready"`) {
		t.Fatalf("readyz %d %s", status, b)
	}
	status, _, b = in.do("GET", "/api/v1/taxonomy", "", nil)
	tax := decode[news.Taxonomy](t, b)
	if status != 200 || len(tax.Regions) != 8 || tax.Languages[1].Slug != "ar" || tax.Languages[1].Dir != "rtl" {
		t.Fatalf("taxonomy %d %s", status, b)
	}
}
