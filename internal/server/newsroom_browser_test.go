package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// consoleSignIn opens the newsroom console and signs in with token, waiting
// until the console has learnt the role.
func consoleSignIn(t *testing.T, ctx context.Context, in *instance, token, role string) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(in.base+"/newsroom"),
		chromedp.WaitVisible(chromedp.CSS("#nr-token")),
		chromedp.SendKeys(chromedp.CSS("#nr-token"), token),
		chromedp.Click(chromedp.CSS("#nr-signin")),
	)
	poll(t, ctx, "signed in as "+role, `document.body.dataset.signedIn === "true" && document.body.dataset.role === "`+role+`"`)
}

// visible says whether the element sel is shown.
func visible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return eval[bool](t, ctx, `(() => { const e = document.querySelector('`+sel+`'); return !!e && e.checkVisibility() })()`)
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string { return strconv.Quote(s) }

// setSelect chooses value in the select sel as a person would (a change
// event).
func setSelect(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	if !eval[bool](t, ctx, `(() => { const s = document.querySelector('`+sel+`'); if (!s) return false; s.value = `+jsString(value)+`; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value === `+jsString(value)+` })()`) {
		t.Fatalf("no option %q in %s", value, sel)
	}
}

// clickNow clicks the element sel selects at the moment of the click, in
// the page: a list the console renders again (the editors' rows after a
// change) can replace the node a DevTools click found a moment before.
func clickNow(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if !eval[bool](t, ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; e.click(); return true })()`) {
		t.Fatalf("nothing to click at %s", sel)
	}
}

// editorsOnServer is GET /api/v1/editors as the admin sees it.
func editorsOnServer(t *testing.T, in *instance) map[string]editor.AccountInfo {
	t.Helper()
	list := decode[struct {
		Editors []editor.AccountInfo `json:"editors"`
	}](t, in.mustAs(editorToken, "GET", "/api/v1/editors", "", http.StatusOK))
	out := map[string]editor.AccountInfo{}
	for _, e := range list.Editors {
		out[e.Name] = e
	}
	return out
}

// waitStatus waits until a request with token answers want (a revoked or
// rotated token is refused cluster-wide within a bound, not at once).
func waitStatus(t *testing.T, in *instance, token, method, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		status, b := in.as(token, method, path, "")
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserNewsroomEditors drives the admins' Editors page: the list,
// create (the token shown once, and it signs in), a field error, a role
// change, rotate and revoke, each checked on the server; and who sees the
// page at all.
func TestBrowserNewsroomEditors(t *testing.T) {
	in := start(t, options{deps: withRoles})
	ctx := newBrowser(t)
	consoleSignIn(t, ctx, in, editorToken, "admin")
	if !visible(t, ctx, "#nr-tabs") {
		t.Fatal("an admin does not see the Editors tab")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`#nr-tabs button[data-view=editors]`)))
	poll(t, ctx, "the editors listed", `['alice', 'rita', 'ed'].every(n => document.querySelector('#nr-editor-rows tr[data-editor="' + n + '"]'))`)
	if !visible(t, ctx, "#nr-editors") || visible(t, ctx, "#nr-compose") {
		t.Fatal("the Editors page does not replace the items view")
	}
	// Static editors are listed but cannot be changed here.
	if ok := eval[bool](t, ctx, `(() => { const r = document.querySelector('#nr-editor-rows tr[data-editor="rita"]'); return r.dataset.static === 'true' && r.querySelector('[data-action=rotate]').disabled && r.querySelector('[data-action=revoke]').disabled && r.querySelector('select').disabled && r.querySelector('select').value === 'reporter' })()`); !ok {
		t.Error("a static editor's row can be changed, or shows the wrong role")
	}

	// Create: the token is shown once, with a copy button, and signs in
	// with the chosen role.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#nr-new-name"), "bob"))
	setSelect(t, ctx, "#nr-new-role", "reporter")
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-new-create")))
	poll(t, ctx, "the new token", `!document.querySelector('#nr-token-once').hidden && document.querySelector('#nr-token-once-value').value.startsWith('nf_')`)
	token := eval[string](t, ctx, `document.querySelector('#nr-token-once-value').value`)
	if warn := eval[string](t, ctx, `document.querySelector('#nr-token-once-warn').textContent.replace(/\s+/g, ' ')`); !strings.Contains(warn, "will not be shown again") {
		t.Errorf("the token box says %q", warn)
	}
	if !visible(t, ctx, "#nr-token-copy") {
		t.Error("no copy button")
	}
	if e, ok := editorsOnServer(t, in)["bob"]; !ok || e.Role != editor.RoleReporter || e.Static {
		t.Fatalf("bob on the server: %+v (present %v)", e, ok)
	}
	// bob signs in (a reporter may not list editors: 403, not 401).
	in.mustAs(token, "GET", "/api/v1/editors", "", http.StatusForbidden)
	poll(t, ctx, "bob listed", `document.querySelector('#nr-editor-rows tr[data-editor="bob"] select')?.value === 'reporter'`)

	// The same name again: the error at the name field, nothing made.
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-token-done")))
	poll(t, ctx, "the token gone", `document.querySelector('#nr-token-once').hidden && document.querySelector('#nr-token-once-value').value === ''`)
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#nr-new-name"), "bob"), chromedp.Click(chromedp.CSS("#nr-new-create")))
	poll(t, ctx, "name_taken at the name", `document.querySelector('[data-editor-error-for=name]').title === 'name_taken' && document.querySelector('#nr-new-name').getAttribute('aria-invalid') === 'true'`)
	if e := editorsOnServer(t, in)["bob"]; e.Role != editor.RoleReporter {
		t.Fatalf("the refused create changed bob: %+v", e)
	}
	eval[bool](t, ctx, `(e => (e.value = '', e.dispatchEvent(new Event('input', {bubbles: true})), true))(document.querySelector('#nr-new-name'))`)

	// Change the role.
	setSelect(t, ctx, `#nr-editor-rows tr[data-editor="bob"] select`, "editor")
	deadline := time.Now().Add(wait)
	for editorsOnServer(t, in)["bob"].Role != editor.RoleEditor {
		if time.Now().After(deadline) {
			t.Fatalf("bob's role on the server: %+v", editorsOnServer(t, in)["bob"])
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Rotate, after a confirmation: a new token, shown once; the old one
	// stops.
	clickNow(t, ctx, `#nr-editor-rows tr[data-editor="bob"] button[data-action=rotate]`)
	poll(t, ctx, "the rotate dialog", `document.querySelector('#nr-ask').open && document.querySelector('#nr-ask-ok').textContent === 'Rotate'`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-ok")))
	poll(t, ctx, "the rotated token", `!document.querySelector('#nr-token-once').hidden && document.querySelector('#nr-token-once-value').value.startsWith('nf_') && document.querySelector('#nr-token-once-value').value !== `+jsString(token))
	rotated := eval[string](t, ctx, `document.querySelector('#nr-token-once-value').value`)
	waitStatus(t, in, token, "GET", "/api/v1/editors", http.StatusUnauthorized)
	in.mustAs(rotated, "GET", "/api/v1/editors", "", http.StatusForbidden)
	screenshot(t, ctx, "", "newsroom-editors.png")

	// Revoke, after a confirmation; cancelling first changes nothing.
	revoke := `#nr-editor-rows tr[data-editor="bob"] button[data-action=revoke]`
	clickNow(t, ctx, revoke)
	poll(t, ctx, "the revoke dialog", `document.querySelector('#nr-ask').open`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-cancel")))
	poll(t, ctx, "the dialog closed", `!document.querySelector('#nr-ask').open`)
	if _, ok := editorsOnServer(t, in)["bob"]; !ok {
		t.Fatal("cancelled, yet bob is gone")
	}
	clickNow(t, ctx, revoke)
	poll(t, ctx, "the revoke dialog", `document.querySelector('#nr-ask').open && document.querySelector('#nr-ask-ok').textContent === 'Revoke'`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-ok")))
	if err := pollErr(ctx, `document.querySelector('#nr-editor-rows tr[data-editor="bob"]') === null`); err != nil {
		t.Fatalf("bob still listed: %v; page says %q; on the server: %+v", err, eval[string](t, ctx, `document.querySelector('#nr-editors').innerText`), editorsOnServer(t, in))
	}
	if _, ok := editorsOnServer(t, in)["bob"]; ok {
		t.Fatal("bob is still on the server")
	}
	waitStatus(t, in, rotated, "GET", "/api/v1/editors", http.StatusUnauthorized)

	// An editor and a reporter do not see the page.
	for _, who := range []struct{ token, role string }{{plainToken, "editor"}, {reporterToken, "reporter"}} {
		other := newBrowser(t)
		consoleSignIn(t, other, in, who.token, who.role)
		if visible(t, other, "#nr-tabs button[data-view=editors]") || visible(t, other, "#nr-editors") {
			t.Errorf("a %s sees the Editors page", who.role)
		}
	}
}

// withGuard turns the flood guard on: an alert within the hour of the
// previous one needs confirm.
func withGuard(mutate func(*server.Options)) func(*server.Options) {
	return func(o *server.Options) {
		if mutate != nil {
			mutate(o)
		}
		o.Editor.AlertMinInterval, o.Editor.AlertDuplicateWindow = time.Hour, -1
	}
}

// currentItem is GET /api/v1/items/{id} as an editor sees it.
func currentItem(t *testing.T, in *instance, id string) news.Item {
	t.Helper()
	return decode[news.Item](t, in.mustAs(editorToken, "GET", "/api/v1/items/"+id, "", http.StatusOK))
}

// TestBrowserNewsroomPromote: an editor promotes a posted ticker line to
// an alert from the live list; the flood guard's warning is in the dialog
// and "Send anyway" sends it with confirm. A reporter sees neither the
// Alert switch nor Promote.
func TestBrowserNewsroomPromote(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{deps: withRoles, mutate: withGuard(withPush(env))})
	sub := in.subscribe(env, `{}`)
	first := in.post(alertItem("The first alert of the hour", "en", []string{"mena"}, nil))
	waitPushes(t, env, 1)
	line := in.post(item("Ceasefire announced in Gaza", "en", []string{"mena"}, nil))

	ctx := newBrowser(t)
	consoleSignIn(t, ctx, in, plainToken, "editor")
	li := `#nr-items li[data-item-id="` + line.ID + `"]`
	poll(t, ctx, "Promote on the ticker line", `document.querySelector('`+li+` [data-action=promote]')?.checkVisibility() === true`)
	if visible(t, ctx, `#nr-items li[data-item-id="`+first.ID+`"] [data-action=promote]`) {
		t.Error("Promote shown on an item whose alert went out")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(li+` [data-action=promote]`)))
	poll(t, ctx, "the alert dialog with the guard's warning", `document.querySelector('#nr-alert-dialog').open && document.querySelector('#nr-ad-guard').textContent.length > 0 && document.querySelector('#nr-ad-send').textContent === 'Send anyway'`)
	if got := eval[string](t, ctx, `document.querySelector('#nr-ad-audience').textContent`); got != "Reaches 1 browser." {
		t.Errorf("the dialog's audience says %q", got)
	}
	// Cancel sends nothing.
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ad-cancel")))
	poll(t, ctx, "the dialog closed", `!document.querySelector('#nr-alert-dialog').open`)
	if it := currentItem(t, in, line.ID); it.Alert {
		t.Fatal("cancelled, yet the item alerted")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(li+` [data-action=promote]`)))
	poll(t, ctx, "the alert dialog", `document.querySelector('#nr-alert-dialog').open && document.querySelector('#nr-ad-send').textContent === 'Send anyway'`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ad-send")))
	poll(t, ctx, "Promote gone once alerted", `document.querySelector('`+li+` .nr-meta-alert') !== null && !document.querySelector('`+li+` [data-action=promote]').checkVisibility()`)
	if it := currentItem(t, in, line.ID); !it.Alert || it.AlertedAt == nil {
		t.Fatalf("on the server: %+v", it)
	}
	waitPushes(t, env, 2)
	if ps, _ := messages(t, env, sub); len(ps) != 2 || ps[1].Item.ID != line.ID || ps[1].Type != "item" {
		t.Fatalf("the subscriber got %+v", ps)
	}

	// A reporter: no Alert switch, no Promote, no test button.
	rep := newBrowser(t)
	consoleSignIn(t, rep, in, reporterToken, "reporter")
	other := in.post(item("A reporter's view", "en", []string{"mena"}, nil))
	poll(t, rep, "the line listed", `document.querySelector('#nr-items li[data-item-id="`+other.ID+`"]') !== null`)
	for _, sel := range []string{"#nr-alert", "#nr-test", `#nr-items li[data-item-id="` + other.ID + `"] [data-action=promote]`} {
		if visible(t, rep, sel) {
			t.Errorf("a reporter sees %s", sel)
		}
	}
}

// TestBrowserNewsroomAlertAudience: the Alert switch shows the live
// audience as the draft changes and the flood guard's warning; posting an
// alert opens the confirm dialog (the notification as it will look, its
// loudness, the audience, the warning), and "Send anyway" posts it with
// confirm; a ticker line posts without the dialog.
func TestBrowserNewsroomAlertAudience(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withGuard(withPush(env))})
	in.subscribe(env, `{"regions":["mena"]}`)
	in.subscribe(env, `{"regions":["mena"],"langs":["es"]}`)
	in.subscribe(env, `{}`)
	in.subscribe(env, `{"regions":["europe"]}`)
	ws, _ := in.dialWS("backfill=0")

	ctx := newBrowser(t)
	consoleSignIn(t, ctx, in, editorToken, "admin")
	poll(t, ctx, "taxonomy chips", `document.querySelector('#nr-compose input[name=regions][value=mena]') !== null`)
	text := "Última hora: terremoto en Chile"
	setSelect(t, ctx, "#nr-lang", "es")
	setSelect(t, ctx, "#nr-priority", "flash")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#nr-text"), text),
		chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=mena]`)),
		chromedp.Click(chromedp.CSS("#nr-alert")),
	)
	audience := func(n string) {
		t.Helper()
		poll(t, ctx, "the audience "+n, `document.querySelector('#nr-audience').textContent === 'Alert will reach `+n+`'`)
	}
	audience("3 browsers") // mena, mena in Spanish, everything
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=mena]`)),
		chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=europe]`)),
	)
	audience("2 browsers") // europe, everything
	if w := eval[string](t, ctx, `document.querySelector('#nr-guard').textContent`); w != "" {
		t.Errorf("a guard warning before any alert: %q", w)
	}

	// A ticker line needs no dialog.
	eval[bool](t, ctx, `(document.querySelector('#nr-alert').click(), true)`)
	poll(t, ctx, "the audience gone with the switch off", `document.querySelector('#nr-audience').textContent === ''`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-post")))
	if f := ws.next(); f.Item.Text != text || f.Item.Alert {
		t.Fatalf("the ticker line: %+v", f)
	}
	poll(t, ctx, "posted (and the form reset)", `document.querySelector('#nr-post-status').textContent.startsWith('Posted') && document.querySelector('#nr-text').value === ''`)
	if eval[bool](t, ctx, `document.querySelector('#nr-alert-dialog').open`) {
		t.Error("a ticker line opened the alert dialog")
	}
	// Another alert arms the flood guard: the switch warns.
	in.post(alertItem("Another desk's alert", "en", []string{"asia"}, nil))
	ws.next()
	alertText := "Última hora: réplica de magnitud 6"
	setSelect(t, ctx, "#nr-priority", "flash")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#nr-text"), alertText),
		chromedp.Click(chromedp.CSS("#nr-alert")),
	)
	poll(t, ctx, "the guard's warning at the switch", `document.querySelector('#nr-guard').textContent.length > 0 && document.querySelector('#nr-audience').textContent === 'Alert will reach 2 browsers'`)

	// The dialog: the title in Spanish, loud, the audience, the warning.
	last, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-post")))
	poll(t, ctx, "the alert dialog", `document.querySelector('#nr-alert-dialog').open && document.querySelector('#nr-ad-audience').textContent !== ''`)
	for sel, want := range map[string]string{
		"#nr-ad-notification .nr-np-title": "ÚLTIMA HORA",
		"#nr-ad-notification .nr-np-body":  alertText,
		"#nr-ad-loudness":                  "Flash: makes a sound and stays on screen until dismissed.",
		"#nr-ad-audience":                  "Reaches 2 browsers.",
		"#nr-ad-send":                      "Send anyway",
	} {
		if got := eval[string](t, ctx, `document.querySelector('`+sel+`').textContent`); got != want {
			t.Errorf("%s says %q, want %q", sel, got, want)
		}
	}
	if w := eval[string](t, ctx, `document.querySelector('#nr-ad-guard').textContent`); !strings.Contains(w, "overrides the flood guard") {
		t.Errorf("the dialog's guard warning: %q", w)
	}
	screenshot(t, ctx, "", "newsroom-alert-confirm.png")
	if now, _ := in.srv.Stream().LastSeq(context.Background()); now != last {
		t.Fatalf("the dialog stored something: last seq %d, was %d", now, last)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ad-send")))
	f := ws.next()
	if f.Item.Text != alertText || !f.Item.Alert || f.Item.AlertedAt == nil || f.Item.Priority != "flash" || f.Item.Lang != "es" {
		t.Fatalf("the alert: %+v", f.Item)
	}
	poll(t, ctx, "posted", `document.querySelector('#nr-post-status').textContent.startsWith('Posted')`)
}

// fakePushService makes the browser's PushManager hand out sub, a
// subscription of the local push service (pushsink): headless Chromium has
// no push service of its own to reach. Everything else (the service worker,
// the console, the server, the encryption and VAPID) is real.
func fakePushService(t *testing.T, ctx context.Context, in *instance, sub pushsink.Subscription) {
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
	raw, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	js := `(() => {
  const json = ` + string(raw) + `;
  let sub = null;
  PushManager.prototype.getSubscription = async function () { return sub; };
  PushManager.prototype.subscribe = async function (opts) {
    sub = { endpoint: json.endpoint, options: { applicationServerKey: opts.applicationServerKey }, toJSON: () => json, unsubscribe: async () => { sub = null; return true; } };
    return sub;
  };
})();`
	if _, err := chromedp.Call(sctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserNewsroomTestAlert: "Send test to my browser" subscribes this
// browser and sends the draft's notification to it alone, marked test;
// nothing is stored and no other subscriber gets it.
func TestBrowserNewsroomTestAlert(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	reader := in.subscribe(env, `{}`)
	mine, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	fakePushService(t, ctx, in, mine)
	consoleSignIn(t, ctx, in, editorToken, "admin")
	poll(t, ctx, "taxonomy chips", `document.querySelector('#nr-compose input[name=regions][value=mena]') !== null`)
	last, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	text := "Test: how this alert looks"
	setSelect(t, ctx, "#nr-priority", "urgent")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#nr-text"), text),
		chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=mena]`)),
		chromedp.Click(chromedp.CSS("#nr-test")),
	)
	if err := pollErr(ctx, `document.querySelector('#nr-test-status').dataset.kind === 'ok'`); err != nil {
		t.Fatalf("the test was not sent: %v; the console says %q", err, eval[string](t, ctx, `document.querySelector('#nr-test-status').textContent`))
	}
	if got := eval[string](t, ctx, `document.querySelector('#nr-test-status').textContent`); !strings.Contains(got, "TEST · URGENT") {
		t.Errorf("the console says %q", got)
	}
	waitPushes(t, env, 1)
	raw := env.sink.Messages(mine.ID())
	if len(raw) != 1 || raw[0].Err != nil {
		t.Fatalf("this browser's subscription got %+v", raw)
	}
	var p struct {
		Type string `json:"type"`
		Test bool   `json:"test"`
		Item struct {
			Text     string `json:"text"`
			Priority string `json:"priority"`
		} `json:"item"`
	}
	if err := json.Unmarshal(raw[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "item" || !p.Test || p.Item.Text != text || p.Item.Priority != "urgent" {
		t.Errorf("the test notification: %s", raw[0].Payload)
	}
	if got := env.sink.Messages(reader.ID()); len(got) != 0 {
		t.Errorf("another subscriber got the test: %d messages", len(got))
	}
	if now, _ := in.srv.Stream().LastSeq(context.Background()); now != last {
		t.Fatalf("the test stored something: last seq %d, was %d", now, last)
	}

	// A draft the server refuses: the error at its field, nothing sent.
	eval[bool](t, ctx, `(document.querySelector('#nr-url').value = 'javascript:alert(1)', true)`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-test")))
	poll(t, ctx, "the url error", `document.querySelector('#nr-test-status').dataset.kind === 'error' && document.querySelector('[data-error-for=url]').textContent !== ''`)
	if n := len(env.sink.Messages(mine.ID())); n != 1 {
		t.Errorf("a refused test was sent: %d messages", n)
	}
}

// setLocalTime sets the datetime-local input sel to the browser's local
// time secs seconds from now (to the second), as typing it would.
func setLocalTime(t *testing.T, ctx context.Context, sel string, secs int) {
	t.Helper()
	js := `(() => {
  const d = new Date(Date.now() + ` + strconv.Itoa(secs) + ` * 1000), p = (n) => String(n).padStart(2, '0');
  const e = document.querySelector('` + sel + `');
  e.value = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  e.dispatchEvent(new Event('input', {bubbles: true}));
  return e.value !== '';
})()`
	if !eval[bool](t, ctx, js) {
		t.Fatalf("could not set %s", sel)
	}
}

// scheduledOnServer is GET /api/v1/items?status=scheduled's ids, in order.
func scheduledOnServer(t *testing.T, in *instance) []string {
	t.Helper()
	list := decode[struct {
		Items []news.Item `json:"items"`
	}](t, in.mustAs(editorToken, "GET", "/api/v1/items?status=scheduled", "", http.StatusOK))
	var ids []string
	for _, it := range list.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestBrowserNewsroomScheduled: Publish at schedules an item (the Post
// button says Schedule), the Scheduled list shows it oldest first, edit
// changes it (text and publish_at) on the server, cancel cancels it, a bad
// time is an error at the field, and at its time an item leaves the list
// for the live list.
func TestBrowserNewsroomScheduled(t *testing.T) {
	in := start(t, options{})
	ctx := newBrowser(t)
	consoleSignIn(t, ctx, in, editorToken, "admin")
	poll(t, ctx, "taxonomy chips and the schedule field", `document.querySelector('#nr-compose input[name=regions][value=mena]') !== null && document.querySelector('#nr-publish-at').checkVisibility()`)
	schedule := func(text string, secs int, alert bool) news.Item {
		t.Helper()
		run(t, ctx, chromedp.SendKeys(chromedp.CSS("#nr-text"), text))
		if !eval[bool](t, ctx, `document.querySelector('#nr-compose input[name=regions][value=mena]').checked`) {
			run(t, ctx, chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=mena]`)))
		}
		setLocalTime(t, ctx, "#nr-publish-at", secs)
		poll(t, ctx, "the Schedule button", `document.querySelector('#nr-post').textContent === 'Schedule'`)
		if alert {
			run(t, ctx, chromedp.Click(chromedp.CSS("#nr-alert")))
		}
		run(t, ctx, chromedp.Click(chromedp.CSS("#nr-post")))
		if alert { // a scheduled alert is confirmed too, and says when it goes
			poll(t, ctx, "the alert dialog", `document.querySelector('#nr-alert-dialog').open && document.querySelector('#nr-ad-when').textContent.startsWith('Sent at ')`)
			run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ad-send")))
		}
		poll(t, ctx, "scheduled", `document.querySelector('#nr-post-status').textContent.startsWith('Scheduled for') && document.querySelector('#nr-text').value === ''`)
		id := eval[string](t, ctx, `document.querySelector('#nr-post-status').textContent.split(' · ').pop()`)
		it := currentItem(t, in, id)
		if it.Status != news.StatusScheduled || it.Text != text || it.PublishAt == nil || it.Alert != alert || it.AlertedAt != nil {
			t.Fatalf("scheduled on the server: %+v", it)
		}
		poll(t, ctx, "the item in the Scheduled list", `document.querySelector('#nr-scheduled li[data-item-id="`+id+`"]') !== null`)
		if head := eval[string](t, ctx, `document.querySelector('#nr-scheduled li[data-item-id="`+id+`"] .nr-item-head').textContent`); strings.Contains(head, "null") {
			t.Errorf("the scheduled row's head says %q", head)
		}
		return it
	}
	later := schedule("Scheduled: the budget vote at noon", 2*3600, true)
	sooner := schedule("Scheduled: polls close", 3600, false)
	// Oldest publish_at first, on the server and on the page.
	if ids := scheduledOnServer(t, in); strings.Join(ids, ",") != sooner.ID+","+later.ID {
		t.Fatalf("scheduled on the server: %v", ids)
	}
	poll(t, ctx, "oldest first", `Array.from(document.querySelectorAll('#nr-scheduled li'), (li) => li.dataset.itemId).join(',') === '`+sooner.ID+","+later.ID+`'`)
	if eval[bool](t, ctx, `document.querySelector('#nr-items li[data-item-id="`+sooner.ID+`"]') !== null`) {
		t.Error("a scheduled item is in the live list")
	}
	screenshot(t, ctx, "", "newsroom-scheduled.png")

	// A time in the past: the error at the field, nothing stored.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#nr-text"), "Too late"))
	setLocalTime(t, ctx, "#nr-publish-at", -3600)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-post")))
	poll(t, ctx, "the publish_at error", `document.querySelector('[data-error-for=publish_at]').title === 'invalid_publish_at' && document.querySelector('#nr-publish-at').getAttribute('aria-invalid') === 'true'`)
	if ids := scheduledOnServer(t, in); len(ids) != 2 {
		t.Fatalf("the refused post was scheduled: %v", ids)
	}
	eval[bool](t, ctx, `(document.querySelector('#nr-publish-at').value = '', document.querySelector('#nr-text').value = '', true)`)

	// Cancel, after a confirmation.
	row := `#nr-scheduled li[data-item-id="` + later.ID + `"]`
	run(t, ctx, chromedp.Click(chromedp.CSS(row+` [data-action=cancel]`)))
	poll(t, ctx, "the cancel dialog", `document.querySelector('#nr-ask').open && document.querySelector('#nr-ask-ok').textContent === 'Cancel item'`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-ok")))
	poll(t, ctx, "the cancelled item gone", `document.querySelector('`+row+`') === null`)
	if it := currentItem(t, in, later.ID); it.Status != news.StatusCancelled {
		t.Fatalf("cancelled on the server: %+v", it)
	}

	// Edit the text, then bring publish_at to a few seconds from now.
	row = `#nr-scheduled li[data-item-id="` + sooner.ID + `"]`
	run(t, ctx, chromedp.Click(chromedp.CSS(row+` [data-action=edit]`)))
	edited := "Scheduled: polls close in the capital"
	eval[bool](t, ctx, `(e => (e.value = `+jsString(edited)+`, e.dispatchEvent(new Event('input', {bubbles: true})), true))(document.querySelector('`+row+` form textarea'))`)
	setLocalTime(t, ctx, row+` form input[name=publish_at]`, 3)
	ws, _ := in.dialWS("backfill=0")
	run(t, ctx, chromedp.Click(chromedp.CSS(row+` form button[type=submit]`)))
	f := ws.next()
	if f.Type != "item" || f.Item.ID != sooner.ID || f.Item.Text != edited || f.Item.Status != news.StatusLive {
		t.Fatalf("published: %+v", f)
	}
	poll(t, ctx, "the published item in the live list, not in Scheduled", `document.querySelector('#nr-items li[data-item-id="`+sooner.ID+`"]') !== null && document.querySelector('`+row+`') === null`)
	if ids := scheduledOnServer(t, in); len(ids) != 0 {
		t.Fatalf("still scheduled on the server: %v", ids)
	}
}
