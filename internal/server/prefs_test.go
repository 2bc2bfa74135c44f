package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsflash/internal/push"
)

// TestPushPrefsBadInput: every bad preference is a 400 naming its field
// on both POST /api/v1/push/subscriptions and POST /api/v1/devices, and
// nothing is stored; good prefs are taken by both.
func TestPushPrefsBadInput(t *testing.T) {
	e := newAppEnvWith(t, nil)
	in := e.in
	in.makeStory("war-on-gaza")
	in.makeStory("ended")
	in.mustAs(editorToken, "POST", "/api/v1/stories/ended/close", "", http.StatusOK)
	web, err := e.web.sink.Subscribe(e.web.url)
	if err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(web)
	iosToken := strings.Repeat("ab", 32)
	bodies := map[string]func(prefs string) (path, body string){
		"web": func(prefs string) (string, string) {
			return "/api/v1/push/subscriptions", `{"subscription":` + string(wb) + `,"filter":{},"prefs":` + prefs + `}`
		},
		"device": func(prefs string) (string, string) {
			return "/api/v1/devices", `{"platform":"ios","token":"` + iosToken + `","filter":{},"prefs":` + prefs + `}`
		},
	}
	q := func(from, to, tz string) string {
		return fmt.Sprintf(`{"quiet_hours":{"from":%q,"to":%q,"tz":%q}}`, from, to, tz)
	}
	twentyOne := `{"stories":[` + strings.TrimSuffix(strings.Repeat(`"war-on-gaza",`, push.MaxPrefsStories+1), ",") + `]}`
	cases := []struct {
		name, prefs string
		code, field string
	}{
		{"unknown priority", `{"min_priority":"loud"}`, "invalid_priority", "prefs.min_priority"},
		{"priority not a string", `{"min_priority":3}`, "invalid_type", "prefs.min_priority"},
		{"from 25:00", q("25:00", "07:00", "Asia/Beirut"), "invalid_time", "prefs.quiet_hours.from"},
		{"from 7pm", q("7pm", "07:00", "Asia/Beirut"), "invalid_time", "prefs.quiet_hours.from"},
		{"to 24:00", q("22:00", "24:00", "Asia/Beirut"), "invalid_time", "prefs.quiet_hours.to"},
		{"to 07:60", q("22:00", "07:60", "Asia/Beirut"), "invalid_time", "prefs.quiet_hours.to"},
		{"empty window", q("22:00", "22:00", "Asia/Beirut"), "invalid_time", "prefs.quiet_hours.to"},
		{"unknown zone", q("22:00", "07:00", "Asia/Atlantis"), "unknown_zone", "prefs.quiet_hours.tz"},
		{"no zone", q("22:00", "07:00", ""), "unknown_zone", "prefs.quiet_hours.tz"},
		{"61 per hour", `{"max_per_hour":61}`, "invalid_max_per_hour", "prefs.max_per_hour"},
		{"negative per hour", `{"max_per_hour":-1}`, "invalid_max_per_hour", "prefs.max_per_hour"},
		{"not a slug", `{"stories":["War on Gaza"]}`, "invalid_story", "prefs.stories"},
		{"unknown story", `{"stories":["atlantis"]}`, "unknown_story", "prefs.stories"},
		{"closed story", `{"stories":["ended"]}`, "story_closed", "prefs.stories"},
		{"too many stories", twentyOne, "too_many_stories", "prefs.stories"},
		{"unknown field", `{"loud":true}`, "unknown_field", "loud"}, // named as the JSON decoder names it
		{"prefs not an object", `[]`, "invalid_type", "prefs"},
	}
	for kind, body := range bodies {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				path, b := body(tc.prefs)
				status, _, ans := in.do("POST", path, b, map[string]string{"Authorization": ""})
				e := decode[apiError](t, ans)
				if status != 400 || e.Error.Code != tc.code || e.Error.Field != tc.field {
					t.Fatalf("%d %s, want 400 %s field %q", status, ans, tc.code, tc.field)
				}
			})
		}
	}
	if n := in.srv.Push().Subscriptions(); n != 0 {
		t.Fatalf("%d subscriptions stored after bad prefs", n)
	}
	good := `{"min_priority":"urgent","quiet_hours":{"from":"22:00","to":"07:00","tz":"Asia/Beirut"},"max_per_hour":60,"stories":["war-on-gaza"]}`
	for kind, body := range bodies {
		path, b := body(good)
		if status, _, ans := in.do("POST", path, b, map[string]string{"Authorization": ""}); status != 201 {
			t.Fatalf("%s with good prefs: %d %s", kind, status, ans)
		}
		path, b = body(`null`)
		if status, _, ans := in.do("POST", path, b, map[string]string{"Authorization": ""}); status != 200 {
			t.Fatalf("%s again with null prefs: %d %s", kind, status, ans)
		}
	}
}

