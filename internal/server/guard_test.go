package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/server"
)

// testClock is a clock the test moves by hand, shared by instances.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// guardError is the flood guard's 409 body.
type guardError struct {
	Error struct {
		Code         string `json:"code"`
		Field        string `json:"field"`
		RetryAfter   int64  `json:"retry_after"`
		PreviousItem string `json:"previous_item"`
	} `json:"error"`
}

// waitListed waits until in's history lists the item: the other instance
// has followed the stream up to it.
func waitListed(t *testing.T, in *instance, id string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		_, _, b := in.do("GET", "/api/v1/items?limit=100", "", nil)
		if strings.Contains(string(b), `"`+id+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("item %s not listed on the other instance after %s", id, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func withConfirm(body string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	m["confirm"] = true
	b, _ := json.Marshal(m)
	return string(b)
}

// TestAlertGuardAcrossInstances: an alert sent on A holds back alerts on B
// (too soon, or the same text within the window) unless confirmed; the
// override is in the audit trail; an instance with the guard off lets
// alerts through; a promotion is guarded like a post.
func TestAlertGuardAcrossInstances(t *testing.T) {
	url := runNATS(t)
	// The clock starts now: the history drops events older than its
	// retention by the real clock.
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	guarded := options{natsURL: url, deps: func(d *server.Deps) { d.Now = clock.Now }, mutate: func(o *server.Options) {
		o.Editor.AlertMinInterval, o.Editor.AlertDuplicateWindow = 0, 0 // the defaults: 2m and 1h
	}}
	a, b := start(t, guarded), start(t, guarded)
	off := start(t, options{natsURL: url, deps: func(d *server.Deps) { d.Now = clock.Now }}) // harness: guard off

	tests := []struct {
		name      string
		first     string        // alert posted on A
		after     time.Duration // then the clock moves this far
		on        *instance     // where the second request goes
		second    string        // alert posted there
		promote   bool          // second is posted ticker-only, then promoted by PATCH
		confirm   bool
		wantCode  string // "" : accepted
		wantRetry int64
	}{
		{name: "too soon", first: "Quake in Town", after: 30 * time.Second, on: b, second: "Flood in City", wantCode: "alert_too_soon", wantRetry: 90},
		{name: "too soon, last second", first: "Quake in Town", after: 2*time.Minute - time.Millisecond, on: b, second: "Flood in City", wantCode: "alert_too_soon", wantRetry: 1},
		{name: "too soon with confirm", first: "Quake in Town", after: 30 * time.Second, on: b, second: "Flood in City", confirm: true},
		{name: "after the interval", first: "Quake in Town", after: 2 * time.Minute, on: b, second: "Flood in City"},
		{name: "duplicate text, other case and space", first: "Quake  in Town", after: 10 * time.Minute, on: b, second: " quake IN\ttown ", wantCode: "duplicate_alert"},
		{name: "duplicate with confirm", first: "Quake in Town", after: 10 * time.Minute, on: b, second: "quake in town", confirm: true},
		{name: "duplicate after the window", first: "Quake in Town", after: time.Hour, on: b, second: "Quake in Town"},
		{name: "guard off", first: "Quake in Town", after: time.Second, on: off, second: "Quake in Town"},
		{name: "promote too soon", first: "Quake in Town", after: 10 * time.Second, on: b, second: "Flood in City", promote: true, wantCode: "alert_too_soon", wantRetry: 110},
		{name: "promote too soon with confirm", first: "Quake in Town", after: 10 * time.Second, on: b, second: "Flood in City", promote: true, confirm: true},
		{name: "promote duplicate", first: "Quake in Town", after: 5 * time.Minute, on: b, second: "QUAKE in town", promote: true, wantCode: "duplicate_alert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.add(2 * time.Hour) // past every earlier alert
			first := a.post(alertItem(tt.first, "en", []string{"mena"}, nil))
			clock.add(tt.after)
			waitListed(t, tt.on, first.ID)

			var status int
			var body []byte
			var id string
			if tt.promote {
				ticker := tt.on.post(item(tt.second, "en", []string{"mena"}, nil))
				id = ticker.ID
				patch := `{"alert":true}`
				if tt.confirm {
					patch = `{"alert":true,"confirm":true}`
				}
				status, _, body = tt.on.do("PATCH", "/api/v1/items/"+id, patch, nil)
			} else {
				draft := alertItem(tt.second, "en", []string{"mena"}, nil)
				if tt.confirm {
					draft = withConfirm(draft)
				}
				status, _, body = tt.on.do("POST", "/api/v1/items", draft, nil)
			}
			if tt.wantCode != "" {
				if status != http.StatusConflict {
					t.Fatalf("got %d %s, want 409 %s", status, body, tt.wantCode)
				}
				e := decode[guardError](t, body)
				if e.Error.Code != tt.wantCode || e.Error.PreviousItem != first.ID || e.Error.RetryAfter != tt.wantRetry {
					t.Fatalf("got %s, want %s with previous_item %s and retry_after %d", body, tt.wantCode, first.ID, tt.wantRetry)
				}
				// Nothing sent: no alerted item, nor an alert on the ticker item.
				_, _, list := tt.on.do("GET", "/api/v1/items?limit=100", "", nil)
				for _, it := range decode[struct{ Items []news.Item }](t, list).Items {
					if it.ID != first.ID && it.Alert && it.PublishedAt.After(first.PublishedAt) {
						t.Fatalf("a refused alert was stored: %+v", it)
					}
				}
				return
			}
			if status != http.StatusCreated && status != http.StatusOK {
				t.Fatalf("got %d %s, want it accepted", status, body)
			}
			got := decode[news.Item](t, body)
			if !got.Alert || got.AlertedAt == nil {
				t.Fatalf("accepted but not alerted: %s", body)
			}
			recs := tt.on.auditWait("item="+got.ID, map[bool]int{false: 1, true: 2}[tt.promote]).Records
			if confirmed := recs[len(recs)-1].Confirmed; confirmed != tt.confirm { // oldest first
				t.Fatalf("audit record confirmed=%v, want %v: %+v", confirmed, tt.confirm, recs[len(recs)-1])
			}
		})
	}
}

// TestAlertGuardConfirmType: a confirm that is not a boolean is refused.
func TestAlertGuardConfirmType(t *testing.T) {
	in := start(t, options{})
	it := in.post(item("ticker", "en", []string{"mena"}, nil))
	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/api/v1/items", `{"text":"x","lang":"en","regions":["mena"],"alert":true,"confirm":"yes"}`},
		{"PATCH", "/api/v1/items/" + it.ID, `{"alert":true,"confirm":1}`},
	} {
		status, _, b := in.do(tt.method, tt.path, tt.body, nil)
		e := decode[apiError](t, b)
		if status != http.StatusBadRequest || e.Error.Code != "invalid_type" || e.Error.Field != "confirm" {
			t.Errorf("%s %s: %d %s, want 400 invalid_type confirm", tt.method, tt.body, status, b)
		}
	}
}
