package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// pushEnv is a real local push service (it decrypts and checks VAPID) and
// the options that let an instance send to it.
type pushEnv struct {
	sink *pushsink.Sink
	url  string
	host string
}

func newPushEnv(t *testing.T) *pushEnv {
	t.Helper()
	sink := pushsink.New(pushsink.Options{})
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	return &pushEnv{sink: sink, url: srv.URL, host: strings.TrimPrefix(srv.URL, "http://")}
}

const vapidSubject = "mailto:ops@newsroom.example"

// withPush turns Web Push on, allowing the given local push services.
func withPush(envs ...*pushEnv) func(*server.Options) {
	return func(c *server.Options) {
		c.VAPID.Subject = vapidSubject
		for _, e := range envs {
			c.PushPolicy.InsecureTestEndpoints = append(c.PushPolicy.InsecureTestEndpoints, e.host)
		}
		c.Push.MaxAttempts = 3
	}
}

// subscribe registers a fresh sink subscription with a filter.
func (in *instance) subscribe(env *pushEnv, filter string) pushsink.Subscription {
	in.t.Helper()
	sub, err := env.sink.Subscribe(env.url)
	if err != nil {
		in.t.Fatal(err)
	}
	b, _ := json.Marshal(sub)
	status, _, body := in.do("POST", "/api/v1/push/subscriptions", `{"subscription":`+string(b)+`,"filter":`+filter+`}`, map[string]string{"Authorization": ""})
	if status != 201 {
		in.t.Fatalf("subscribe: %d %s", status, body)
	}
	return sub
}

type pushed struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	Item struct {
		ID       string `json:"id"`
		Version  int    `json:"version"`
		Text     string `json:"text"`
		Priority string `json:"priority"`
	} `json:"item"`
}

// messages returns what a subscription received, decoded, in order.
func messages(t *testing.T, env *pushEnv, sub pushsink.Subscription) ([]pushed, []pushsink.Message) {
	t.Helper()
	raw := env.sink.Messages(sub.ID())
	var out []pushed
	for _, m := range raw {
		if m.Err != nil {
			t.Fatalf("the push service refused a request: %v", m.Err)
		}
		var p pushed
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatalf("payload %q: %v", m.Payload, err)
		}
		out = append(out, p)
	}
	return out, raw
}

func waitPushes(t *testing.T, env *pushEnv, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := env.sink.Wait(ctx, n); err != nil {
		acc, ref := env.sink.Count()
		t.Fatalf("push service got %d accepted, %d refused; waited for %d: %v", acc, ref, n, err)
	}
}

func TestPushDeliversFilteredOncePerSubscription(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	status, _, b := in.do("GET", "/api/v1/push/key", "", nil)
	if key := decode[struct {
		PublicKey string `json:"public_key"`
	}](t, b).PublicKey; status != 200 || len(key) != 87 {
		t.Fatalf("push key: %d %s", status, b)
	}
	mena := in.subscribe(env, `{"regions":["mena"]}`)
	arabic := in.subscribe(env, `{"langs":["ar"]}`)
	sports := in.subscribe(env, `{"topics":["sports"]}`)
	everything := in.subscribe(env, `{}`)

	a := in.post(`{"alert":true,"text":"Strike in south Lebanon","lang":"en","regions":["mena"],"priority":"flash"}`)
	bItem := in.post(`{"alert":true,"text":"عاجل: اجتماع طارئ","lang":"ar","regions":["europe"]}`)
	waitPushes(t, env, 4) // mena+everything for a, arabic+everything for b

	got := func(sub pushsink.Subscription) string {
		ps, _ := messages(t, env, sub)
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.Type+":"+p.Item.ID)
		}
		return strings.Join(ids, ",")
	}
	// Post one more that everyone matches, and wait for all of it, so that
	// anything wrongly sent before it has arrived too.
	end := in.post(`{"alert":true,"text":"end","lang":"ar","regions":["mena"],"topics":["sports"]}`)
	waitPushes(t, env, 8)
	for _, c := range []struct {
		sub  pushsink.Subscription
		want []string
	}{
		{mena, []string{a.ID, end.ID}},
		{arabic, []string{bItem.ID, end.ID}},
		{sports, []string{end.ID}},
		{everything, []string{a.ID, bItem.ID, end.ID}},
	} {
		var want []string
		for _, id := range c.want {
			want = append(want, "item:"+id)
		}
		if g := got(c.sub); !sameSet(g, strings.Join(want, ",")) {
			t.Errorf("subscription got %s, want %s", g, strings.Join(want, ","))
		}
	}
	// Headers and VAPID as a push service sees them.
	_, raw := messages(t, env, mena)
	for _, m := range raw {
		if m.VAPIDSub != vapidSubject || m.VAPIDAud != env.url || m.Topic == "" {
			t.Errorf("vapid sub %q aud %q topic %q", m.VAPIDSub, m.VAPIDAud, m.Topic)
		}
		if exp := time.Until(m.VAPIDExp); exp <= 0 || exp > 24*time.Hour {
			t.Errorf("vapid exp %v ahead", exp)
		}
	}
	ps, raw := messages(t, env, mena)
	for i, p := range ps {
		if p.Item.ID == a.ID {
			var ttl int
			fmt.Sscan(raw[i].TTL, &ttl)
			if raw[i].Urgency != "high" || raw[i].Topic != a.ID || ttl <= 6*3600-120 || ttl > 6*3600 || p.Item.Text != a.Text || p.Item.Priority != "flash" {
				t.Errorf("flash push: urgency %q topic %q ttl %q payload %+v", raw[i].Urgency, raw[i].Topic, raw[i].TTL, p)
			}
		}
	}
	_, raw = messages(t, env, sports)
	if len(raw) != 1 || raw[0].Urgency != "normal" {
		t.Errorf("breaking push urgency: %+v", raw)
	}
}

