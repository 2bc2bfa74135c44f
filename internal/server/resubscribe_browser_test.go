package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"newsflash/internal/pushsink"
)

// storedWebSubscription is a subscription's record as the push service
// keeps it: what the worker's post left behind.
type storedWebSubscription struct {
	Filter struct {
		Regions []string `json:"regions"`
		Topics  []string `json:"topics"`
		Langs   []string `json:"langs"`
	} `json:"filter"`
	Prefs storedPrefs `json:"prefs"`
}

// webSubscriptions reads every stored subscription by endpoint straight from
// the NATS KV bucket.
func (in *instance) webSubscriptions() map[string][]storedWebSubscription {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st := in.srv.Stream()
	kv, err := st.JetStream().KeyValue(ctx, st.Layout().PushSubscriptionsBucket())
	if err != nil {
		in.t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		in.t.Fatal(err)
	}
	out := map[string][]storedWebSubscription{}
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			in.t.Fatal(err)
		}
		var rec struct {
			Endpoint string `json:"endpoint"`
			storedWebSubscription
		}
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			in.t.Fatalf("subscription %s: %v", k, err)
		}
		out[rec.Endpoint] = append(out[rec.Endpoint], rec.storedWebSubscription)
	}
	return out
}

// fireSubscriptionChange runs in the service worker: the browser's push
// service (which a test machine cannot reach) is replaced by subscriptions
// of our sink, for pushManager.subscribe or as the event's newSubscription
// (VIA), and a pushsubscriptionchange event is dispatched. The real event
// would need PushSubscription objects, which only the browser makes, so it
// is an ExtendableEvent with the real one's fields; its waitUntil hands us
// the handler's work, which is awaited. The worker's requests are logged with their answers.
const fireSubscriptionChange = `(async () => {
	const NEW = %NEW%, OLD = %OLD%, VIA = %VIA%;
	const fake = (s) => s && {
		endpoint: s.endpoint,
		expirationTime: null,
		options: { applicationServerKey: null, userVisibleOnly: true },
		toJSON: () => s,
		unsubscribe: async () => true,
	};
	const log = [];
	let key = null;
	const realFetch = self.fetch, realSubscribe = PushManager.prototype.subscribe;
	self.fetch = async (input, init = {}) => {
		const res = await realFetch(input, init);
		const entry = { method: init.method || "GET", path: new URL(String(input), self.location.origin).pathname, status: res.status };
		if (!res.ok) entry.code = (await res.clone().json().catch(() => null))?.error?.code ?? "";
		log.push(entry);
		return res;
	};
	PushManager.prototype.subscribe = async function (opts) {
		key = Array.from(new Uint8Array(opts.applicationServerKey));
		return fake(NEW);
	};
	const ev = new ExtendableEvent("pushsubscriptionchange");
	Object.defineProperty(ev, "oldSubscription", { value: fake(OLD) });
	Object.defineProperty(ev, "newSubscription", { value: VIA === "event" ? fake(NEW) : null });
	let held = null;
	Object.defineProperty(ev, "waitUntil", { value: (p) => { held = p; } });
	try {
		self.dispatchEvent(ev);
		if (held) await held;
	} finally {
		self.fetch = realFetch;
		PushManager.prototype.subscribe = realSubscribe;
	}
	return JSON.stringify({ held: held !== null, key, log });
})()`

type workerRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Code   string `json:"code"`
}

type subscriptionChange struct {
	Held bool            `json:"held"`
	Key  []byte          `json:"key"`
	Log  []workerRequest `json:"log"`
}

func (c subscriptionChange) String() string {
	var b strings.Builder
	for _, r := range c.Log {
		fmt.Fprintf(&b, "%s %s %d %s; ", r.Method, r.Path, r.Status, r.Code)
	}
	return b.String()
}

