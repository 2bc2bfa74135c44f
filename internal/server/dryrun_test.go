package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/push"
	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// dryAnswer is the answer of a dry run.
type dryAnswer struct {
	DryRun   bool           `json:"dry_run"`
	Item     news.Item      `json:"item"`
	Audience map[string]int `json:"audience"`
	Guard    struct {
		OK           bool   `json:"ok"`
		Code         string `json:"code"`
		Overridden   string `json:"overridden"`
		Message      string `json:"message"`
		RetryAfter   int64  `json:"retry_after"`
		PreviousItem string `json:"previous_item"`
	} `json:"guard"`
	Test *struct {
		To   string `json:"to"`
		Sent bool   `json:"sent"`
	} `json:"test"`
}

// subID is the id the server gives a sink subscription (the one POST
// /api/v1/push/subscriptions answers).
func subID(s pushsink.Subscription) string { return push.IDFor(s.Endpoint) }

func (in *instance) lastSeq() uint64 {
	in.t.Helper()
	seq, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil {
		in.t.Fatal(err)
	}
	return seq
}

// dryRun sends a dry run and fails the test unless it answers 200.
func (in *instance) dryRun(method, path, body string) dryAnswer {
	in.t.Helper()
	status, _, b := in.do(method, path, body, nil)
	if status != http.StatusOK {
		in.t.Fatalf("%s %s %s: %d %s, want 200", method, path, body, status, b)
	}
	ans := decode[dryAnswer](in.t, b)
	if !ans.DryRun {
		in.t.Fatalf("answer without dry_run: %s", b)
	}
	return ans
}