func sameSet(a, b string) bool {
	as, bs := strings.Split(a, ","), strings.Split(b, ",")
	if len(as) != len(bs) {
		return false
	}
	m := map[string]int{}
	for _, x := range as {
		m[x]++
	}
	for _, x := range bs {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestPushCorrectionsAndRetractions(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	mena := in.subscribe(env, `{"regions":["mena"]}`)
	europe := in.subscribe(env, `{"regions":["europe"]}`)
	it := in.post(alertItem("first version", "en", []string{"mena"}, nil))
	waitPushes(t, env, 1)
	if status, _, b := in.do("PATCH", "/api/v1/items/"+it.ID, `{"regions":["europe"],"text":"moved"}`, nil); status != 200 {
		t.Fatalf("patch %d %s", status, b)
	}
	waitPushes(t, env, 3) // retract to mena, update to europe
	if status, _, b := in.do("DELETE", "/api/v1/items/"+it.ID, "", nil); status != 200 {
		t.Fatalf("retract %d %s", status, b)
	}
	waitPushes(t, env, 4) // retract to europe
	m, mraw := messages(t, env, mena)
	e, eraw := messages(t, env, europe)
	if len(m) != 2 || m[0].Type != "item" || m[1].Type != "retract" || m[1].Item.ID != it.ID || m[1].Item.Text != "" {
		t.Fatalf("mena got %+v", m)
	}
	if len(e) != 2 || e[0].Type != "update" || e[0].Item.Text != "moved" || e[0].Item.Version != 2 || e[1].Type != "retract" {
		t.Fatalf("europe got %+v", e)
	}
	for _, raw := range append(mraw, eraw...) {
		if raw.Topic != it.ID {
			t.Errorf("topic %q, want the item id so a pending one is replaced", raw.Topic)
		}
	}
}

func TestPushAnswersFromThePushService(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	gone := in.subscribe(env, `{}`)
	limited := in.subscribe(env, `{}`)
	broken := in.subscribe(env, `{}`)
	fine := in.subscribe(env, `{}`)
	env.sink.Gone(gone.ID())
	env.sink.Respond(limited.ID(), pushsink.Response{Status: 429, RetryAfter: "2"})
	env.sink.Respond(broken.ID(), pushsink.Response{Status: 500}, pushsink.Response{Status: 503}, pushsink.Response{Status: 500})

	it := in.post(alertItem("answers", "en", []string{"asia"}, nil))
	t.Cleanup(func() {
		if t.Failed() {
			for name, sub := range map[string]pushsink.Subscription{"gone": gone, "limited": limited, "broken": broken, "fine": fine} {
				for _, m := range env.sink.Messages(sub.ID()) {
					t.Logf("%s: %d at %s err %v", name, m.Status, m.At.Format("15:04:05.000"), m.Err)
				}
			}
		}
	})
	// fine once, limited twice (429 then 201), broken three times (gives up).
	waitPushes(t, env, 1+2+3)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var st struct {
		Subscriptions int
		Items         []struct {
			ID                    string
			Sent, Failed, Removed int
			Jobs                  int `json:"jobs"`
			JobsDone              int `json:"jobs_done"`
		}
	}
	for ctx.Err() == nil {
		_, _, b := in.do("GET", "/api/v1/push/stats?item="+it.ID, "", nil)
		decodeInto(t, b, &st)
		if len(st.Items) == 1 && st.Items[0].JobsDone == st.Items[0].Jobs && st.Items[0].Jobs > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(st.Items) != 1 || st.Items[0].Sent != 2 || st.Items[0].Failed != 1 || st.Items[0].Removed != 1 || st.Subscriptions != 3 {
		t.Fatalf("stats %+v", st)
	}
	// The same in the metrics (push-service host label aside).
	text := scrape(t, in.from(t, "127.0.0.1"))
	for _, c := range []struct {
		name, label string
		want        float64
	}{
		{"newsflash_push_sends_total", `outcome="sent"`, 2},    // fine, limited at its second try
		{"newsflash_push_sends_total", `outcome="retry"`, 3},   // limited's 429, broken's first two
		{"newsflash_push_sends_total", `outcome="failed"`, 1},  // broken's third
		{"newsflash_push_sends_total", `outcome="removed"`, 1}, // gone
		{"newsflash_push_retries_total", "", 3},
		{"newsflash_push_subscriptions_removed_total", "", 1},
	} {
		if got := sumSamples(text, c.name, c.label); got != c.want {
			t.Errorf("%s{%s}: %v, want %v", c.name, c.label, got, c.want)
		}
	}
	lm := env.sink.Messages(limited.ID())
	if len(lm) != 2 || lm[0].Status != 429 || lm[1].Status != 201 || lm[1].At.Sub(lm[0].At) < 2*time.Second {
		t.Fatalf("429 with Retry-After 2: %d requests, not retried after the delay", len(lm))
	}
	if n := len(env.sink.Messages(broken.ID())); n != 3 {
		t.Fatalf("500s: %d attempts, want 3 (MaxAttempts)", n)
	}
	// The gone subscription is removed: the next item does not go there.
	in.post(alertItem("after removal", "en", []string{"asia"}, nil))
	waitPushes(t, env, 6+3) // fine, limited and broken (the first of its tries)
	if n := len(env.sink.Messages(gone.ID())); n != 1 {
		t.Fatalf("a 410 subscription got %d requests", n)
	}
	if n := len(env.sink.Messages(fine.ID())); n != 2 {
		t.Fatalf("the healthy subscription got %d requests, want 2", n)
	}
}
