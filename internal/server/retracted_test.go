package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"newsflash/internal/news"
)

// Words only the retracted item's texts and url hold: no public answer or
// reader frame may carry them once it is retracted.
const (
	retractedText      = "Minister resigns zq7vorpal"
	retractedCorrected = "Minister resigns, aides say zq7jabber"
	retractedURL       = "https://news.example/zq7tumtum"
)

func holdsRetracted(b []byte) bool {
	s := string(b)
	return strings.Contains(s, "zq7vorpal") || strings.Contains(s, "zq7jabber") || strings.Contains(s, "zq7tumtum")
}

// retractedItem posts an item in MENA with a url, moves it to Europe with a
// new text, and retracts it. It returns the first version and the retracted one.
func retractedItem(t *testing.T, in *instance) (first, gone news.Item) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"text": retractedText, "lang": "en", "regions": []string{"mena"}, "url": retractedURL})
	first = in.post(string(b))
	if status, _, b := in.do("PATCH", "/api/v1/items/"+first.ID, `{"regions":["europe"],"text":"`+retractedCorrected+`"}`, nil); status != http.StatusOK {
		t.Fatalf("patch: %d %s", status, b)
	}
	status, _, b := in.do("DELETE", "/api/v1/items/"+first.ID, "", nil)
	if status != http.StatusOK {
		t.Fatalf("retract: %d %s", status, b)
	}
	gone = decode[news.Item](t, b)
	// The editor who retracted it still sees what it said.
	if gone.Text != retractedCorrected || gone.URL != retractedURL || gone.Status != news.StatusRetracted {
		t.Fatalf("retract answer to the editor: %s", b)
	}
	return first, gone
}

// readRaw reads one WebSocket message as it came.
func (r *wsReader) readRaw() []byte {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := r.conn.Read(ctx)
	if err != nil {
		r.t.Fatalf("ws read: %v", err)
	}
	return b
}

// TestRetractedItemReads: GET /api/v1/items/{id} answers the public a
// retracted item without its text and url; an editor's token still shows
// them; an invalid token is refused, not taken for the public.
func TestRetractedItemReads(t *testing.T) {
	in := start(t, options{})
	first, gone := retractedItem(t, in)
	anon := map[string]string{"Authorization": ""}

	status, _, b := in.do("GET", "/api/v1/items/"+first.ID, "", anon)
	got := decode[news.Item](t, b)
	if status != http.StatusOK || got.Status != news.StatusRetracted || got.Text != "" || got.URL != "" || holdsRetracted(b) {
		t.Fatalf("public GET of a retracted item: %d %s", status, b)
	}
	if got.ID != first.ID || got.Version != gone.Version || got.Seq != gone.Seq || got.Editor != "" || got.UpdatedBy != "" {
		t.Fatalf("public GET lost the item's identity or showed staff: %s", b)
	}

	status, _, b = in.do("GET", "/api/v1/items/"+first.ID, "", nil)
	if got := decode[news.Item](t, b); status != http.StatusOK || got.Text != retractedCorrected || got.URL != retractedURL || got.UpdatedBy != editorName {
		t.Fatalf("editor GET of a retracted item: %d %s", status, b)
	}
	status, _, b = in.do("GET", "/api/v1/items/"+first.ID, "", map[string]string{"Authorization": "Bearer nf_not-a-token"})
	if e := decode[apiError](t, b); status != http.StatusUnauthorized || e.Error.Code != "invalid_token" || holdsRetracted(b) {
		t.Fatalf("GET with an invalid token: %d %s", status, b)
	}

	// Lists never hold a retracted item, for the public or for editors.
	for _, hdr := range []map[string]string{anon, nil} {
		status, _, b = in.do("GET", "/api/v1/items", "", hdr)
		if status != http.StatusOK || holdsRetracted(b) || strings.Contains(string(b), first.ID) {
			t.Fatalf("list: %d %s", status, b)
		}
	}
	// A live item reads the same as before for the public: text, url, no staff.
	live := in.post(`{"text":"Still live","lang":"en","regions":["europe"],"url":"https://news.example/live"}`)
	status, _, b = in.do("GET", "/api/v1/items/"+live.ID, "", anon)
	if got := decode[news.Item](t, b); status != http.StatusOK || got.Text != "Still live" || got.URL != "https://news.example/live" || got.Editor != "" {
		t.Fatalf("public GET of a live item: %d %s", status, b)
	}
	status, _, b = in.do("GET", "/api/v1/items", "", anon)
	if list := decode[struct{ Items []news.Item }](t, b); status != http.StatusOK || len(list.Items) != 1 || list.Items[0].Editor != "" {
		t.Fatalf("public list: %d %s", status, b)
	}
}

