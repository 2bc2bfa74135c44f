package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// skipOrFail skips a test that needs an outside program, unless
// NEWSFLASH_E2E=1 says everything must be there.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("NEWSFLASH_E2E") == "1" {
		t.Fatal(reason + " (NEWSFLASH_E2E=1: required)")
	}
	t.Skip(reason)
}

// chromiumPath finds Debian's chromium (or $NEWSFLASH_CHROMIUM).
func chromiumPath() string {
	if p := os.Getenv("NEWSFLASH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium with a fresh profile; the returned
// context is its first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	path := chromiumPath()
	if path == "" {
		skipOrFail(t, "chromium is not installed (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// within bounds one browser step (never an assertion about speed).
func within(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, wait)
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := within(ctx)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	sctx, cancel := within(ctx)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// poll waits until the JavaScript expression is truthy.
func poll(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	if err := pollErr(ctx, js); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, js, err)
	}
}

// pollErr is poll for callers that say more when it times out.
func pollErr(ctx context.Context, js string) error {
	sctx, cancel := within(ctx)
	defer cancel()
	_, err := chromedp.Run(sctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(25*time.Millisecond)))
	return err
}

// screenshot saves a picture into $NEWSFLASH_SCREENSHOTS (docs/ when
// refreshing the README's pictures); without it, nothing is written.
func screenshot(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	dir := os.Getenv("NEWSFLASH_SCREENSHOTS")
	if dir == "" {
		return
	}
	sctx, cancel := within(ctx)
	defer cancel()
	var png []byte
	var err error
	if sel == "" {
		png, err = chromedp.Run(sctx, chromedp.CaptureScreenshot())
	} else {
		png, err = chromedp.Run(sctx, chromedp.Screenshot(chromedp.CSS(sel)))
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

type shownNotification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Tag   string `json:"tag"`
	Dir   string `json:"dir"`
	Lang  string `json:"lang"`
}

// TestBrowserServiceWorkerNotifications registers /sw.js, delivers push
// messages through the DevTools protocol as a push service would, and reads
// back the notifications it shows.
func TestBrowserServiceWorkerNotifications(t *testing.T) {
	in := start(t, options{mutate: withPush()})
	ctx := newBrowser(t)
	regID := registerServiceWorker(t, ctx, in)
	deliver := func(payload string) {
		t.Helper()
		dctx, cancel := within(ctx)
		defer cancel()
		if _, err := chromedp.Call(dctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
			Origin: in.base, RegistrationID: regID, Data: payload,
		}); err != nil {
			t.Fatalf("deliver push: %v", err)
		}
	}
	notifications := func() []shownNotification {
		t.Helper()
		raw := eval[string](t, ctx, `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => JSON.stringify(ns.map(n => ({title: n.title, body: n.body, tag: n.tag, dir: n.dir, lang: n.lang}))))`)
		var out []shownNotification
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	const count = `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.length === %d)`
	waitCount := func(n int) {
		t.Helper()
		js := strings.Replace(count, "%d", itoa(uint64(n)), 1)
		if err := pollErr(ctx, js); err != nil {
			// Say what the browser shows and how its service worker is,
			// so that a failure tells more than a timeout.
			state := eval[string](t, ctx, `navigator.serviceWorker.getRegistration('/').then(r => r ? JSON.stringify({active: r.active && r.active.state, waiting: !!r.waiting, installing: !!r.installing}) : 'no registration')`)
			t.Fatalf("waiting for %d notifications: %v; shown: %+v; service worker: %s", n, err, notifications(), state)
		}
	}

	// The first push goes to a worker that may still be starting: delivered
	// again until shown, as a push service would.
	deliverUntil(t, ctx, in, regID, `{"type":"item","seq":7,"item":{"id":"aaaaaaaaaaaaaaaaaaaa","version":1,"text":"Flash: strike reported","lang":"en","regions":["mena"],"priority":"flash","url":"https://news.example/1"}}`,
		"the first notification", strings.Replace(count, "%d", "1", 1))
	waitCount(1)
	deliver(`{"type":"item","seq":8,"item":{"id":"bbbbbbbbbbbbbbbbbbbb","version":1,"text":"عاجل: اجتماع طارئ لمجلس الأمن","lang":"ar","regions":["mena"],"priority":"breaking"}}`)
	waitCount(2)
	got := map[string]shownNotification{}
	for _, n := range notifications() {
		got[n.Tag] = n
	}
	if n := got["aaaaaaaaaaaaaaaaaaaa"]; n.Title != "FLASH" || n.Body != "Flash: strike reported" {
		t.Errorf("flash notification %+v", n)
	}
	if n := got["bbbbbbbbbbbbbbbbbbbb"]; n.Title != "خبر عاجل" || n.Body != "عاجل: اجتماع طارئ لمجلس الأمن" || n.Dir != "rtl" || n.Lang != "ar" {
		t.Errorf("arabic notification %+v", n)
	}
	// A correction replaces the notification with the same tag.
	deliver(`{"type":"update","seq":9,"item":{"id":"aaaaaaaaaaaaaaaaaaaa","version":2,"text":"Flash: strike confirmed","lang":"en","regions":["mena"],"priority":"urgent"}}`)
	poll(t, ctx, "the corrected notification", `navigator.serviceWorker.ready.then(r => r.getNotifications({tag: 'aaaaaaaaaaaaaaaaaaaa'})).then(ns => ns.length === 1 && ns[0].body === 'Flash: strike confirmed' && ns[0].title === 'URGENT')`)
	waitCount(2)
	// A retraction closes it.
	deliver(`{"type":"retract","seq":10,"item":{"id":"aaaaaaaaaaaaaaaaaaaa","version":3}}`)
	waitCount(1)
	if ns := notifications(); len(ns) != 1 || ns[0].Tag != "bbbbbbbbbbbbbbbbbbbb" {
		t.Fatalf("after the retraction: %+v", ns)
	}
	// A test notification (a dry run's test_to) of the item on screen, same
	// version: shown beside it under its own tag, its title marked TEST.
	deliver(`{"type":"item","seq":0,"test":true,"item":{"id":"bbbbbbbbbbbbbbbbbbbb","version":1,"text":"عاجل: اجتماع طارئ لمجلس الأمن","lang":"ar","regions":["mena"],"priority":"breaking"}}`)
	waitCount(2)
	got = map[string]shownNotification{}
	for _, n := range notifications() {
		got[n.Tag] = n
	}
	if n := got["test-bbbbbbbbbbbbbbbbbbbb"]; n.Title != "TEST · خبر عاجل" || n.Body != "عاجل: اجتماع طارئ لمجلس الأمن" {
		t.Errorf("test notification %+v (shown: %+v)", n, got)
	}
	if n := got["bbbbbbbbbbbbbbbbbbbb"]; n.Title != "خبر عاجل" {
		t.Errorf("the real notification beside the test: %+v", n)
	}

	// Loudness by priority (docs/push.md), as the browser shows it: flash
	// stays until the reader acts and makes a sound, urgent makes a sound,
	// breaking is silent.
	loud := []struct {
		id, priority               string
		silent, requireInteraction bool
	}{
		{"cccccccccccccccccccc", "flash", false, true},
		{"dddddddddddddddddddd", "urgent", false, false},
		{"eeeeeeeeeeeeeeeeeeee", "breaking", true, false},
	}
	for i, l := range loud {
		deliver(`{"type":"item","seq":` + itoa(uint64(11+i)) + `,"item":{"id":"` + l.id + `","version":1,"text":"Loudness: ` + l.priority + `","lang":"en","regions":["mena"],"priority":"` + l.priority + `"}}`)
		waitCount(3 + i)
	}
	raw := eval[string](t, ctx, `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => JSON.stringify(ns.map(n => ({tag: n.tag, silent: n.silent, requireInteraction: n.requireInteraction}))))`)
	type loudness struct {
		Tag                string `json:"tag"`
		Silent             *bool  `json:"silent"`
		RequireInteraction *bool  `json:"requireInteraction"`
	}
	var shown []loudness
	if err := json.Unmarshal([]byte(raw), &shown); err != nil {
		t.Fatal(err)
	}
	for _, l := range loud {
		i := slices.IndexFunc(shown, func(n loudness) bool { return n.Tag == l.id })
		if i < 0 {
			t.Errorf("%s: not shown (%s)", l.priority, raw)
			continue
		}
		n := shown[i]
		if n.Silent == nil || *n.Silent != l.silent || n.RequireInteraction == nil || *n.RequireInteraction != l.requireInteraction {
			t.Errorf("%s notification: %s; want silent %v, requireInteraction %v", l.priority, raw, l.silent, l.requireInteraction)
		}
	}
}

// TestBrowserNewsroomConsole reads where the token is, signs in, posts
// through the form, sees the item in the live list, and sees a field error
// from the API.
func TestBrowserNewsroomConsole(t *testing.T) {
	in := start(t, options{mutate: withPush()})
	ctx := newBrowser(t)
	ws, _ := in.dialWS("backfill=0")
	// A reader's ticker, in a browser of its own (a background tab would be
	// throttled).
	tab := newBrowser(t)
	run(t, tab, chromedp.Navigate(in.base+"/?regions=mena"))
	poll(t, tab, "the ticker to be live", `document.querySelector('#ticker').dataset.state === 'live'`)
	run(t, ctx,
		chromedp.Navigate(in.base+"/newsroom"),
		chromedp.WaitVisible(chromedp.CSS("#nr-token")),
	)
	// The sign-in says where the first token is and how to make more.
	where := eval[string](t, ctx, `document.querySelector('#nr-token-where').textContent.replace(/\s+/g, ' ')`)
	for _, want := range []string{"DATA/editor-token", "./data/editor-token", "--data-dir", "newsflash token new NAME", "--editors"} {
		if !strings.Contains(where, want) {
			t.Errorf("the sign-in hint %q does not say %q", where, want)
		}
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#nr-token"), in.token),
		chromedp.Click(chromedp.CSS("#nr-signin")),
	)
	poll(t, ctx, "sign-in", `document.body.dataset.signedIn === "true" && document.body.dataset.role === "admin"`)
	if stored := eval[bool](t, ctx, `sessionStorage.length > 0 && localStorage.length === 0`); !stored {
		t.Error("the token must be kept in sessionStorage only")
	}
	poll(t, ctx, "taxonomy chips", `document.querySelector('#nr-compose input[name=regions][value=mena]') !== null`)
	text := "Console: ceasefire talks resume in Cairo"
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#nr-compose textarea[name=text]`), text),
		chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=mena]`)),
	)
	poll(t, ctx, "character count", `document.querySelector('#nr-count').textContent.trim().startsWith('`+itoa(uint64(len(text)))+`')`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-post")))
	f := ws.next()
	if f.Type != "item" || f.Item.Text != text || strings.Join(f.Item.Regions, ",") != "mena" {
		t.Fatalf("the reader got %+v", f)
	}
	poll(t, ctx, "the item in the live list", `document.querySelector('#nr-items li[data-item-id="`+f.Item.ID+`"]') !== null`)
	poll(t, tab, "the item in the ticker", `document.querySelector('`+itemSel(f.Item.ID)+` .nf-text')?.textContent === '`+text+`'`)
	screenshot(t, ctx, "", "newsroom.png")

	// A bad url comes back as an error next to the url field.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#nr-compose textarea[name=text]`), "Another line"),
		chromedp.SendKeys(chromedp.CSS(`#nr-compose input[name=url]`), "javascript:alert(1)"),
		chromedp.Click(chromedp.CSS("#nr-post")),
	)
	poll(t, ctx, "the url error", `(document.querySelector('[data-error-for=url]').textContent || '').length > 0`)
	if last, err := in.srv.Stream().LastSeq(context.Background()); err != nil || last != f.Seq {
		t.Fatalf("the refused post was stored: last seq %d (%v)", last, err)
	}

	// Retracted elsewhere: readers' retract frame has no text, and the
	// newsroom keeps showing what the item said, struck through.
	if status, _, b := in.do("DELETE", "/api/v1/items/"+f.Item.ID, "", nil); status != 200 {
		t.Fatalf("retract: %d %s", status, b)
	}
	if r := ws.next(); r.Type != "retract" || r.Item.Text != "" {
		t.Fatalf("the reader got %+v", r)
	}
	li := `document.querySelector('#nr-items li[data-item-id="` + f.Item.ID + `"]')`
	poll(t, ctx, "the item retracted in the live list", li+`?.dataset.status === 'retracted'`)
	if got := eval[string](t, ctx, li+`.querySelector('.nr-item-text').textContent`); got != text {
		t.Errorf("the newsroom shows the retracted item as %q, want its text %q", got, text)
	}
	poll(t, tab, "the item gone from the ticker", `document.querySelector('`+itemSel(f.Item.ID)+`') === null`)

	// Posted without the alert switch, the item was a ticker line; with it,
	// an alert, marked so in the live list.
	if f.Item.Alert || f.Item.AlertedAt != nil {
		t.Errorf("posted without the alert switch: %+v", f.Item)
	}
	eval[bool](t, ctx, `(document.querySelector('#nr-compose input[name=url]').value = '', document.querySelector('#nr-compose textarea[name=text]').value = 'Console: an alert', true)`)
	run(t, ctx,
		chromedp.Click(chromedp.CSS("#nr-alert")),
		chromedp.Click(chromedp.CSS("#nr-post")),
	)
	// An alert is confirmed in a dialog first (newsroom_browser_test.go).
	poll(t, ctx, "the alert dialog", `document.querySelector('#nr-alert-dialog').open`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ad-send")))
	a := ws.next()
	if a.Type != "item" || a.Item.Text != "Console: an alert" || !a.Item.Alert || a.Item.AlertedAt == nil {
		t.Fatalf("the reader got %+v, want the alert", a)
	}
	poll(t, ctx, "the alert marked in the live list", `document.querySelector('#nr-items li[data-item-id="`+a.Item.ID+`"] .nr-meta-alert') !== null`)
	poll(t, ctx, "the alert switch off after the post", `document.querySelector('#nr-post-status').textContent.startsWith('Posted') && !document.querySelector('#nr-alert').checked`)
}

// registerServiceWorker grants the page's origin notifications, opens /,
// registers /sw.js and returns its registration, to which DevTools can
// deliver push messages as a push service would.
func registerServiceWorker(t *testing.T, ctx context.Context, in *instance) serviceworker.RegistrationID {
	t.Helper()
	sctx, cancel := within(ctx)
	defer cancel()
	if _, err := chromedp.CallBrowser(sctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"},
		Setting:    browser.PermissionSettingGranted,
		Origin:     in.base,
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(in.base+"/"))
	regs := chromedp.Events(ctx, serviceworker.WorkerRegistrationUpdated)
	if _, err := chromedp.Call(sctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if ok := eval[bool](t, ctx, `navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => navigator.serviceWorker.ready).then(() => true)`); !ok {
		t.Fatal("service worker did not register")
	}
	var regID serviceworker.RegistrationID
	for ev, err := range regs {
		if err != nil {
			t.Fatalf("no service worker registration event: %v", err)
		}
		for _, r := range ev.Registrations {
			if r.ScopeURL == in.base+"/" && !r.IsDeleted {
				regID = r.RegistrationID
			}
		}
		if regID != "" {
			break
		}
	}
	return regID
}
