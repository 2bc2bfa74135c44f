package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// storedPrefs is a subscription's prefs as the push service keeps them (the
// contract's names).
type storedPrefs struct {
	MinPriority string `json:"min_priority"`
	QuietHours  *struct {
		From string `json:"from"`
		To   string `json:"to"`
		TZ   string `json:"tz"`
	} `json:"quiet_hours"`
	MaxPerHour int      `json:"max_per_hour"`
	Stories    []string `json:"stories"`
}

func (p storedPrefs) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// subscriptionPrefs reads the stored subscription of endpoint straight from
// its NATS KV bucket: what every instance would load, not what the page
// believes it sent.
func (in *instance) subscriptionPrefs(endpoint string) storedPrefs {
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
	var found []storedPrefs
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			in.t.Fatal(err)
		}
		var rec struct {
			Endpoint string      `json:"endpoint"`
			Prefs    storedPrefs `json:"prefs"`
		}
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			in.t.Fatalf("subscription %s: %v", k, err)
		}
		if rec.Endpoint == endpoint {
			found = append(found, rec.Prefs)
		}
	}
	if len(found) != 1 {
		in.t.Fatalf("%d stored subscriptions of %s, want 1", len(found), endpoint)
	}
	return found[0]
}

// fakePushManager stands in for the browser's push service, which a test
// machine cannot reach: pushManager.subscribe answers a subscription of our
// sink (remembered in localStorage across reloads, as a browser would).
// Everything else is real: the page, its service worker, the server.
const fakePushManager = `(() => {
	const SUB = %SUB%;
	const KEY = "test-push-subscribed";
	const sub = {
		endpoint: SUB.endpoint,
		options: { applicationServerKey: null },
		toJSON: () => SUB,
		unsubscribe: async () => { localStorage.removeItem(KEY); return true; },
	};
	PushManager.prototype.subscribe = async function () { localStorage.setItem(KEY, "1"); return sub; };
	PushManager.prototype.getSubscription = async function () { return localStorage.getItem(KEY) ? sub : null; };
})();`