// TestDryRunBadInput: each bad dry run gets its error, the same as the real
// request where the real request has one, and nothing is stored or sent.
func TestDryRunBadInput(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env), deps: withRoles})
	sub := in.subscribe(env, `{}`)
	gone := in.subscribe(env, `{}`)
	ticker := in.post(item("a ticker line", "en", []string{"mena"}, nil))
	alerted := in.post(alertItem("an alert", "en", []string{"mena"}, nil))
	waitPushes(t, env, 2)    // the alert to both subscriptions
	env.sink.Gone(gone.ID()) // from now on its push service answers 410

	okDraft := alertItem("Quake in Town", "en", []string{"mena"}, nil)
	tests := []struct {
		name          string
		token         string // default: the admin's
		method, path  string
		body          string
		hdr           map[string]string
		status        int
		code, field   string
		sameAsReal    bool // the request without dry_run answers the same
		pushesAllowed bool // the push service is asked (and refuses)
	}{
		{name: "dry_run not a boolean", method: "POST", path: "/api/v1/items?dry_run=yes", body: okDraft, status: 400, code: "invalid_dry_run", field: "dry_run"},
		{name: "dry_run 1", method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=1", body: `{"alert":true}`, status: 400, code: "invalid_dry_run", field: "dry_run"},
		{name: "dry_run empty", method: "POST", path: "/api/v1/items?dry_run=", body: okDraft, status: 400, code: "invalid_dry_run", field: "dry_run"},
		{name: "test_to without dry_run", method: "POST", path: "/api/v1/items?test_to=" + subID(sub), body: okDraft, status: 400, code: "test_needs_dry_run", field: "test_to"},
		{name: "test_to with dry_run=false", method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=false&test_to=" + subID(sub), body: `{"alert":true}`, status: 400, code: "test_needs_dry_run", field: "test_to"},
		{name: "unknown test_to", method: "POST", path: "/api/v1/items?dry_run=true&test_to=0123456789abcdef0123456789abcdef", body: okDraft, status: 404, code: "unknown_subscription", field: "test_to"},
		{name: "empty test_to", method: "POST", path: "/api/v1/items?dry_run=true&test_to=", body: okDraft, status: 404, code: "unknown_subscription", field: "test_to"},
		{name: "reporter test_to", token: reporterToken, method: "POST", path: "/api/v1/items?dry_run=true&test_to=" + subID(sub), body: item("ticker", "en", []string{"mena"}, nil), status: 403, code: "forbidden", field: "test_to"},
		{name: "reporter dry run with alert", token: reporterToken, method: "POST", path: "/api/v1/items?dry_run=true", body: okDraft, status: 403, code: "forbidden", field: "alert", sameAsReal: true},
		{name: "reporter dry run promote", token: reporterToken, method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=true", body: `{"alert":true}`, status: 403, code: "forbidden", field: "alert", sameAsReal: true},
		{name: "no token", token: "-", method: "POST", path: "/api/v1/items?dry_run=true", body: okDraft, status: 401, code: "missing_token", sameAsReal: true},
		{name: "missing text", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"lang":"en","regions":["mena"],"alert":true}`, status: 400, code: "empty_text", field: "text", sameAsReal: true},
		{name: "alert not a boolean", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"text":"x","lang":"en","regions":["mena"],"alert":"yes"}`, status: 400, code: "invalid_type", field: "alert", sameAsReal: true},
		{name: "unknown region", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"text":"x","lang":"en","regions":["atlantis"],"alert":true}`, status: 400, code: "unknown_region", field: "regions", sameAsReal: true},
		{name: "not JSON", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"text":`, status: 400, code: "malformed_json", sameAsReal: true},
		{name: "bad Idempotency-Key", method: "POST", path: "/api/v1/items?dry_run=true", body: okDraft, hdr: map[string]string{"Idempotency-Key": "é"}, status: 400, code: "invalid_idempotency_key", field: "Idempotency-Key", sameAsReal: true},
		{name: "patch unknown item", method: "PATCH", path: "/api/v1/items/aaaaaaaaaaaaaaaaaaaa?dry_run=true", body: `{"alert":true}`, status: 404, code: "not_found", sameAsReal: true},
		{name: "empty patch", method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=true", body: `{}`, status: 400, code: "empty_patch", sameAsReal: true},
		{name: "unsend an alert", method: "PATCH", path: "/api/v1/items/" + alerted.ID + "?dry_run=true", body: `{"alert":false}`, status: 409, code: "alert_already_sent", field: "alert", sameAsReal: true},
		{name: "push service refuses the test", method: "POST", path: "/api/v1/items?dry_run=true&test_to=" + subID(gone), body: okDraft, status: 502, code: "test_not_delivered", field: "test_to", pushesAllowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := in.lastSeq()
			acc, ref := env.sink.Count()
			send := func(path string) (int, []byte) {
				hdr := map[string]string{}
				for k, v := range tt.hdr {
					hdr[k] = v
				}
				switch tt.token {
				case "":
				case "-":
					hdr["Authorization"] = ""
				default:
					hdr["Authorization"] = "Bearer " + tt.token
				}
				status, _, b := in.do(tt.method, path, tt.body, hdr)
				return status, b
			}
			status, b := send(tt.path)
			e := decode[apiError](t, b)
			if status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field || e.Error.Message == "" {
				t.Fatalf("%d %s, want %d %s field %q", status, b, tt.status, tt.code, tt.field)
			}
			if tt.sameAsReal {
				u, _ := url.Parse(tt.path)
				q := u.Query()
				q.Del("dry_run")
				u.RawQuery = q.Encode()
				rs, rb := send(u.String())
				if re := decode[apiError](t, rb); rs != status || re.Error != e.Error {
					t.Fatalf("the real request answers %d %s, the dry run %d %s", rs, rb, status, b)
				}
			}
			if now := in.lastSeq(); now != seq {
				t.Fatalf("the stream moved from %d to %d", seq, now)
			}
			if a, r := env.sink.Count(); a != acc || (r != ref && !tt.pushesAllowed) {
				t.Fatalf("the push service got %d accepted and %d refused requests", a-acc, r-ref)
			}
			if tt.pushesAllowed {
				if msgs := env.sink.Messages(gone.ID()); len(msgs) != 2 || msgs[1].Status != http.StatusGone {
					t.Fatalf("the refused test: %+v", msgs)
				}
			}
		})
	}
	if got := env.sink.Messages(sub.ID()); len(got) != 1 {
		t.Errorf("the subscription got %d messages, want only the real alert", len(got))
	}
}

