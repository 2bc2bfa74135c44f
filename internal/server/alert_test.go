package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"newsflash/internal/news"
)

// TestAlertTickerAndPromote: an item posted without alert goes to readers
// and to no push subscription, nor do its corrections and retraction; one
// posted with alert is pushed; a promoted item is pushed once, as kind
// item, and its later changes as update and retract. Frames and answers
// carry alert and alerted_at.
func TestAlertTickerAndPromote(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	sub := in.subscribe(env, `{}`)
	ws, _ := in.dialWS("backfill=0")

	ticker := in.post(item("Ticker line", "en", []string{"mena"}, nil))
	if ticker.Alert || ticker.AlertedAt != nil {
		t.Fatalf("posted without alert: %+v", ticker)
	}
	if f := ws.next(); f.Item.ID != ticker.ID || f.Item.Alert || f.Item.AlertedAt != nil {
		t.Fatalf("reader frame %+v, want the ticker item without alert", f)
	}
	_, _, raw := in.do("GET", "/api/v1/items/"+ticker.ID, "", map[string]string{"Authorization": ""})
	if !strings.Contains(string(raw), `"alert":false`) || !strings.Contains(string(raw), `"alerted_at":null`) {
		t.Errorf("public answer %s, want alert false and alerted_at null", raw)
	}
	flash := in.post(`{"text":"Flash alert","lang":"en","regions":["mena"],"priority":"flash","alert":true}`)
	if !flash.Alert || flash.AlertedAt == nil || !flash.AlertedAt.Equal(flash.PublishedAt) {
		t.Fatalf("posted with alert: %+v", flash)
	}
	if f := ws.next(); f.Item.ID != flash.ID || !f.Item.Alert || f.Item.AlertedAt == nil {
		t.Fatalf("reader frame %+v, want the alert with alert and alerted_at", f)
	}
	// Each push is waited for before the item changes again, so that no
	// job is superseded by a newer version and the order per item is fixed.
	waitPushes(t, env, 1)

	patch := func(id, body string, want int) news.Item {
		t.Helper()
		status, _, b := in.do("PATCH", "/api/v1/items/"+id, body, nil)
		if status != want {
			t.Fatalf("PATCH %s: %d %s, want %d", body, status, b, want)
		}
		return decode[news.Item](t, b)
	}
	patch(ticker.ID, `{"text":"Ticker line, corrected"}`, http.StatusOK)
	promoted := patch(ticker.ID, `{"alert":true}`, http.StatusOK)
	if !promoted.Alert || promoted.AlertedAt == nil || promoted.Version != 3 || promoted.Text != "Ticker line, corrected" {
		t.Fatalf("promoted %+v", promoted)
	}
	waitPushes(t, env, 2)
	if again := patch(ticker.ID, `{"alert":true}`, http.StatusOK); again.Version != 3 || !again.AlertedAt.Equal(*promoted.AlertedAt) {
		t.Fatalf("promoted again %+v, want nothing new", again)
	}
	status, _, b := in.do("PATCH", "/api/v1/items/"+ticker.ID, `{"alert":false}`, nil)
	if e := decode[errBody](t, b).Error; status != http.StatusConflict || e.Code != "alert_already_sent" || e.Field != "alert" {
		t.Fatalf("unsend: %d %s", status, b)
	}
	patch(flash.ID, `{"text":"Flash alert, corrected"}`, http.StatusOK)
	waitPushes(t, env, 3)
	quiet := in.post(item("Another ticker line", "en", []string{"mena"}, nil))
	patch(quiet.ID, `{"priority":"flash"}`, http.StatusOK)
	if status, _, b := in.do("DELETE", "/api/v1/items/"+quiet.ID, "", nil); status != http.StatusOK {
		t.Fatalf("retract: %d %s", status, b)
	}
	if status, _, b := in.do("DELETE", "/api/v1/items/"+ticker.ID, "", nil); status != http.StatusOK {
		t.Fatalf("retract: %d %s", status, b)
	}
	waitPushes(t, env, 4)
	patch(ticker.ID, `{"alert":true}`, http.StatusConflict) // item_retracted
	end := in.post(alertItem("End", "en", []string{"mena"}, nil))
	waitPushes(t, env, 5)

	ps, msgs := messages(t, env, sub)
	var got []string
	for _, p := range ps {
		got = append(got, p.Type+" "+p.Item.ID+" v"+itoa(uint64(p.Item.Version)))
	}
	want := []string{
		"item " + flash.ID + " v1",
		"item " + ticker.ID + " v3", // the promotion: its first notification
		"update " + flash.ID + " v2",
		"retract " + ticker.ID + " v4",
		"item " + end.ID + " v1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pushed %q, want %q (nothing of %s)", got, want, quiet.ID)
	}
	for i, p := range ps {
		want := "normal" // the ticker item and End are breaking, and a retract is never urgent
		if p.Item.ID == flash.ID {
			want = "high"
		}
		if msgs[i].Urgency != want {
			t.Errorf("%s %s: Urgency %q, want %q", p.Type, p.Item.ID, msgs[i].Urgency, want)
		}
	}
	if n := slices.IndexFunc(ps, func(p pushed) bool { return p.Item.ID == quiet.ID }); n >= 0 {
		t.Errorf("the ticker-only item was pushed: %+v", ps[n])
	}
}

type errBody struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}