// TestBrowserAlertSettingsRoundTrip: on the demo page a reader sets the
// alerts' priority, quiet hours (in the browser's zone) and hourly cap,
// saves, and the stored subscription has them; a reload shows them again;
// "Follow this story" adds the story to the stored prefs (and asks for alerts
// first while they are off); the API's error for a bad cap is shown next to
// the field, with nothing stored.
func TestBrowserAlertSettingsRoundTrip(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	sink, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	subJSON, _ := json.Marshal(sink)
	const slug = "war-on-gaza"
	in.mustAs(editorToken, "POST", "/api/v1/stories", `{"slug":"`+slug+`","title":{"en":"War on Gaza","ar":"الحرب على غزة"},"regions":[],"topics":[]}`, 201)

	ctx := newBrowser(t)
	sctx, cancel := within(ctx)
	defer cancel()
	if _, err := chromedp.CallBrowser(sctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"},
		Setting:    browser.PermissionSettingGranted,
		Origin:     in.base,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(sctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Beirut"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(sctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: strings.Replace(fakePushManager, "%SUB%", string(subJSON), 1),
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(in.base+"/"))
	poll(t, ctx, "alerts off", `document.querySelector('#nf-push-status').textContent.startsWith('Alerts are off')`)
	if tz := eval[string](t, ctx, `document.querySelector('#prefs-tz').textContent`); tz != "Asia/Beirut" {
		t.Errorf("the page shows the time zone %q, want the browser's Asia/Beirut", tz)
	}

	// The open story is listed, titled in the page's language; following it
	// with alerts off says to turn them on.
	follow := `document.querySelector('#story-list li[data-slug="` + slug + `"] button.follow')`
	poll(t, ctx, "the story listed", follow+` !== null`)
	if title := eval[string](t, ctx, `document.querySelector('#story-list li[data-slug="`+slug+`"] .story-title').textContent`); title != "War on Gaza" {
		t.Errorf("the story is listed as %q, want its English title", title)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`#story-list li[data-slug="`+slug+`"] button.follow`)))
	poll(t, ctx, "the alerts-off hint", `document.querySelector('#stories-status').textContent.startsWith('Alerts are off')`)

	// Alerts on, then the settings.
	run(t, ctx, chromedp.Click(chromedp.CSS("#nf-push-toggle")))
	poll(t, ctx, "alerts on", `document.querySelector('#nf-push-status').textContent.startsWith('Alerts are on')`)
	if p := in.subscriptionPrefs(sink.Endpoint); (p.MinPriority != "" && p.MinPriority != "breaking") || p.QuietHours != nil || p.MaxPerHour != 0 || len(p.Stories) != 0 {
		t.Errorf("turned on with the default settings, stored %v", p)
	}
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS("#prefs-min"), "urgent"),
		chromedp.Click(chromedp.CSS("#prefs-quiet")),
		chromedp.SetValue(chromedp.CSS("#prefs-from"), "23:00"),
		chromedp.SetValue(chromedp.CSS("#prefs-to"), "06:30"),
		chromedp.SetValue(chromedp.CSS("#prefs-cap"), "5"),
		chromedp.Click(chromedp.CSS("#prefs-save")),
	)
	poll(t, ctx, "settings saved", `document.querySelector('#nf-push-status').textContent.startsWith('Alert settings saved')`)
	want := func(p storedPrefs, stories ...string) bool {
		return p.MinPriority == "urgent" && p.QuietHours != nil && p.QuietHours.From == "23:00" && p.QuietHours.To == "06:30" &&
			p.QuietHours.TZ == "Asia/Beirut" && p.MaxPerHour == 5 && slices.Equal(p.Stories, stories)
	}
	if p := in.subscriptionPrefs(sink.Endpoint); !want(p) {
		t.Fatalf("stored prefs %v, want urgent, quiet 23:00–06:30 Asia/Beirut, at most 5 an hour", p)
	}

	// A reload shows them again (and posts the subscription with them).
	run(t, ctx, chromedp.Reload())
	poll(t, ctx, "alerts on after the reload", `document.querySelector('#nf-push-status').textContent.startsWith('Alerts are on')`)
	shown := eval[string](t, ctx, `JSON.stringify([document.querySelector('#prefs-min').value, document.querySelector('#prefs-quiet').checked,
		document.querySelector('#prefs-from').value, document.querySelector('#prefs-to').value, document.querySelector('#prefs-cap').value])`)
	if shown != `["urgent",true,"23:00","06:30","5"]` {
		t.Errorf("after a reload the settings show %s", shown)
	}

	// Follow the story.
	poll(t, ctx, "the story listed after the reload", follow+`?.textContent === 'Follow this story'`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`#story-list li[data-slug="`+slug+`"] button.follow`)))
	poll(t, ctx, "following", follow+`.textContent === 'Following' && `+follow+`.getAttribute('aria-pressed') === 'true'`)
	if p := in.subscriptionPrefs(sink.Endpoint); !want(p, slug) {
		t.Fatalf("after following, stored prefs %v, want stories [%s] beside the settings", p, slug)
	}

	// A cap of 61 typed past the field's own limit: the API's error, next
	// to the field; nothing stored, and the page keeps the saved settings.
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS("#prefs-cap"), "61"),
		chromedp.Click(chromedp.CSS("#prefs-save")),
	)
	capErr := `document.querySelector('[data-error-for="prefs.max_per_hour"]')`
	poll(t, ctx, "the cap's error", capErr+`.textContent.length > 0`)
	if visible := eval[bool](t, ctx, capErr+`.offsetParent !== null && `+capErr+`.closest('.field').querySelector('#prefs-cap') !== null`); !visible {
		t.Error("the cap's error is not shown beside the cap field")
	}
	if p := in.subscriptionPrefs(sink.Endpoint); !want(p, slug) {
		t.Fatalf("a refused cap changed the stored prefs: %v", p)
	}
	if kept := eval[string](t, ctx, `JSON.parse(localStorage.getItem('newsflash-alert-prefs')).max_per_hour + ''`); kept != "5" {
		t.Errorf("the page kept the refused cap: %s", kept)
	}

	// Unfollow.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#story-list li[data-slug="`+slug+`"] button.follow`)))
	poll(t, ctx, "not following", follow+`.textContent === 'Follow this story' && `+follow+`.getAttribute('aria-pressed') === 'false'`)
	if p := in.subscriptionPrefs(sink.Endpoint); len(p.Stories) != 0 || p.MaxPerHour != 5 {
		t.Fatalf("after unfollowing, stored prefs %v", p)
	}
}

