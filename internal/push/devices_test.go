package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/pushsink"
)

// appEnv is a Service with every platform on: Web Push to the pushsink,
// Android to the FCM stand-in, iOS to the APNs stand-in, all real servers
// speaking their protocols (the stand-ins over TLS and HTTP/2).
type appEnv struct {
	*testEnv
	fcm  *fcmtest.Server
	apns *apnstest.Server
	api  string // base URL of the routes (…/api/v1)
}

// appOptions tune newAppEnv; a nil gate sends every request.
type appOptions struct {
	partitions int
	opts       Options
	// fcmGate and apnsGate wrap the providers' transports (a crash test
	// stops a job part-way through).
	fcmGate, apnsGate func(http.RoundTripper) http.RoundTripper
	noFCM             bool
}

func newAppEnv(t *testing.T, o appOptions) *appEnv {
	t.Helper()
	js := runJetStream(t)
	createNewsStream(t, js, testLayout)
	f := fcmtest.New(fcmtest.Options{})
	t.Cleanup(f.Close)
	a := apnstest.New(t)
	env := &appEnv{fcm: f, apns: a}
	env.testEnv = env.service(t, js, history.New(history.Options{}), o)
	return env
}

// service makes a Service on js sending to env's stand-ins: a second one
// on the same js is another instance.
func (env *appEnv) service(t *testing.T, js jetstream.JetStream, hist *history.Log, o appOptions) *testEnv {
	t.Helper()
	sink := pushsink.New(pushsink.Options{})
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	policy, err := pushpolicy.New(pushpolicy.Options{InsecureTestEndpoints: []string{strings.TrimPrefix(srv.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(IdentityConfig{DataDir: t.TempDir(), Subject: "mailto:ops@newsroom.example"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testOutput(t)), nil))
	deps := Deps{JetStream: js, Layout: testLayout, Log: hist, Taxonomy: news.DefaultTaxonomy(), Identity: id, Policy: policy, Logger: logger}
	gated := func(c *http.Client, gate func(http.RoundTripper) http.RoundTripper) *http.Client {
		if gate == nil {
			return c
		}
		return &http.Client{Transport: gate(c.Transport)}
	}
	if !o.noFCM {
		deps.FCM, err = fcm.New(fcm.Deps{HTTPClient: gated(env.fcm.Client(), o.fcmGate), Logger: logger},
			fcm.Options{Endpoint: env.fcm.URL(), Credentials: env.fcm.Credentials()})
		if err != nil {
			t.Fatal(err)
		}
	}
	deps.APNs, err = apns.New(apns.Deps{HTTPClient: gated(env.apns.Client(), o.apnsGate), Logger: logger},
		apns.Options{Endpoint: env.apns.URL, Key: env.apns.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic, Conns: -1})
	if err != nil {
		t.Fatal(err)
	}
	opts := o.opts
	opts.Partitions = max(o.partitions, 1)
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	if opts.MaxRetryTime == 0 {
		opts.MaxRetryTime = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := New(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	g := e.Group("/api/v1")
	s.Register(g, g.Group("/editors-only"))
	api := httptest.NewServer(e)
	t.Cleanup(api.Close)
	env.api = api.URL + "/api/v1"
	return &testEnv{s: s, js: js, sink: sink, url: srv.URL, log: hist, logs: logs}
}

// Device tokens of the tests: an FCM registration token and an APNs
// device token, distinct for each n.
func androidToken(n int) string {
	return fmt.Sprintf("d%04d:APA91b", n) + strings.Repeat("Ab3_-", 30)
}

func iosToken(n int) string { return fmt.Sprintf("%08x", n) + strings.Repeat("0a1b2c3d", 7) }

// device stores a device matching everything, as POST /api/v1/devices
// would.
func (env *appEnv) device(t *testing.T, platform, token string) *Subscription {
	t.Helper()
	return env.store(t, Subscription{ID: DeviceID(platform, token), Platform: platform, Token: token})
}

func deviceBody(platform, token, filter string) string {
	return fmt.Sprintf(`{"platform":%q,"token":%q,"filter":%s}`, platform, token, filter)
}

// TestDevicesBadInput: each bad registration is a 400 naming its field,
// and nothing is stored.
func TestDevicesBadInput(t *testing.T) {
	env := newAppEnv(t, appOptions{})
	for _, tc := range []struct {
		name, body, field, code string
		status                  int
	}{
		{"no platform", `{"token":"` + iosToken(1) + `"}`, "platform", "invalid_platform", 400},
		{"unknown platform", deviceBody("windows", iosToken(1), `{}`), "platform", "invalid_platform", 400},
		{"web is not a device", deviceBody("web", iosToken(1), `{}`), "platform", "invalid_platform", 400},
		{"ios token missing", deviceBody("ios", "", `{}`), "token", "invalid_token", 400},
		{"ios token short", deviceBody("ios", strings.Repeat("ab", 31), `{}`), "token", "invalid_token", 400},
		{"ios token long", deviceBody("ios", strings.Repeat("ab", 101), `{}`), "token", "invalid_token", 400},
		{"ios token not hex", deviceBody("ios", strings.Repeat("zz", 32), `{}`), "token", "invalid_token", 400},
		{"android token short", deviceBody("android", strings.Repeat("a", 99), `{}`), "token", "invalid_token", 400},
		{"android token long", deviceBody("android", strings.Repeat("a", 4097), `{}`), "token", "invalid_token", 400},
		{"android token bad character", deviceBody("android", strings.Repeat("a", 120)+"/", `{}`), "token", "invalid_token", 400},
		{"unknown region", deviceBody("android", androidToken(1), `{"regions":["atlantis"]}`), "filter.regions", "unknown_region", 400},
		{"unknown lang", deviceBody("ios", iosToken(1), `{"langs":["xx"]}`), "filter.langs", "unknown_lang", 400},
		{"not JSON", `{"platform":`, "", "malformed_json", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ans := callJSON(t, "POST", env.api+"/devices", tc.body)
			if status != tc.status || ans.Code != tc.code || ans.Field != tc.field {
				t.Fatalf("%d %+v; want %d %s on %q", status, ans, tc.status, tc.code, tc.field)
			}
			if n := env.s.Subscriptions(); n != 0 {
				t.Fatalf("%d records in the index", n)
			}
			keys, err := env.s.subs.ListKeys(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for k := range keys.Keys() {
				t.Fatalf("stored %s", k)
			}
		})
	}
	// DELETE checks the same way.
	if status, ans := callJSON(t, "DELETE", env.api+"/devices", `{"platform":"ios","token":"12"}`); status != 400 || ans.Field != "token" {
		t.Fatalf("DELETE bad token: %d %+v", status, ans)
	}
}

type apiErr struct {
	Code  string `json:"code"`
	Field string `json:"field"`
}

// callJSON sends a JSON body and returns the status and the error, if any.
func callJSON(t *testing.T, method, url, body string) (int, apiErr) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct {
		Error apiErr `json:"error"`
		ID    string `json:"id"`
	}
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &ans)
	if ans.ID != "" {
		ans.Error.Code = "id:" + ans.ID
	}
	return res.StatusCode, ans.Error
}

// TestDevicesRegisterReplaceDelete: a new token is 201, the same platform
// and token again 200 with the same id and the new filter (an iOS token
// in upper case is the same device), DELETE 204 then 404.
func TestDevicesRegisterReplaceDelete(t *testing.T) {
	env := newAppEnv(t, appOptions{})
	tok := iosToken(7)
	status, ans := callJSON(t, "POST", env.api+"/devices", deviceBody("ios", tok, `{"regions":["mena"]}`))
	id := DeviceID("ios", tok)
	if status != 201 || ans.Code != "id:"+id {
		t.Fatalf("register: %d %+v", status, ans)
	}
	status, ans = callJSON(t, "POST", env.api+"/devices", deviceBody("ios", strings.ToUpper(tok), `{"regions":["europe"]}`))
	if status != 200 || ans.Code != "id:"+id {
		t.Fatalf("register again: %d %+v", status, ans)
	}
	sub, ok := env.s.index.get(id)
	if !ok || sub.Token != tok || len(sub.Filter.Regions) != 1 || sub.Filter.Regions[0] != "europe" || sub.host != hostAPNs {
		t.Fatalf("stored %+v", sub)
	}
	if status, ans := callJSON(t, "POST", env.api+"/devices", deviceBody("android", androidToken(1), `{}`)); status != 201 {
		t.Fatalf("android: %d %+v", status, ans)
	}
	if got := env.s.statsFor("", 10).Platforms; got["ios"] != 1 || got["android"] != 1 || got["web"] != 0 {
		t.Fatalf("stats platforms %v", got)
	}
	del := fmt.Sprintf(`{"platform":"ios","token":%q}`, tok)
	if status, _ := callJSON(t, "DELETE", env.api+"/devices", del); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if status, ans := callJSON(t, "DELETE", env.api+"/devices", del); status != 404 || ans.Code != "not_found" {
		t.Fatalf("delete again: %d %+v", status, ans)
	}
	if _, ok := env.s.index.get(id); ok {
		t.Fatal("deleted device still in the index")
	}
}

// TestDevicesPlatformDisabled: a platform without its provider answers 503
// platform_disabled and stores nothing.
func TestDevicesPlatformDisabled(t *testing.T) {
	env := newAppEnv(t, appOptions{noFCM: true})
	status, ans := callJSON(t, "POST", env.api+"/devices", deviceBody("android", androidToken(1), `{}`))
	if status != 503 || ans.Code != "platform_disabled" || ans.Field != "platform" {
		t.Fatalf("%d %+v", status, ans)
	}
	if env.s.Subscriptions() != 0 || env.s.Enabled(PlatformAndroid) || !env.s.Enabled(PlatformIOS) {
		t.Fatal("stored, or wrong platforms enabled")
	}
}

// TestDevicesShareTheCreationLimit: web subscriptions and devices count
// against one limit per address; replacing an existing device does not.
func TestDevicesShareTheCreationLimit(t *testing.T) {
	env := newAppEnv(t, appOptions{opts: Options{SubscribePerHour: 2}})
	ps, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := call(t, "POST", env.api+"/push/subscriptions", "application/json", subscribeBody(ps.Endpoint, ps.Keys.P256dh, ps.Keys.Auth, `{}`)); status != 201 {
		t.Fatalf("web subscribe: %d", status)
	}
	if status, _ := callJSON(t, "POST", env.api+"/devices", deviceBody("ios", iosToken(1), `{}`)); status != 201 {
		t.Fatalf("first device: %d", status)
	}
	if status, ans := callJSON(t, "POST", env.api+"/devices", deviceBody("android", androidToken(1), `{}`)); status != 429 || ans.Code != "too_many_subscriptions" {
		t.Fatalf("third creation: %d %+v", status, ans)
	}
	if status, _ := callJSON(t, "POST", env.api+"/devices", deviceBody("ios", iosToken(1), `{"langs":["en"]}`)); status != 200 {
		t.Fatalf("replacement: %d", status)
	}
}

// TestAlertReachesEveryPlatformOnce: one alert reaches a web subscription,
// an Android and an iOS device exactly once each, with the message of each
// protocol; its correction replaces it (same FCM tag and collapse key, same
// APNs collapse id) and its retraction tells the apps to remove it.
func TestAlertReachesEveryPlatformOnce(t *testing.T) {
	env := newAppEnv(t, appOptions{partitions: 4})
	ps, _ := env.subscribe(t)
	at, it := androidToken(1), iosToken(1)
	env.device(t, PlatformAndroid, at)
	env.device(t, PlatformIOS, it)
	e := env.post("Earthquake hits the coast", news.PriorityFlash)
	id := e.Event.Item.ID
	if n := env.s.Audience(&e.Event.Item, PlatformAndroid) + env.s.Audience(&e.Event.Item, PlatformIOS)*10 + env.s.Audience(&e.Event.Item, PlatformWeb)*100; n != 111 {
		t.Fatalf("audience web*100+ios*10+android = %d, want 111", n)
	}
	sum := func(ps []progress) (n int, plat map[string]int) {
		plat = map[string]int{}
		for _, p := range ps {
			n += p.Sent
			for k, c := range p.Platforms {
				plat[k] += c.Sent
			}
		}
		return n, plat
	}
	if n, plat := sum(env.deliverAll(t, e)); n != 3 || plat["web"] != 1 || plat["android"] != 1 || plat["ios"] != 1 {
		t.Fatalf("sent %d %v", n, plat)
	}
	if n := len(env.sink.Messages(ps.ID())); n != 1 {
		t.Fatalf("web got %d", n)
	}
	fm := env.fcm.MessagesTo(at)
	if len(fm) != 1 {
		t.Fatalf("android got %d", len(fm))
	}
	if m := fm[0]; m.Notification == nil || m.Notification.Title != "FLASH" || m.Notification.Body != "Earthquake hits the coast" ||
		m.Android.CollapseKey != id || m.Android.Priority != "HIGH" || m.Android.Notification == nil ||
		m.Android.Notification.Tag != id || m.Android.Notification.ChannelID != "newsflash_flash" || m.Data["type"] != "item" || m.Data["id"] != id {
		t.Fatalf("android message %+v", m)
	}
	an := notesTo(env.apns, it)
	if len(an) != 1 {
		t.Fatalf("ios got %d", len(an))
	}
	if n := an[0]; n.Header.Get("apns-collapse-id") != id || n.Header.Get("apns-priority") != "10" || n.Header.Get("apns-push-type") != "alert" ||
		n.Payload.APS.Alert == nil || n.Payload.APS.Alert.Title != "FLASH" || n.Payload.Newsflash.Type != "item" {
		t.Fatalf("ios notification %v %s", n.Header, n.Body)
	}

	c := env.next(e, news.EventUpdate, func(it *news.Item) { it.Text = "Earthquake hits the coast, magnitude 6" })
	if n, _ := sum(env.deliverAll(t, c)); n != 3 {
		t.Fatalf("correction sent %d", n)
	}
	fm = env.fcm.MessagesTo(at)
	if m := fm[len(fm)-1]; len(fm) != 2 || m.Data["type"] != "update" || m.Android.CollapseKey != id || m.Android.Notification.Tag != id {
		t.Fatalf("android correction %+v", fm)
	}
	an = notesTo(env.apns, it)
	if n := an[len(an)-1]; len(an) != 2 || n.Header.Get("apns-collapse-id") != id || n.Payload.Newsflash.Type != "update" {
		t.Fatalf("ios correction %d %v", len(an), n.Header)
	}

	r := env.next(c, news.EventRetract, func(it *news.Item) { it.Status = news.StatusRetracted })
	if n, _ := sum(env.deliverAll(t, r)); n != 3 {
		t.Fatalf("retraction sent %d", n)
	}
	fm = env.fcm.MessagesTo(at)
	if m := fm[len(fm)-1]; len(fm) != 3 || m.Notification != nil || m.Data["type"] != "retract" || m.Data["id"] != id || m.Android.Priority != "HIGH" {
		t.Fatalf("android retraction %+v", fm[len(fm)-1])
	}
	an = notesTo(env.apns, it)
	if n := an[len(an)-1]; len(an) != 3 || n.Header.Get("apns-push-type") != "background" || n.Header.Get("apns-priority") != "5" ||
		n.Payload.APS.ContentAvailable == nil || *n.Payload.APS.ContentAvailable != 1 || n.Payload.Newsflash.Type != "retract" || n.Payload.Newsflash.ID != id {
		t.Fatalf("ios retraction %v %s", n.Header, n.Body)
	}
}

func notesTo(s *apnstest.Server, token string) []apnstest.Notification {
	var out []apnstest.Notification
	for _, n := range s.Notifications() {
		if n.DeviceToken == token {
			out = append(out, n)
		}
	}
	return out
}

// TestDeviceAnswers: each provider's dead-token answers remove the device
// (bucket and index); 429 and 5xx are retried and then sent; a refusal
// that is not about the token counts, and removes the device after
// maxFailures alerts in a row.
func TestDeviceAnswers(t *testing.T) {
	env := newAppEnv(t, appOptions{partitions: 2})
	type dev struct {
		platform, token string
		script          func()
		want            string // removed, sent, failed
	}
	var devs []dev
	add := func(platform, token, want string, script func(string)) {
		devs = append(devs, dev{platform, token, func() { script(token) }, want})
	}
	n := 0
	next := func() int { n++; return n }
	add(PlatformAndroid, androidToken(next()), "removed", func(tok string) { env.fcm.Always(tok, fcmtest.Unregistered()) })
	add(PlatformAndroid, androidToken(next()), "removed", func(tok string) { env.fcm.Always(tok, fcmtest.SenderIDMismatch()) })
	add(PlatformAndroid, androidToken(next()), "removed", func(tok string) { env.fcm.Always(tok, fcmtest.InvalidTokenField()) })
	add(PlatformAndroid, androidToken(next()), "sent", func(tok string) { env.fcm.FailNext(tok, fcmtest.QuotaExceeded("1")) })
	add(PlatformAndroid, androidToken(next()), "sent", func(tok string) { env.fcm.FailNext(tok, fcmtest.Unavailable(""), fcmtest.Internal()) })
	add(PlatformIOS, iosToken(next()), "removed", func(tok string) { env.apns.Always(tok, 410, "Unregistered") })
	add(PlatformIOS, iosToken(next()), "removed", func(tok string) { env.apns.Always(tok, 400, "BadDeviceToken") })
	add(PlatformIOS, iosToken(next()), "removed", func(tok string) { env.apns.Always(tok, 400, "DeviceTokenNotForTopic") })
	add(PlatformIOS, iosToken(next()), "sent", func(tok string) { env.apns.FailNext(tok, 429, "TooManyRequests") })
	add(PlatformIOS, iosToken(next()), "sent", func(tok string) { env.apns.FailNext(tok, 503, "ServiceUnavailable") })
	// FCM refusing our credentials is not the device's fault: it fails,
	// and is never removed for it.
	add(PlatformAndroid, androidToken(next()), "kept", func(tok string) { env.fcm.Always(tok, fcmtest.Unauthenticated()) })
	add(PlatformIOS, iosToken(next()), "failed", func(tok string) { env.apns.Always(tok, 400, "BadTopic") })
	for _, d := range devs {
		env.device(t, d.platform, d.token)
		d.script()
	}
	e := env.post("Answers", news.PriorityUrgent)
	var sent, removed, failed int
	for _, p := range env.deliverAll(t, e) {
		sent, removed, failed = sent+p.Sent, removed+p.Removed, failed+p.Failed
	}
	if sent != 4 || removed != 6 || failed != 2 {
		t.Fatalf("sent %d removed %d failed %d; want 4, 6, 2", sent, removed, failed)
	}
	for _, d := range devs {
		_, inIndex := env.s.index.get(DeviceID(d.platform, d.token))
		_, err := env.s.subs.Get(t.Context(), DeviceID(d.platform, d.token))
		if gone := !inIndex && err != nil; gone != (d.want == "removed") {
			t.Errorf("%s %s…: removed %v, want %s", d.platform, d.token[:8], gone, d.want)
		}
		if d.want == "sent" {
			var got int
			if d.platform == PlatformAndroid {
				got = len(env.fcm.MessagesTo(d.token))
			} else {
				got = len(notesTo(env.apns, d.token))
			}
			if got != 1 {
				t.Errorf("%s %s…: %d accepted after retries, want 1", d.platform, d.token[:8], got)
			}
		}
	}
	// The refused one goes after maxFailures alerts in a row.
	bad := DeviceID(PlatformIOS, devs[len(devs)-1].token)
	for i := 1; i < maxFailures; i++ {
		if _, ok := env.s.index.get(bad); !ok {
			t.Fatalf("removed after %d failures", i)
		}
		env.deliverAll(t, env.post(fmt.Sprintf("Answers %d", i), news.PriorityUrgent))
	}
	if _, ok := env.s.index.get(bad); ok {
		t.Fatalf("still there after %d failures", maxFailures)
	}
	if _, ok := env.s.index.get(DeviceID(PlatformAndroid, devs[len(devs)-2].token)); !ok {
		t.Fatalf("the device FCM answered 401 for was removed after %d alerts", maxFailures)
	}
}

// gate lets the first n requests through and then ends the job: the
// request that finds the gate shut cancels the job's context (as a crash
// would stop it) and fails.
type gate struct {
	next   http.RoundTripper
	n      int64
	seen   *atomic.Int64
	cancel func()
}

func (g gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if g.seen.Add(1) > g.n {
		g.cancel()
		return nil, context.Canceled
	}
	return g.next.RoundTrip(r)
}

// TestDeviceJobResumesAfterStop: a job stopped part-way through (its
// instance gone) is finished by another instance from its progress record:
// every web subscription and device gets the alert, and only the sends in
// flight when it stopped can be made twice.
func TestDeviceJobResumesAfterStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int64
	shut := func(rt http.RoundTripper) http.RoundTripper {
		return gate{next: rt, n: 60, seen: &seen, cancel: cancel}
	}
	const concurrency = 2
	opts := Options{FCMConcurrency: concurrency, APNsConcurrency: concurrency, CheckpointInterval: -1}
	env := newAppEnv(t, appOptions{fcmGate: shut, apnsGate: shut, opts: opts})
	const perPlatform = 60
	var webSubs []pushsink.Subscription
	for i := range perPlatform {
		env.device(t, PlatformAndroid, androidToken(i))
		env.device(t, PlatformIOS, iosToken(i))
		if i < 10 {
			ps, _ := env.subscribe(t)
			webSubs = append(webSubs, ps)
		}
	}
	e := env.post("Resume me", news.PriorityBreaking)
	j := job{Seq: e.Event.Seq, Item: e.Event.Item.ID}
	done, err := env.s.deliver(ctx, j)
	if err != nil || done {
		t.Fatalf("first instance: done %v, err %v; want stopped part-way", done, err)
	}
	first := env.fcm.Accepted() + env.apns.Accepted()
	if first == 0 || first >= 2*perPlatform {
		t.Fatalf("%d sends before the stop; want some, not all", first)
	}
	// Another instance on the same JetStream finishes the job.
	other := env.service(t, env.js, env.log, appOptions{opts: opts})
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	go func() { _ = other.s.watchSubscriptions(rctx) }()
	select {
	case <-other.s.Ready():
	case <-rctx.Done():
		t.Fatal("second instance did not load the subscriptions")
	}
	if done, err := other.s.deliver(rctx, j); err != nil || !done {
		t.Fatalf("second instance: done %v, err %v", done, err)
	}
	for i := range perPlatform {
		a, n := len(env.fcm.MessagesTo(androidToken(i))), len(notesTo(env.apns, iosToken(i)))
		if a < 1 || n < 1 {
			t.Fatalf("device %d lost: android %d, ios %d", i, a, n)
		}
	}
	for _, ps := range webSubs {
		if n := len(env.sink.Messages(ps.ID())); n != 1 {
			t.Fatalf("web subscription got %d", n)
		}
	}
	// At most the sends in flight at the stop are repeated: the slots of
	// each provider.
	if extra := env.fcm.Accepted() + env.apns.Accepted() - 2*perPlatform; extra < 0 || extra > 2*concurrency {
		t.Fatalf("%d sends repeated, at most %d may be", extra, 2*concurrency)
	}
}

// TestDeviceTestNotification: a dry run's test notification goes to a
// device by its id, through its provider, apart from the item's own
// notification (collapse key test-<id>).
func TestDeviceTestNotification(t *testing.T) {
	env := newAppEnv(t, appOptions{})
	at, it := androidToken(3), iosToken(3)
	env.device(t, PlatformAndroid, at)
	env.device(t, PlatformIOS, it)
	item := env.post("Dry run", news.PriorityUrgent).Event.Item
	if err := env.s.SendTest(t.Context(), PlatformAndroid, DeviceID(PlatformAndroid, at), item); err != nil {
		t.Fatal(err)
	}
	if err := env.s.SendTest(t.Context(), PlatformIOS, DeviceID(PlatformIOS, it), item); err != nil {
		t.Fatal(err)
	}
	if err := env.s.SendTest(t.Context(), PlatformWeb, DeviceID(PlatformIOS, it), item); !errors.Is(err, ErrUnknownSubscription) {
		t.Fatalf("a device id as a web subscription: %v", err)
	}
	if fm := env.fcm.MessagesTo(at); len(fm) != 1 || fm[0].Android.CollapseKey != "test-"+item.ID {
		t.Fatalf("android test %+v", fm)
	}
	if an := notesTo(env.apns, it); len(an) != 1 || an[0].Header.Get("apns-collapse-id") != "test-"+item.ID {
		t.Fatalf("ios test %d", len(an))
	}
	env.fcm.Always(at, fcmtest.Unregistered())
	var nd *NotDeliveredError
	if err := env.s.SendTest(t.Context(), PlatformAndroid, DeviceID(PlatformAndroid, at), item); !asNotDelivered(err, &nd) || nd.Status != 404 {
		t.Fatalf("refused test: %v", err)
	}
	if _, ok := env.s.index.get(DeviceID(PlatformAndroid, at)); !ok {
		t.Fatal("a refused test removed the device")
	}
}

func asNotDelivered(err error, nd **NotDeliveredError) bool { return errors.As(err, nd) }