// TestDryRunAudienceAndGuard: a dry run answers the item as it would be,
// how many subscriptions its alert would reach and what the flood guard
// would say, for POST and for a PATCH that promotes; nothing is stored,
// published or sent.
func TestDryRunAudienceAndGuard(t *testing.T) {
	env := newPushEnv(t)
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	push := withPush(env)
	in := start(t, options{deps: func(d *server.Deps) { d.Now = clock.Now }, mutate: func(o *server.Options) {
		push(o)
		o.Editor.AlertMinInterval, o.Editor.AlertDuplicateWindow = 0, 0 // the defaults: 2m and 1h
	}})
	in.subscribe(env, `{"regions":["mena"]}`)
	in.subscribe(env, `{"regions":["mena"],"langs":["ar"]}`)
	in.subscribe(env, `{"langs":["ar"]}`)
	in.subscribe(env, `{"topics":["sports"]}`)
	in.subscribe(env, `{"regions":["europe","africa"],"topics":["sports","politics"]}`)
	in.subscribe(env, `{}`)
	ticker := in.post(item("Talks resume in Geneva", "en", []string{"europe"}, []string{"politics"}))

	audience := []struct {
		draft string
		want  int
	}{
		{alertItem("Strike in the south", "en", []string{"mena"}, nil), 2},                  // mena, everything
		{alertItem("عاجل", "ar", []string{"mena"}, nil), 4},                                 // mena, mena+ar, ar, everything
		{alertItem("Final score", "es", []string{"latin-america"}, []string{"sports"}), 2},  // sports, everything
		{alertItem("Summit", "en", []string{"africa"}, []string{"politics", "economy"}), 2}, // europe/africa, everything
		{item("Strike in the south", "en", []string{"mena"}, nil), 0},                       // ticker only
	}
	for _, tc := range audience {
		ans := in.dryRun("POST", "/api/v1/items?dry_run=true", tc.draft)
		it := ans.Item
		var d news.Draft
		_ = json.Unmarshal([]byte(tc.draft), &d)
		if ans.Audience["web"] != tc.want || len(ans.Audience) != 1 {
			t.Errorf("%s: audience %v, want web %d", tc.draft, ans.Audience, tc.want)
		}
		if !ans.Guard.OK || ans.Guard.Code != "" || ans.Test != nil {
			t.Errorf("%s: guard %+v test %v", tc.draft, ans.Guard, ans.Test)
		}
		if !news.ValidID(it.ID) || it.Seq != 0 || it.Version != 1 || it.Status != news.StatusLive || it.Text != d.Text ||
			it.Editor != editorName || !it.PublishedAt.Equal(clock.Now()) || it.Alert != d.Alert || (it.AlertedAt != nil) != d.Alert {
			t.Errorf("%s: item %+v", tc.draft, it)
		}
	}

	// The guard, after a real alert 30 s ago.
	first := in.post(alertItem("Quake in Town", "en", []string{"mena"}, nil))
	waitPushes(t, env, 2)
	seq := in.lastSeq()
	acc, ref := env.sink.Count()
	clock.add(30 * time.Second)
	guard := []struct {
		name               string
		method, path, body string
		code, overridden   string
		retry              int64
		audience           int
		version            int
		alerted            bool
	}{
		{name: "too soon", method: "POST", body: alertItem("Flood in City", "en", []string{"mena"}, nil), code: "alert_too_soon", retry: 90, audience: 2, version: 1, alerted: true},
		{name: "duplicate", method: "POST", body: alertItem("QUAKE in  town", "en", []string{"mena"}, nil), code: "duplicate_alert", audience: 2, version: 1, alerted: true},
		{name: "too soon, confirmed", method: "POST", body: withConfirm(alertItem("Flood in City", "en", []string{"mena"}, nil)), overridden: "alert_too_soon", retry: 90, audience: 2, version: 1, alerted: true},
		{name: "duplicate, confirmed", method: "POST", body: withConfirm(alertItem("Quake in Town", "en", []string{"mena"}, nil)), overridden: "duplicate_alert", audience: 2, version: 1, alerted: true},
		{name: "ticker item is not guarded", method: "POST", body: item("Quake in Town", "en", []string{"mena"}, nil), version: 1},
		{name: "promote too soon", method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=true", body: `{"alert":true}`, code: "alert_too_soon", retry: 90, audience: 2, version: 2, alerted: true},
		{name: "promote confirmed", method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=true", body: `{"alert":true,"confirm":true}`, overridden: "alert_too_soon", retry: 90, audience: 2, version: 2, alerted: true},
		{name: "correction of a ticker item", method: "PATCH", path: "/api/v1/items/" + ticker.ID + "?dry_run=true", body: `{"text":"Talks resume"}`, version: 2},
		{name: "correction of the alert", method: "PATCH", path: "/api/v1/items/" + first.ID + "?dry_run=true", body: `{"text":"Quake in Town, 5.1"}`, version: 2, alerted: true},
		{name: "promote the alerted item again", method: "PATCH", path: "/api/v1/items/" + first.ID + "?dry_run=true", body: `{"alert":true}`, version: 1, alerted: true},
	}
	for _, tc := range guard {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/api/v1/items?dry_run=true"
			}
			ans := in.dryRun(tc.method, path, tc.body)
			g := ans.Guard
			wantOK := tc.code == ""
			if g.OK != wantOK || g.Code != tc.code || g.Overridden != tc.overridden || g.RetryAfter != tc.retry {
				t.Errorf("guard %+v, want ok %v code %q overridden %q retry_after %d", g, wantOK, tc.code, tc.overridden, tc.retry)
			}
			if tripped := tc.code != "" || tc.overridden != ""; tripped != (g.PreviousItem == first.ID && g.Message != "") || !tripped && g.PreviousItem != "" {
				t.Errorf("guard %+v, previous item %s", g, first.ID)
			}
			if ans.Audience["web"] != tc.audience {
				t.Errorf("audience %v, want %d", ans.Audience, tc.audience)
			}
			if it := ans.Item; it.Version != tc.version || it.Alert != tc.alerted || (it.AlertedAt != nil) != tc.alerted {
				t.Errorf("item %+v", it)
			}
		})
	}

	// Nothing stored, published or sent by any dry run.
	if now := in.lastSeq(); now != seq {
		t.Errorf("the stream moved from %d to %d", seq, now)
	}
	if a, r := env.sink.Count(); a != acc || r != ref {
		t.Errorf("the push service got %d more requests", a-acc+r-ref)
	}
	_, _, b := in.do("GET", "/api/v1/items?limit=100", "", nil)
	items := decode[struct{ Items []news.Item }](t, b).Items
	if len(items) != 2 {
		t.Fatalf("items after the dry runs: %+v", items)
	}
	for _, it := range items {
		if it.Version != 1 || (it.ID == ticker.ID && (it.Alert || it.Text != ticker.Text)) {
			t.Errorf("changed by a dry run: %+v", it)
		}
	}
}