// TestBrowserTickerStories: a ticker widget with data-stories shows only
// that story's items; the demo page's story link aims its ticker at the
// story and the embed code carries data-stories.
func TestBrowserTickerStories(t *testing.T) {
	in := start(t, options{})
	const slug = "war-on-gaza"
	in.mustAs(editorToken, "POST", "/api/v1/stories", `{"slug":"`+slug+`","title":{"en":"War on Gaza"},"regions":[],"topics":[]}`, 201)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(in.base+"/"))
	poll(t, ctx, "the story listed", `document.querySelector('#story-list li[data-slug="`+slug+`"] a.story-title') !== null`)
	waitLive(t, ctx)
	// A widget of its own, as a site embeds it.
	eval[bool](t, ctx, `(() => {
		const el = document.createElement('div');
		el.id = 'story-ticker';
		el.setAttribute('data-newsflash-ticker', '');
		el.setAttribute('data-stories', '`+slug+`');
		document.body.append(el);
		window.Newsflash.mount(el);
		return true;
	})()`)
	poll(t, ctx, "the story ticker live", `document.querySelector('#story-ticker').dataset.state === 'live'`)

	other := in.post(item("Elections called in Spain", "en", []string{"europe"}, nil))
	b, _ := json.Marshal(map[string]any{"text": "Gaza: aid convoy reaches the north", "lang": "en", "regions": []string{"mena"}, "story": slug})
	ours := in.post(string(b))
	if ours.Story != slug {
		t.Fatalf("the item's story is %q, want %s", ours.Story, slug)
	}
	line := `document.querySelector('#story-ticker .nf-item[data-item-id="` + ours.ID + `"] .nf-text')`
	poll(t, ctx, "the story's item", line+`?.textContent === 'Gaza: aid convoy reaches the north'`)
	// Posted before it: the other item would be there by now.
	if n := eval[int](t, ctx, `document.querySelectorAll('#story-ticker .nf-item').length`); n != 1 {
		t.Errorf("the story ticker shows %d lines, want only the story's one", n)
	}
	poll(t, ctx, "the other item on the page's own ticker", `document.querySelector('`+itemSel(other.ID)+`') !== null`)

	// The story's link: the page's ticker shows the story, and so does the
	// embed code.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#story-list li[data-slug="`+slug+`"] a.story-title`)))
	poll(t, ctx, "the page's ticker on the story", `document.querySelector('#ticker').getAttribute('data-stories') === '`+slug+`'`)
	waitLive(t, ctx)
	poll(t, ctx, "the story's item on the page's ticker", `document.querySelector('`+itemSel(ours.ID)+`') !== null`)
	if n := eval[int](t, ctx, `document.querySelectorAll('#ticker .nf-item').length`); n != 1 {
		t.Errorf("the page's ticker on the story shows %d lines, want 1", n)
	}
	if code := eval[string](t, ctx, `document.querySelector('#embed-code').textContent`); !strings.Contains(code, `data-stories="`+slug+`"`) {
		t.Errorf("the embed code %q does not carry the story", code)
	}
	if checked := eval[bool](t, ctx, `document.querySelector('#ticker-form input[name="ticker-story"][value="`+slug+`"]')?.checked === true`); !checked {
		t.Error("the ticker's story picker does not show the story chosen")
	}
}
