package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// TestPushSubscriptionBadInput: every bad subscription is a 400 that names
// the field, and nothing is stored.
func TestPushSubscriptionBadInput(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	good, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	body := func(endpoint, p256dh, auth, filter string) string {
		return fmt.Sprintf(`{"subscription":{"endpoint":%q,"expirationTime":null,"keys":{"p256dh":%q,"auth":%q}},"filter":%s}`, endpoint, p256dh, auth, filter)
	}
	ep, p, a := good.Endpoint, good.Keys.P256dh, good.Keys.Auth
	notOnCurve := "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 65 bytes, (0,0)
	cases := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"malformed", `{"subscription":`, 400, "malformed_json", ""},
		{"unknown field", `{"subscription":{},"filter":{},"extra":1}`, 400, "unknown_field", "extra"},
		{"no endpoint", body("", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"relative endpoint", body("/push/x", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"http endpoint", body("http://fcm.googleapis.com/fcm/send/x", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"private address", body("https://10.0.0.1/push/x", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"loopback", body("https://127.0.0.1/push/x", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"metadata address", body("https://169.254.169.254/latest", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"prefix trick", body("https://10.0.0.1/.windows.com/", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"suffix trick", body("https://notify.windows.com.evil.example/x", p, a, `{}`), 400, "endpoint_not_allowed", "subscription.endpoint"},
		{"userinfo trick", body("https://fcm.googleapis.com@evil.example/x", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"other port", body("https://fcm.googleapis.com:8443/fcm/send/x", p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"unknown service", body("https://push.evil.example/x", p, a, `{}`), 400, "endpoint_not_allowed", "subscription.endpoint"},
		{"endpoint too long", body("https://fcm.googleapis.com/fcm/send/"+strings.Repeat("x", 1000), p, a, `{}`), 400, "invalid_endpoint", "subscription.endpoint"},
		{"p256dh missing", body(ep, "", a, `{}`), 400, "invalid_p256dh", "subscription.keys.p256dh"},
		{"p256dh short", body(ep, p[:40], a, `{}`), 400, "invalid_p256dh", "subscription.keys.p256dh"},
		{"p256dh not base64", body(ep, "!!!"+p[3:], a, `{}`), 400, "invalid_p256dh", "subscription.keys.p256dh"},
		{"p256dh off the curve", body(ep, notOnCurve, a, `{}`), 400, "invalid_p256dh", "subscription.keys.p256dh"},
		{"auth missing", body(ep, p, "", `{}`), 400, "invalid_auth", "subscription.keys.auth"},
		{"auth 15 bytes", body(ep, p, a[:20], `{}`), 400, "invalid_auth", "subscription.keys.auth"},
		{"unknown region", body(ep, p, a, `{"regions":["atlantis"]}`), 400, "unknown_region", "filter.regions"},
		{"unknown lang", body(ep, p, a, `{"langs":["fr"]}`), 400, "unknown_lang", "filter.langs"},
		{"filter not an object", body(ep, p, a, `[]`), 400, "invalid_type", "filter"},
		{"comma in a slug", body(ep, p, a, `{"topics":["sports,politics"]}`), 400, "invalid_filter", "filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := in.do("POST", "/api/v1/push/subscriptions", tc.body, map[string]string{"Authorization": ""})
			e := decode[apiError](t, b)
			if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Fatalf("%d %s, want %d %s field %q", status, b, tc.status, tc.code, tc.field)
			}
		})
	}
	if n := in.srv.Push().Subscriptions(); n != 0 {
		t.Fatalf("%d subscriptions stored after bad input", n)
	}
	// Unsubscribing: bad bodies, a wrong auth, then the right one.
	for _, bad := range []struct{ body, code string }{
		{`{"endpoint":""}`, "invalid_endpoint"},
		{`{"endpoint":"` + ep + `"}`, "invalid_auth"},
	} {
		if status, _, b := in.do("DELETE", "/api/v1/push/subscriptions", bad.body, nil); status != 400 || decode[apiError](t, b).Error.Code != bad.code {
			t.Errorf("unsubscribe %s: %d %s", bad.body, status, b)
		}
	}
	in.subscribe(env, `{}`)
	sb, _ := json.Marshal(good)
	if status, _, b := in.do("POST", "/api/v1/push/subscriptions", `{"subscription":`+string(sb)+`,"filter":{"regions":["asia"]}}`, nil); status != 201 {
		t.Fatalf("subscribe: %d %s", status, b)
	}
	// The same endpoint again replaces the filter: 200, still one subscription.
	if status, _, b := in.do("POST", "/api/v1/push/subscriptions", `{"subscription":`+string(sb)+`,"filter":{"regions":["europe"]}}`, nil); status != 200 {
		t.Fatalf("resubscribe: %d %s", status, b)
	}
	if n := in.srv.Push().Subscriptions(); n != 2 {
		t.Fatalf("%d subscriptions, want 2", n)
	}
	if status, _, b := in.do("DELETE", "/api/v1/push/subscriptions", `{"endpoint":"`+ep+`","auth":"`+strings.Repeat("A", 22)+`"}`, nil); status != 404 {
		t.Fatalf("unsubscribe with a wrong auth: %d %s", status, b)
	}
	if status, _, b := in.do("DELETE", "/api/v1/push/subscriptions", `{"endpoint":"`+ep+`","auth":"`+a+`"}`, nil); status != 204 {
		t.Fatalf("unsubscribe: %d %s", status, b)
	}
	if n := in.srv.Push().Subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions after unsubscribe, want 1", n)
	}
	// The replaced filter is the one in force, and the removed one gets nothing.
	in.post(alertItem("europe only", "en", []string{"europe"}, nil))
	waitPushes(t, env, 1)
	if n := len(env.sink.Messages(good.ID())); n != 0 {
		t.Fatalf("an unsubscribed endpoint got %d pushes", n)
	}
}

func TestPushSubscribeLimitPerAddress(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: func(c *server.Options) { withPush(env)(c); c.Push.SubscribePerHour = 3 }})
	for i := 0; i < 3; i++ {
		in.subscribe(env, `{}`)
	}
	sub, _ := env.sink.Subscribe(env.url)
	b, _ := json.Marshal(sub)
	status, hdr, body := in.do("POST", "/api/v1/push/subscriptions", `{"subscription":`+string(b)+`,"filter":{}}`, nil)
	if status != 429 || decode[apiError](t, body).Error.Code != "too_many_subscriptions" || hdr.Get("Retry-After") == "" {
		t.Fatalf("4th subscription from one address: %d %v %s", status, hdr, body)
	}
	if n := in.srv.Push().Subscriptions(); n != 3 {
		t.Fatalf("%d subscriptions stored, want 3", n)
	}
}

// TestSlowPushServiceDoesNotBlockOthers: one push service that takes long to
// answer does not delay another's deliveries.
func TestSlowPushServiceDoesNotBlockOthers(t *testing.T) {
	slow, quick := newPushEnv(t), newPushEnv(t)
	in := start(t, options{mutate: withPush(slow, quick)})
	var slowSubs []pushsink.Subscription
	for i := 0; i < 20; i++ {
		s := in.subscribe(slow, `{}`)
		slow.sink.Respond(s.ID(), pushsink.Response{Delay: 10 * time.Second})
		slowSubs = append(slowSubs, s)
	}
	q := in.subscribe(quick, `{}`)
	start := time.Now()
	in.post(alertItem("both", "en", []string{"europe"}, nil))
	waitPushes(t, quick, 1)
	// The slow service has not answered anyone yet: the quick one did not
	// wait for it. (A bound from the 10 s delay, not a speed assertion.)
	if elapsed := time.Since(start); elapsed >= 10*time.Second {
		t.Fatalf("the quick service was served after %v, behind the slow one", elapsed)
	}
	if n := len(quick.sink.Messages(q.ID())); n != 1 {
		t.Fatalf("quick subscription got %d", n)
	}
	waitPushes(t, slow, len(slowSubs))
}

// TestPushExactlyOnceWithTwoInstances: both instances plan and work, and
// every subscription gets each item once.
func TestPushExactlyOnceWithTwoInstances(t *testing.T) {
	url := runNATS(t)
	env := newPushEnv(t)
	a := start(t, options{natsURL: url, mutate: withPush(env)})
	b := start(t, options{natsURL: url, mutate: withPush(env)})
	var subs []pushsink.Subscription
	for i := 0; i < 40; i++ {
		in := a
		if i%2 == 1 {
			in = b
		}
		subs = append(subs, in.subscribe(env, `{}`))
	}
	// Both instances must know all subscriptions before posting.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for a.srv.Push().Subscriptions() != 40 || b.srv.Push().Subscriptions() != 40 {
		if ctx.Err() != nil {
			t.Fatal("subscriptions did not reach both instances")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const items = 5
	var ids []string
	for i := 0; i < items; i++ {
		in := a
		if i%2 == 1 {
			in = b
		}
		ids = append(ids, in.post(alertItem(fmt.Sprintf("twice? %d", i), "en", []string{"mena"}, nil)).ID)
	}
	waitPushes(t, env, len(subs)*items)
	// Every job is done (nothing still in flight that could add a duplicate).
	for _, id := range ids {
		for {
			_, _, body := a.do("GET", "/api/v1/push/stats?item="+id, "", nil)
			var st struct {
				Items []struct {
					Jobs     int `json:"jobs"`
					JobsDone int `json:"jobs_done"`
					Sent     int `json:"sent"`
				}
			}
			decodeInto(t, body, &st)
			if len(st.Items) == 1 && st.Items[0].Jobs > 0 && st.Items[0].Jobs == st.Items[0].JobsDone {
				if st.Items[0].Sent != len(subs) {
					t.Fatalf("item %s: stats say %d sent, want %d", id, st.Items[0].Sent, len(subs))
				}
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("jobs of %s not done: %s", id, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i, s := range subs {
		ps, _ := messages(t, env, s)
		seen := map[string]int{}
		for _, p := range ps {
			seen[p.Item.ID]++
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Fatalf("subscription %d got item %s %d times", i, id, seen[id])
			}
		}
		if len(ps) != items {
			t.Fatalf("subscription %d got %d pushes, want %d", i, len(ps), items)
		}
	}
}

func TestVAPIDKeySurvivesRestartAndPushCanBeOff(t *testing.T) {
	dir := t.TempDir()
	env := newPushEnv(t)
	first := start(t, options{dir: dir, mutate: withPush(env)})
	_, _, k1 := first.do("GET", "/api/v1/push/key", "", nil)
	first.stop()
	second := start(t, options{dir: dir, mutate: withPush(env)})
	_, _, k2 := second.do("GET", "/api/v1/push/key", "", nil)
	if string(k1) != string(k2) || !strings.Contains(string(k1), "public_key") {
		t.Fatalf("key changed across a restart: %s vs %s", k1, k2)
	}
	off := start(t, options{})
	status, _, b := off.do("GET", "/api/v1/push/key", "", nil)
	if status != 503 || decode[apiError](t, b).Error.Code != "push_disabled" {
		t.Fatalf("push off: %d %s", status, b)
	}
}

// TestPushRefusedFiveTimesRemoves: a subscription refused with 403 on five
// items in a row is removed; one refused four times and then accepted stays.
func TestPushRefusedFiveTimesRemoves(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	bad := in.subscribe(env, `{}`)
	flaky := in.subscribe(env, `{}`)
	refuse := pushsink.Response{Status: 403}
	env.sink.Respond(bad.ID(), refuse, refuse, refuse, refuse, refuse)
	env.sink.Respond(flaky.ID(), refuse, refuse, refuse, refuse)
	for i := 0; i < 5; i++ {
		in.post(alertItem(fmt.Sprintf("item %d", i), "en", []string{"mena"}, nil))
		waitPushes(t, env, 2*(i+1))
	}
	// The fifth refusal removes it (after the push service answered).
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for in.srv.Push().Subscriptions() != 1 {
		if ctx.Err() != nil {
			t.Fatalf("%d subscriptions after five refusals, want 1", in.srv.Push().Subscriptions())
		}
		time.Sleep(10 * time.Millisecond)
	}
	in.post(alertItem("item 5", "en", []string{"mena"}, nil))
	waitPushes(t, env, 11)
	if n := len(env.sink.Messages(bad.ID())); n != 5 {
		t.Fatalf("the refused subscription got %d requests, want 5 (then removed)", n)
	}
	if n := len(env.sink.Messages(flaky.ID())); n != 6 {
		t.Fatalf("the recovering subscription got %d requests, want 6", n)
	}
	if n := in.srv.Push().Subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions left, want 1", n)
	}
}