// TestBrowserResubscribeKeepsSettings: when the browser renews the push
// subscription, the service worker registers the new one with the filter
// and the reader's settings the page stored in the Cache API (/push-filter,
// /push-prefs, as app.js writes them). Once a followed story is closed the
// server refuses those settings (400 story_closed): the worker posts them
// again without the follows, keeping everything else, and the subscription
// is not lost. The old endpoint is forgotten.
func TestBrowserResubscribeKeepsSettings(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	const slug = "war-on-gaza"
	in.mustAs(editorToken, "POST", "/api/v1/stories", `{"slug":"`+slug+`","title":{"en":"War on Gaza"},"regions":[],"topics":[]}`, 201)
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(in.mustAs("", "GET", "/api/v1/push/key", "", 200), &key); err != nil {
		t.Fatal(err)
	}
	serverKey, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key.PublicKey, "="))
	if err != nil {
		t.Fatalf("push key %q: %v", key.PublicKey, err)
	}
	sinkSub := func() pushsink.Subscription {
		s, err := env.sink.Subscribe(env.url)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first, second := sinkSub(), sinkSub()

	ctx := newBrowser(t)
	sctx, cancel := within(ctx)
	defer cancel()
	run(t, ctx, chromedp.Navigate(in.base+"/"))
	if _, err := chromedp.Call(sctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if ok := eval[bool](t, ctx, `navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => navigator.serviceWorker.ready).then(() => true)`); !ok {
		t.Fatal("service worker did not register")
	}
	// The filter and the settings, stored as app.js stores them after a post.
	const filter = `{"regions":["mena"],"topics":["politics"],"langs":["ar","en"]}`
	const prefs = `{"min_priority":"urgent","quiet_hours":{"from":"23:00","to":"06:30","tz":"Asia/Beirut"},"max_per_hour":5,"stories":["` + slug + `"]}`
	if ok := eval[bool](t, ctx, `caches.open('newsflash').then(async (c) => {
		const json = (v) => new Response(v, { headers: { 'Content-Type': 'application/json' } });
		await c.put('/push-filter', json('`+filter+`'));
		await c.put('/push-prefs', json('`+prefs+`'));
		return true;
	})`); !ok {
		t.Fatal("could not store the settings")
	}

	var worker context.Context
	targets, err := chromedp.Targets(sctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range targets {
		if ti.Type == "service_worker" && strings.HasPrefix(ti.URL, in.base+"/sw.js") {
			wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
			defer cancel()
			// Attached now, under the test's context: the first call's
			// context would end the attachment when it ends.
			if err := chromedp.Do(wctx); err != nil {
				t.Fatalf("attach to the service worker: %v", err)
			}
			worker = wctx
		}
	}
	if worker == nil {
		t.Fatalf("no service worker target among %d", len(targets))
	}
	if typ := eval[string](t, worker, `typeof PushManager + ' ' + typeof ExtendableEvent`); typ != "function function" {
		t.Fatalf("the worker has %s for PushManager and ExtendableEvent", typ)
	}
	fire := func(newSub, oldSub *pushsink.Subscription, via string) subscriptionChange {
		t.Helper()
		js := fireSubscriptionChange
		for k, v := range map[string]any{"%NEW%": newSub, "%OLD%": oldSub, "%VIA%": via} {
			b, _ := json.Marshal(v)
			js = strings.Replace(js, k, string(b), 1)
		}
		var c subscriptionChange
		if err := json.Unmarshal([]byte(eval[string](t, worker, js)), &c); err != nil {
			t.Fatal(err)
		}
		if !c.Held {
			t.Fatal("the pushsubscriptionchange handler did not hold the worker (event.waitUntil) for its work")
		}
		return c
	}
	settingsKept := func(s storedWebSubscription, stories ...string) bool {
		p := s.Prefs
		return p.MinPriority == "urgent" && p.QuietHours != nil && p.QuietHours.From == "23:00" && p.QuietHours.To == "06:30" &&
			p.QuietHours.TZ == "Asia/Beirut" && p.MaxPerHour == 5 && slices.Equal(p.Stories, stories)
	}
	filterKept := func(s storedWebSubscription) bool {
		f := s.Filter
		return slices.Equal(f.Regions, []string{"mena"}) && slices.Equal(f.Topics, []string{"politics"}) && slices.Equal(f.Langs, []string{"ar", "en"})
	}

	// 1. The browser dropped the subscription: the worker subscribes again
	// (with the server's key) and posts the new one with everything stored.
	c := fire(&first, nil, "subscribe")
	if !slices.Equal(c.Key, serverKey) {
		t.Errorf("pushManager.subscribe was given the key %x, want the server's %x", c.Key, serverKey)
	}
	if len(c.Log) != 2 || c.Log[0].Path != "/api/v1/push/key" || c.Log[1].Method != "POST" || c.Log[1].Status != 201 {
		t.Fatalf("the worker's requests: %s; want the key, then one post answered 201", c)
	}
	subs := in.webSubscriptions()
	if got := subs[first.Endpoint]; len(got) != 1 || !settingsKept(got[0], slug) || !filterKept(got[0]) {
		t.Fatalf("stored for the renewed subscription: %+v; want the filter and the settings following %s", got, slug)
	}

	// 2. The story is closed, then the browser renews the subscription
	// again (handing over the new one): the settings as stored are refused,
	// so they go again without the follows; the old endpoint is forgotten.
	in.mustAs(editorToken, "POST", "/api/v1/stories/"+slug+"/close", "", 200)
	c = fire(&second, &first, "event")
	if c.Key != nil {
		t.Errorf("pushManager.subscribe was called although the event brought the new subscription")
	}
	want := []struct {
		method string
		status int
		code   string
	}{{"DELETE", 204, ""}, {"POST", 400, "story_closed"}, {"POST", 201, ""}}
	ok := len(c.Log) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = c.Log[i].Method == want[i].method && c.Log[i].Path == "/api/v1/push/subscriptions" && c.Log[i].Status == want[i].status && c.Log[i].Code == want[i].code
	}
	if !ok {
		t.Fatalf("the worker's requests: %s; want the old one deleted (204), the settings refused (400 story_closed), then posted without the follows (201)", c)
	}
	subs = in.webSubscriptions()
	if got := subs[first.Endpoint]; len(got) != 0 {
		t.Errorf("the old endpoint is still stored: %+v", got)
	}
	got := subs[second.Endpoint]
	if len(got) != 1 || !settingsKept(got[0]) || !filterKept(got[0]) {
		t.Fatalf("stored for the renewed subscription: %+v; want the filter and the settings, following nothing", got)
	}
}