// TestRetractedItemFrames: readers connected while an item is retracted get
// a retract frame without its text and url, on WebSocket and SSE alike.
func TestRetractedItemFrames(t *testing.T) {
	in := start(t, options{})
	ws, _ := in.dialWS("regions=europe&backfill=0")
	sse := in.dialSSE("regions=europe&backfill=0", nil)
	sse.mustNext() // welcome
	first, gone := retractedItem(t, in)

	// Europe readers get the move as an update (it was public then), then
	// the retraction.
	if f := ws.next(); f.Type != "update" || f.Item.ID != first.ID || f.Item.Text != retractedCorrected {
		t.Fatalf("ws after the move: %+v", f)
	}
	raw := ws.readRaw()
	var f frame
	decodeInto(t, raw, &f)
	if f.Type != "retract" || f.Item.ID != first.ID || f.Item.Status != news.StatusRetracted || f.Item.Version != gone.Version || holdsRetracted(raw) {
		t.Fatalf("ws retract frame: %s", raw)
	}
	if ev := sse.mustNext(); ev.Event != "update" {
		t.Fatalf("sse after the move: %+v", ev)
	}
	ev := sse.mustNext()
	if it := ev.item(t); ev.Event != "retract" || it.ID != first.ID || it.Status != news.StatusRetracted || holdsRetracted([]byte(ev.Data)) {
		t.Fatalf("sse retract frame: %+v", ev)
	}
}

// TestRetractedItemResume: a reader resuming from history from before an
// item that was retracted since gets every event it missed, once, but no
// frame with what the item said: not the first version, not the correction,
// not the retraction; each says the item is retracted.
func TestRetractedItemResume(t *testing.T) {
	in := start(t, options{})
	first, _ := retractedItem(t, in)
	since := first.Seq - 1
	end := in.post(item("after the retraction", "en", []string{"europe", "mena"}, nil))

	for _, tt := range []struct {
		query string
		want  string // frame types, up to the item after
	}{
		{"", "item,update,retract,item"},
		{"regions=europe", "update,retract,item"}, // the move into Europe: an update
		{"regions=mena", "item,retract,item"},     // the move out of MENA: a retract
	} {
		t.Run("ws "+tt.query, func(t *testing.T) {
			ws, w := in.dialWS(fmt.Sprintf("since=%d&%s", since, tt.query))
			if !w.Recovered {
				t.Fatalf("welcome %+v", w)
			}
			var types []string
			for {
				raw := ws.readRaw()
				var f frame
				decodeInto(t, raw, &f)
				if holdsRetracted(raw) {
					t.Fatalf("resumed frame holds the retracted item's words: %s", raw)
				}
				types = append(types, f.Type)
				if f.Item.ID == end.ID {
					break
				}
				if f.Item.ID != first.ID || f.Item.Status != news.StatusRetracted || f.Item.Text != "" || f.Item.URL != "" {
					t.Fatalf("resumed frame %s", raw)
				}
			}
			if got := strings.Join(types, ","); got != tt.want {
				t.Fatalf("frames %s, want %s", got, tt.want)
			}
		})
		t.Run("sse "+tt.query, func(t *testing.T) {
			sse := in.dialSSE(tt.query, map[string]string{"Last-Event-ID": fmt.Sprint(since)})
			sse.mustNext() // welcome
			var types []string
			for {
				ev := sse.mustNext()
				if holdsRetracted([]byte(ev.Data)) {
					t.Fatalf("resumed event holds the retracted item's words: %+v", ev)
				}
				types = append(types, ev.Event)
				it := ev.item(t)
				if it.ID == end.ID {
					break
				}
				if it.ID != first.ID || it.Status != news.StatusRetracted || it.Text != "" {
					t.Fatalf("resumed event %+v", ev)
				}
			}
			if got := strings.Join(types, ","); got != tt.want {
				t.Fatalf("events %s, want %s", got, tt.want)
			}
		})
	}
	// A snapshot (no since) never holds a retracted item.
	ws, w := in.dialWS("backfill=10")
	if w.Backfill != 1 {
		t.Fatalf("welcome %+v, want a backfill of the one live item", w)
	}
	if raw := ws.readRaw(); holdsRetracted(raw) || !strings.Contains(string(raw), end.ID) {
		t.Fatalf("snapshot frame %s", raw)
	}
}
