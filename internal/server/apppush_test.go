package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
	"newsflash/internal/push"
	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// appEnv is an instance with Web Push (a real push service that decrypts
// and checks VAPID) and both app platforms (the FCM and APNs stand-ins,
// which check every header and field of what they accept) on.
type appEnv struct {
	in   *instance
	web  *pushEnv
	fcm  *fcmtest.Server
	apns *apnstest.Server
}

func newAppEnv(t *testing.T) *appEnv { t.Helper(); return newAppEnvWith(t, nil) }

// newAppEnvWith is newAppEnv with more dependencies set by deps.
func newAppEnvWith(t *testing.T, deps func(*server.Deps)) *appEnv {
	t.Helper()
	e := &appEnv{web: newPushEnv(t), fcm: fcmtest.New(fcmtest.Options{}), apns: apnstest.New(t)}
	t.Cleanup(e.fcm.Close)
	e.in = start(t, options{mutate: func(c *server.Options) {
		withPush(e.web)(c)
		c.FCM = fcm.Options{Endpoint: e.fcm.URL(), Credentials: e.fcm.Credentials()}
		c.APNs = apns.Options{Endpoint: e.apns.URL, Key: e.apns.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
	}, deps: func(d *server.Deps) {
		d.FCMClient, d.APNsClient = e.fcm.Client(), e.apns.Client()
		if deps != nil {
			deps(d)
		}
	}})
	return e
}

// device registers an app's device through the public API.
func (e *appEnv) device(t *testing.T, platform, token, filter string) {
	t.Helper()
	status, _, b := e.in.do("POST", "/api/v1/devices", `{"platform":"`+platform+`","token":"`+token+`","filter":`+filter+`}`, map[string]string{"Authorization": ""})
	if status != 201 {
		t.Fatalf("register %s device: %d %s", platform, status, b)
	}
}

// received is what each receiver got so far, as "type:id" in order.
func (e *appEnv) received(t *testing.T, web pushsink.Subscription, androidTok, iosTok string) (w, a, i []string) {
	t.Helper()
	ps, _ := messages(t, e.web, web)
	for _, p := range ps {
		w = append(w, p.Type+":"+p.Item.ID)
	}
	for _, m := range e.fcm.MessagesTo(androidTok) {
		a = append(a, m.Data["type"]+":"+m.Data["id"])
	}
	for _, n := range notesTo(e.apns, iosTok) {
		if n.Payload.Newsflash != nil {
			i = append(i, n.Payload.Newsflash.Type+":"+n.Payload.Newsflash.ID)
		}
	}
	return w, a, i
}

// notesTo are the notifications the APNs stand-in accepted for a device.
func notesTo(s *apnstest.Server, token string) []apnstest.Notification {
	var out []apnstest.Notification
	for _, n := range s.Notifications() {
		if n.DeviceToken == token {
			out = append(out, n)
		}
	}
	return out
}

// TestAlertReachesWebAndroidAndIOS: one alert posted through the API
// reaches a web subscription, an Android and an iOS device exactly once
// each, with each protocol's fields; its correction replaces it (same Web
// Push Topic, FCM tag and collapse key, APNs collapse id); its retraction
// reaches all three; a ticker-only item reaches none.
func TestAlertReachesWebAndroidAndIOS(t *testing.T) {
	e := newAppEnv(t)
	in := e.in
	webSub := in.subscribe(e.web, `{"regions":["mena"]}`)
	at, it := "cT0k:APA91b"+strings.Repeat("Ab3_-", 30), strings.Repeat("0a1b2c3d", 8)
	e.device(t, "android", at, `{"regions":["mena"]}`)
	e.device(t, "ios", it, `{"langs":["en"]}`)

	// Every receiver's record, once it holds want (a list of "type:id").
	settle := func(what string, want ...string) {
		t.Helper()
		w := strings.Join(want, ",")
		var gw, ga, gi []string
		for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
			gw, ga, gi = e.received(t, webSub, at, it)
			if len(gw) >= len(want) && len(ga) >= len(want) && len(gi) >= len(want) || time.Now().After(deadline) {
				break
			}
		}
		for _, c := range []struct {
			platform string
			got      []string
		}{{"web", gw}, {"android", ga}, {"ios", gi}} {
			if g := strings.Join(c.got, ","); g != w {
				t.Fatalf("%s: %s: got %s, want %s", what, c.platform, g, w)
			}
		}
	}

	// A ticker-only item first: it must reach no one (checked once the
	// alert after it has arrived everywhere, in stream order).
	ticker := in.post(item("Markets open higher", "en", []string{"mena"}, nil))
	text := "Earthquake of magnitude 6 hits the coast"
	a := in.post(`{"alert":true,"text":"` + text + `","lang":"en","regions":["mena"],"priority":"flash"}`)
	settle("the alert", "item:"+a.ID)

	// The fields of each protocol.
	_, raw := messages(t, e.web, webSub)
	ps, _ := messages(t, e.web, webSub)
	if raw[0].Topic != a.ID || raw[0].Urgency != "high" || ps[0].Seq != a.Seq || ps[0].Item.Text != text || ps[0].Item.Priority != news.PriorityFlash {
		t.Errorf("web push: topic %q urgency %q payload %+v", raw[0].Topic, raw[0].Urgency, ps[0])
	}
	title := push.Title("en", news.PriorityFlash)
	m := e.fcm.MessagesTo(at)[0]
	if m.Notification == nil || m.Notification.Title != title || m.Notification.Body != text ||
		m.Data["seq"] != strconv.FormatUint(a.Seq, 10) || m.Data["version"] != "1" || m.Data["lang"] != "en" || m.Data["priority"] != news.PriorityFlash ||
		m.Android.CollapseKey != a.ID || m.Android.Priority != "HIGH" || m.Android.TTL == "" ||
		m.Android.Notification == nil || m.Android.Notification.Tag != a.ID || m.Android.Notification.ChannelID != "newsflash_flash" {
		t.Errorf("android message %+v (notification %+v, android notification %+v)", m, m.Notification, m.Android.Notification)
	}
	n := notesTo(e.apns, it)[0]
	aps, nf := n.Payload.APS, n.Payload.Newsflash
	if n.Header.Get("apns-topic") != apnstest.Topic || n.Header.Get("apns-push-type") != "alert" || n.Header.Get("apns-priority") != "10" ||
		n.Header.Get("apns-collapse-id") != a.ID || n.Header.Get("apns-expiration") == "" ||
		aps.Alert == nil || aps.Alert.Title != title || aps.Alert.Body != text || aps.Sound == nil || *aps.Sound != "default" ||
		aps.InterruptionLevel == nil || *aps.InterruptionLevel != "time-sensitive" ||
		nf.Seq == nil || *nf.Seq != a.Seq || nf.Version == nil || *nf.Version != 1 || nf.Lang == nil || *nf.Lang != "en" {
		t.Errorf("ios notification %v %s", n.Header, n.Body)
	}

	// The correction replaces the notification on every platform.
	corrected := text + ", no tsunami warning"
	if status, _, b := in.do("PATCH", "/api/v1/items/"+a.ID, `{"text":"`+corrected+`"}`, nil); status != 200 {
		t.Fatalf("correct: %d %s", status, b)
	}
	settle("the correction", "item:"+a.ID, "update:"+a.ID)
	ps, raw = messages(t, e.web, webSub)
	if raw[1].Topic != a.ID || ps[1].Item.Text != corrected || ps[1].Item.Version != 2 {
		t.Errorf("web correction: topic %q payload %+v", raw[1].Topic, ps[1])
	}
	fm := e.fcm.MessagesTo(at)
	if m := fm[1]; m.Android.CollapseKey != a.ID || m.Android.Notification == nil || m.Android.Notification.Tag != a.ID ||
		m.Notification == nil || m.Notification.Body != corrected || m.Data["version"] != "2" {
		t.Errorf("android correction %+v", m)
	}
	an := notesTo(e.apns, it)
	if n := an[1]; n.Header.Get("apns-collapse-id") != a.ID || n.Payload.APS.Alert == nil || n.Payload.APS.Alert.Body != corrected {
		t.Errorf("ios correction %v %s", n.Header, n.Body)
	}

	// The retraction reaches all three.
	if status, _, b := in.do("DELETE", "/api/v1/items/"+a.ID, "", nil); status != 200 {
		t.Fatalf("retract: %d %s", status, b)
	}
	settle("the retraction", "item:"+a.ID, "update:"+a.ID, "retract:"+a.ID)
	ps, raw = messages(t, e.web, webSub)
	if raw[2].Topic != a.ID || ps[2].Item.Text != "" {
		t.Errorf("web retraction: topic %q payload %+v", raw[2].Topic, ps[2])
	}
	fm = e.fcm.MessagesTo(at)
	if m := fm[2]; m.Notification != nil || m.Android.Priority != "HIGH" || len(m.Data) != 2 {
		t.Errorf("android retraction %+v", m)
	}
	an = notesTo(e.apns, it)
	if n := an[2]; n.Header.Get("apns-push-type") != "background" || n.Header.Get("apns-priority") != "5" ||
		n.Payload.APS.Alert != nil || n.Payload.APS.ContentAvailable == nil || *n.Payload.APS.ContentAvailable != 1 {
		t.Errorf("ios retraction %v %s", n.Header, n.Body)
	}

	// The ticker item, posted before the alert, reached no one (settle
	// compared the whole records); nor do its own correction and
	// retraction, checked behind one more alert.
	if status, _, b := in.do("PATCH", "/api/v1/items/"+ticker.ID, `{"text":"Markets open sharply higher"}`, nil); status != 200 {
		t.Fatalf("correct the ticker item: %d %s", status, b)
	}
	end := in.post(alertItem("End of test", "en", []string{"mena"}, nil))
	settle("the last alert", "item:"+a.ID, "update:"+a.ID, "retract:"+a.ID, "item:"+end.ID)
}