// TestDryRunTestTo: test_to sends the would-be notification, marked test,
// to that one subscription now; no other subscription gets anything and
// nothing is published, for POST and PATCH dry runs.
func TestDryRunTestTo(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	mine := in.subscribe(env, `{"regions":["asia"]}`) // the editor's browser; it need not match
	other := in.subscribe(env, `{}`)
	ticker := in.post(item("Ticker line", "en", []string{"mena"}, nil))
	seq := in.lastSeq()

	ans := in.dryRun("POST", "/api/v1/items?dry_run=true&test_to="+subID(mine), `{"text":"Strike reported","lang":"en","regions":["mena"],"priority":"flash","alert":true}`)
	if ans.Test == nil || ans.Test.To != subID(mine) || !ans.Test.Sent || ans.Audience["web"] != 1 {
		t.Fatalf("answer %+v", ans)
	}
	ans2 := in.dryRun("PATCH", "/api/v1/items/"+ticker.ID+"?dry_run=true&test_to="+subID(mine), `{"alert":true}`)
	if ans2.Test == nil || !ans2.Test.Sent || ans2.Item.ID != ticker.ID || !ans2.Item.Alert {
		t.Fatalf("patch answer %+v", ans2)
	}
	msgs := env.sink.Messages(mine.ID())
	if len(msgs) != 2 {
		t.Fatalf("my subscription got %d messages, want 2", len(msgs))
	}
	type testPayload struct {
		Type string `json:"type"`
		Test bool   `json:"test"`
		Item struct {
			ID, Text, Priority string
			Version            int
		} `json:"item"`
	}
	for i, want := range []dryAnswer{ans, ans2} {
		m := msgs[i]
		if m.Err != nil {
			t.Fatalf("refused: %v", m.Err)
		}
		var p testPayload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != "item" || !p.Test || p.Item.ID != want.Item.ID || p.Item.Text != want.Item.Text || p.Item.Version != want.Item.Version {
			t.Errorf("test payload %s, want the item of %+v", m.Payload, want.Item)
		}
		if m.Topic != "test-"+want.Item.ID || m.VAPIDSub != vapidSubject {
			t.Errorf("topic %q vapid %q", m.Topic, m.VAPIDSub)
		}
	}
	if msgs[0].Urgency != "high" || msgs[1].Urgency != "normal" {
		t.Errorf("urgency %q (flash) and %q (breaking)", msgs[0].Urgency, msgs[1].Urgency)
	}
	if now := in.lastSeq(); now != seq {
		t.Fatalf("the stream moved from %d to %d", seq, now)
	}
	// A real alert afterwards reaches the other subscription once: it got
	// nothing from the dry runs (no job was made for them).
	later := in.post(alertItem("Real alert", "en", []string{"asia"}, nil))
	waitPushes(t, env, 4)
	o, _ := messages(t, env, other)
	if len(o) != 1 || o[0].Item.ID != later.ID {
		t.Errorf("the other subscription got %+v, want only the real alert", o)
	}
	if m, _ := messages(t, env, mine); len(m) != 3 || m[2].Item.ID != later.ID {
		t.Errorf("my subscription got %+v", m)
	}
}