// TestPushPrefsOnTwoInstances: two instances on one NATS share the jobs of
// a run of alerts; max_per_hour holds per subscription over both, a
// subscription asking for flash only gets the flash, the rest is counted
// as skipped by reason in each alert's funnel and in the metric, and a
// correction reaches only those that got its alert.
func TestPushPrefsOnTwoInstances(t *testing.T) {
	url := runNATS(t)
	env := newPushEnv(t)
	a := start(t, options{natsURL: url, mutate: withPush(env)})
	b := start(t, options{natsURL: url, mutate: withPush(env)})
	all := a.subscribe(env, `{}`)
	capped := subscribeWith(t, b, env, `{}`, `{"max_per_hour":2}`)
	flash := subscribeWith(t, a, env, `{}`, `{"min_priority":"flash"}`)
	// Both instances know the three before the alerts go out.
	for _, in := range []*instance{a, b} {
		deadline := time.Now().Add(wait)
		for in.srv.Push().Subscriptions() != 3 {
			if time.Now().After(deadline) {
				t.Fatalf("an instance knows %d subscriptions, want 3", in.srv.Push().Subscriptions())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	var ids []string
	for i, priority := range []string{"breaking", "urgent", "breaking", "flash", "urgent"} {
		in := []*instance{a, b}[i%2]
		it := in.post(fmt.Sprintf(`{"alert":true,"text":"Alert %d","lang":"en","regions":["mena"],"priority":%q}`, i, priority))
		ids = append(ids, it.ID)
	}
	// all: 5; capped: the first two and the flash; flash: the flash.
	waitPushes(t, env, 9)
	funnels := make([]*push.Funnel, len(ids))
	deadline := time.Now().Add(wait)
	for i, id := range ids {
		for {
			_, body := a.as(editorToken, "GET", "/api/v1/push/stats?item="+id, "")
			st := decode[push.Stats](t, body)
			if len(st.Items) == 1 && st.Items[0].Funnel != nil && st.Items[0].JobsDone == st.Items[0].Jobs && st.Items[0].Jobs > 0 {
				funnels[i] = st.Items[0].Funnel
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("alert %d: its jobs did not finish: %s", i, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wantSkipped := []map[string]int{
		{"priority": 1, "quiet_hours": 0, "cap": 0},
		{"priority": 1, "quiet_hours": 0, "cap": 0},
		{"priority": 1, "quiet_hours": 0, "cap": 1},
		{"priority": 0, "quiet_hours": 0, "cap": 0},
		{"priority": 1, "quiet_hours": 0, "cap": 1},
	}
	for i, f := range funnels {
		sent := 3 - f.Skipped["priority"] - f.Skipped["cap"]
		if f.Targeted != 3 || f.Sent != sent || f.Pending != 0 || fmt.Sprint(f.Skipped) != fmt.Sprint(wantSkipped[i]) ||
			f.Platforms["web"].Targeted != 3 || f.AlertedAt.IsZero() {
			t.Errorf("alert %d: funnel %+v, want 3 targeted, %d sent, skipped %v", i, f, sent, wantSkipped[i])
		}
	}
	got := func(s interface{ ID() string }) int { return len(env.sink.Messages(s.ID())) }
	if got(all) != 5 || got(capped) != 3 || got(flash) != 1 {
		t.Fatalf("all got %d (want 5), capped %d (want 3), flash-only %d (want 1)", got(all), got(capped), got(flash))
	}
	skipped := 0.0
	for _, in := range []*instance{a, b} {
		_, _, m := in.do("GET", "/metrics", "", nil)
		for _, reason := range []string{"cap", "priority"} {
			if v := metric(string(m), `newsflash_push_skipped_total{platform="web",reason="`+reason+`"}`); v > 0 {
				skipped += v
			}
		}
	}
	if skipped != 6 {
		t.Errorf("newsflash_push_skipped_total over both instances: %v, want 6", skipped)
	}
	// A retraction of the third alert (held back from capped and flash)
	// reaches all only.
	before := [3]int{got(all), got(capped), got(flash)}
	if status, body := b.as(editorToken, "DELETE", "/api/v1/items/"+ids[2], ""); status != 200 {
		t.Fatalf("retract: %d %s", status, body)
	}
	waitPushes(t, env, 10)
	for { // the retraction's jobs all done: nothing more will arrive
		_, body := a.as(editorToken, "GET", "/api/v1/push/stats?item="+ids[2], "")
		st := decode[push.Stats](t, body)
		if len(st.Items) == 1 && st.Items[0].JobsDone == st.Items[0].Jobs && st.Items[0].Jobs == 2*push.DefaultPartitions {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retraction's jobs did not finish: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := [3]int{got(all), got(capped), got(flash)}; after != [3]int{before[0] + 1, before[1], before[2]} {
		t.Fatalf("after the retraction: %v, before %v; want only all's count up", after, before)
	}
}

// subscribeWith registers a fresh sink subscription with a filter and prefs.
func subscribeWith(t *testing.T, in *instance, env *pushEnv, filter, prefs string) interface{ ID() string } {
	t.Helper()
	sub, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sub)
	status, _, body := in.do("POST", "/api/v1/push/subscriptions", `{"subscription":`+string(b)+`,"filter":`+filter+`,"prefs":`+prefs+`}`, map[string]string{"Authorization": ""})
	if status != 201 {
		t.Fatalf("subscribe: %d %s", status, body)
	}
	return sub
}
