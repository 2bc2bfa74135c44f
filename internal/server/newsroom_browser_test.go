package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"newsflash/internal/editor"
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
	eval[bool](t, ctx, `(document.querySelector('#nr-new-name').value = '', true)`)

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
	run(t, ctx, chromedp.Click(chromedp.CSS(`#nr-editor-rows tr[data-editor="bob"] button[data-action=rotate]`)))
	poll(t, ctx, "the rotate dialog", `document.querySelector('#nr-ask').open && document.querySelector('#nr-ask-ok').textContent === 'Rotate'`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-ok")))
	poll(t, ctx, "the rotated token", `!document.querySelector('#nr-token-once').hidden && document.querySelector('#nr-token-once-value').value.startsWith('nf_') && document.querySelector('#nr-token-once-value').value !== `+jsString(token))
	rotated := eval[string](t, ctx, `document.querySelector('#nr-token-once-value').value`)
	waitStatus(t, in, token, "GET", "/api/v1/editors", http.StatusUnauthorized)
	in.mustAs(rotated, "GET", "/api/v1/editors", "", http.StatusForbidden)
	screenshot(t, ctx, "", "newsroom-editors.png")

	// Revoke, after a confirmation; cancelling first changes nothing.
	revoke := `#nr-editor-rows tr[data-editor="bob"] button[data-action=revoke]`
	run(t, ctx, chromedp.Click(chromedp.CSS(revoke)))
	poll(t, ctx, "the revoke dialog", `document.querySelector('#nr-ask').open`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-cancel")))
	poll(t, ctx, "the dialog closed", `!document.querySelector('#nr-ask').open`)
	if _, ok := editorsOnServer(t, in)["bob"]; !ok {
		t.Fatal("cancelled, yet bob is gone")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(revoke)))
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
		if visible(t, other, "#nr-tabs") || visible(t, other, "#nr-editors") {
			t.Errorf("a %s sees the Editors page", who.role)
		}
	}
}
