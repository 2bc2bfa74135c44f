package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// consoleStory is a story as GET /api/v1/stories answers it.
type consoleStory struct {
	Slug     string            `json:"slug"`
	Title    map[string]string `json:"title"`
	Regions  []string          `json:"regions"`
	Topics   []string          `json:"topics"`
	Status   string            `json:"status"`
	ClosedAt *time.Time        `json:"closed_at"`
}

// storyOnServer is GET /api/v1/stories/{slug}'s story.
func storyOnServer(t *testing.T, in *instance, slug string) consoleStory {
	t.Helper()
	return decode[struct {
		Story consoleStory `json:"story"`
	}](t, in.mustAs(editorToken, "GET", "/api/v1/stories/"+slug, "", http.StatusOK)).Story
}

// storiesOnServer is GET /api/v1/stories?status=all's slugs.
func storiesOnServer(t *testing.T, in *instance) []string {
	t.Helper()
	list := decode[struct {
		Stories []consoleStory `json:"stories"`
	}](t, in.mustAs(editorToken, "GET", "/api/v1/stories?status=all", "", http.StatusOK))
	var slugs []string
	for _, s := range list.Stories {
		slugs = append(slugs, s.Slug)
	}
	return slugs
}

// typeInto sets an input's value as typing would (an input event).
func typeInto(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	if !eval[bool](t, ctx, `(() => { const e = document.querySelector('`+sel+`'); if (!e) return false; e.value = `+jsString(value)+`; e.dispatchEvent(new Event('input', {bubbles: true})); return true })()`) {
		t.Fatalf("no %s", sel)
	}
}

// TestBrowserConsoleStories: an editor creates a story on the Stories page
// (a bad slug and a taken one are errors at the slug field, nothing
// stored), edits its title, posts an alert into it with the compose form's
// picker, takes a line out of it with a correction, and closes it after a
// confirmation; each step is checked on the server. A reporter has no
// Stories page.
func TestBrowserConsoleStories(t *testing.T) {
	in := start(t, options{deps: withRoles})
	ctx := newBrowser(t)
	consoleSignIn(t, ctx, in, plainToken, "editor")
	if !visible(t, ctx, `#nr-tabs button[data-view=stories]`) || visible(t, ctx, `#nr-tabs button[data-view=editors]`) {
		t.Fatal("an editor should see the Stories tab and not the Editors tab")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`#nr-tabs button[data-view=stories]`)))
	poll(t, ctx, "the Stories page with a title per language", `document.querySelector('#nr-stories').checkVisibility() && document.querySelector('#nr-story-new input[name="title.ar"]')?.dir === 'rtl'`)
	if visible(t, ctx, "#nr-compose") {
		t.Error("the Stories page does not replace the items view")
	}

	// A bad slug: the error at the slug field, nothing stored.
	typeInto(t, ctx, "#nr-story-slug", "Not A Slug")
	typeInto(t, ctx, `#nr-story-new input[name="title.en"]`, "War on Gaza")
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-story-create")))
	poll(t, ctx, "the slug error", `document.querySelector('[data-story-error-for=slug]').textContent !== '' && document.querySelector('#nr-story-slug').getAttribute('aria-invalid') === 'true'`)
	if slugs := storiesOnServer(t, in); len(slugs) != 0 {
		t.Fatalf("a refused story was stored: %v", slugs)
	}

	// Create.
	const slug = "war-on-gaza"
	typeInto(t, ctx, "#nr-story-slug", slug)
	typeInto(t, ctx, `#nr-story-new input[name="title.ar"]`, "الحرب على غزة")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#nr-story-new input[name=regions][value=palestine]`)),
		chromedp.Click(chromedp.CSS(`#nr-story-new input[name=topics][value=politics]`)),
		chromedp.Click(chromedp.CSS("#nr-story-create")),
	)
	row := `#nr-story-list li[data-story="` + slug + `"]`
	poll(t, ctx, "the story listed", `document.querySelector('`+row+`')?.dataset.status === 'open' && document.querySelector('[data-story-error-for=slug]').textContent === ''`)
	s := storyOnServer(t, in, slug)
	if s.Status != "open" || s.Title["en"] != "War on Gaza" || s.Title["ar"] != "الحرب على غزة" || strings.Join(s.Regions, ",") != "palestine" || strings.Join(s.Topics, ",") != "politics" {
		t.Fatalf("the story on the server: %+v", s)
	}
	if got := eval[string](t, ctx, `document.querySelector('`+row+`').textContent`); strings.Contains(got, "null") || strings.Contains(got, "undefined") {
		t.Errorf("the story's row says %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('`+row+` .nr-story-title-text[lang=ar]').dir`); got != "rtl" {
		t.Errorf("the Arabic title is shown %q", got)
	}

	// The same slug again: story_exists at the slug field.
	typeInto(t, ctx, "#nr-story-slug", slug)
	typeInto(t, ctx, `#nr-story-new input[name="title.en"]`, "Another")
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-story-create")))
	poll(t, ctx, "story_exists at the slug", `document.querySelector('[data-story-error-for=slug]').title === 'story_exists'`)
	typeInto(t, ctx, "#nr-story-slug", "")
	typeInto(t, ctx, `#nr-story-new input[name="title.en"]`, "")
	screenshot(t, ctx, "", "newsroom-stories.png")

	// Edit the English title.
	run(t, ctx, chromedp.Click(chromedp.CSS(row+` [data-action=edit]`)))
	poll(t, ctx, "the edit form", `document.querySelector('`+row+` form input[name="title.en"]')?.value === 'War on Gaza'`)
	typeInto(t, ctx, row+` form input[name="title.en"]`, "War on Gaza: the ceasefire")
	run(t, ctx, chromedp.Click(chromedp.CSS(row+` form button[type=submit]`)))
	poll(t, ctx, "the edit saved", `document.querySelector('`+row+` form') === null && document.querySelector('`+row+` .nr-story-title-text[lang=en]')?.textContent.endsWith('War on Gaza: the ceasefire')`)
	if s := storyOnServer(t, in, slug); s.Title["en"] != "War on Gaza: the ceasefire" || s.Title["ar"] != "الحرب على غزة" {
		t.Fatalf("the edited story on the server: %+v", s)
	}

	// Post an alert into it with the picker.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#nr-tabs button[data-view=items]`)))
	poll(t, ctx, "the story in the picker", `Array.from(document.querySelectorAll('#nr-story option'), (o) => o.value + '=' + o.textContent).includes('`+slug+`=War on Gaza: the ceasefire · `+slug+`')`)
	if v := eval[string](t, ctx, `document.querySelector('#nr-story').value`); v != "" {
		t.Errorf("the picker starts at %q, want none", v)
	}
	ws, _ := in.dialWS("backfill=0")
	text := "Ceasefire holds through the night"
	setSelect(t, ctx, "#nr-story", slug)
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#nr-text"), text),
		chromedp.Click(chromedp.CSS(`#nr-compose input[name=regions][value=palestine]`)),
		chromedp.Click(chromedp.CSS("#nr-alert")),
		chromedp.Click(chromedp.CSS("#nr-post")),
	)
	poll(t, ctx, "the alert dialog", `document.querySelector('#nr-alert-dialog').open`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ad-send")))
	f := ws.next()
	if f.Type != "item" || f.Item.Text != text || f.Item.Story != slug || !f.Item.Alert {
		t.Fatalf("the reader got %+v, want the alert in the story", f)
	}
	if it := currentItem(t, in, f.Item.ID); it.Story != slug {
		t.Fatalf("the item on the server: %+v", it)
	}
	li := `#nr-items li[data-item-id="` + f.Item.ID + `"]`
	poll(t, ctx, "the story named in the live list", `document.querySelector('`+li+` .nr-meta-story')?.textContent === 'story: War on Gaza: the ceasefire'`)

	// A correction takes it out of the story.
	run(t, ctx, chromedp.Click(chromedp.CSS(li+` [data-action=correct]`)))
	poll(t, ctx, "the correction's picker at the story", `document.querySelector('`+li+` form select[name=story]')?.value === '`+slug+`'`)
	setSelect(t, ctx, li+` form select[name=story]`, "")
	run(t, ctx, chromedp.Click(chromedp.CSS(li+` form [data-action=save]`)))
	if u := ws.next(); u.Item.ID != f.Item.ID || u.Item.Story != "" || u.Item.Text != text {
		t.Fatalf("the correction: %+v", u)
	}
	poll(t, ctx, "the story gone from the live list", `document.querySelector('`+li+` form') === null && document.querySelector('`+li+` .nr-meta-story') === null`)

	// Close, after a confirmation.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#nr-tabs button[data-view=stories]`)))
	run(t, ctx, chromedp.Click(chromedp.CSS(row+` [data-action=close]`)))
	poll(t, ctx, "the close dialog", `document.querySelector('#nr-ask').open && document.querySelector('#nr-ask-ok').textContent === 'Close story'`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-ask-ok")))
	poll(t, ctx, "the story closed", `document.querySelector('`+row+`')?.dataset.status === 'closed' && document.querySelector('`+row+` [data-action=close]') === null`)
	if s := storyOnServer(t, in, slug); s.Status != "closed" || s.ClosedAt == nil {
		t.Fatalf("the closed story on the server: %+v", s)
	}
	poll(t, ctx, "the closed story out of the picker", `!Array.from(document.querySelectorAll('#nr-story option'), (o) => o.value).includes('`+slug+`')`)

	// A reporter has no Stories page.
	run(t, ctx, chromedp.Click(chromedp.CSS("#nr-signout")))
	consoleSignIn(t, ctx, in, reporterToken, "reporter")
	if visible(t, ctx, `#nr-tabs button[data-view=stories]`) || visible(t, ctx, "#nr-stories") {
		t.Error("a reporter sees the Stories page")
	}
}

// funnelCount reads one step's count in the alert's funnel panel (-1: not
// shown).
func funnelCount(t *testing.T, ctx context.Context, id, step string) int {
	t.Helper()
	return eval[int](t, ctx, `(() => { const e = document.querySelector('#nr-items li[data-item-id="`+id+`"] [data-step=`+step+`]'); return e ? Number(e.dataset.count) : -1 })()`)
}

// TestBrowserConsoleFunnel: an alert sent to a real subscription (the local
// push service) shows its funnel in the live list, targeted and sent; a
// receipt taken from the delivered payload and posted to the API shows up
// as shown, then clicked, in the numbers and the chart, while the panel
// asks again every few seconds; a closed panel stops asking.
func TestBrowserConsoleFunnel(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	sub := in.subscribe(env, `{}`)
	it := in.post(alertItem("Funnel: the alert the console follows", "en", []string{"mena"}, nil))
	waitPushes(t, env, 1)

	ctx := newBrowser(t)
	consoleSignIn(t, ctx, in, editorToken, "admin")
	// Count the panel's requests, to see it ask again and stop.
	eval[bool](t, ctx, `(() => { const f = window.fetch; window.nfStatsAsked = 0; window.fetch = (u, o) => { if (String(u).includes('/push/stats?item=`+it.ID+`')) window.nfStatsAsked++; return f(u, o); }; return true })()`)
	li := `#nr-items li[data-item-id="` + it.ID + `"]`
	poll(t, ctx, "the Funnel button", `document.querySelector('`+li+` [data-action=funnel]')?.checkVisibility()`)
	run(t, ctx, chromedp.Click(chromedp.CSS(li+` [data-action=funnel]`)))
	if err := pollErr(ctx, `(() => { const p = document.querySelector('`+li+` [data-funnel]'); return !!p && p.querySelector('[data-step=targeted]')?.dataset.count === '1' && p.querySelector('[data-step=sent]')?.dataset.count === '1' })()`); err != nil {
		_, _, b := in.do("GET", "/api/v1/push/stats?item="+it.ID, "", nil)
		t.Fatalf("the funnel does not show targeted 1, sent 1: %v; the panel says %q; the server says %s", err,
			eval[string](t, ctx, `document.querySelector('`+li+` [data-funnel]')?.textContent || ''`), b)
	}
	if got := eval[string](t, ctx, `document.querySelector('`+li+` [data-step=sent] .nr-funnel-pct').textContent`); got != "100%" {
		t.Errorf("sent is %q of targeted, want 100%%", got)
	}
	if got := funnelCount(t, ctx, it.ID, "shown"); got != 0 {
		t.Errorf("shown before any receipt: %d", got)
	}

	// The receipt the subscription got, posted as the service worker would.
	msgs := env.sink.Messages(sub.ID())
	if len(msgs) != 1 {
		t.Fatalf("the subscription got %d messages", len(msgs))
	}
	var payload struct {
		Receipt string `json:"receipt"`
	}
	if err := json.Unmarshal(msgs[0].Payload, &payload); err != nil || payload.Receipt == "" {
		t.Fatalf("no receipt in the payload %s (%v)", msgs[0].Payload, err)
	}
	receipt := func(event string) {
		t.Helper()
		status, _, b := in.do("POST", "/api/v1/push/receipts", `{"receipt":`+strconv.Quote(payload.Receipt)+`,"event":"`+event+`"}`, map[string]string{"Authorization": ""})
		if status != http.StatusNoContent {
			t.Fatalf("receipt %s: %d %s", event, status, b)
		}
	}
	receipt("shown")
	poll(t, ctx, "shown in the funnel and the chart", `(() => { const p = document.querySelector('`+li+` [data-funnel]'); return p.querySelector('[data-step=shown]').dataset.count === '1' && p.querySelectorAll('svg[data-chart] .nr-chart-shown').length === 1 && !p.querySelector('[data-time=shown]').textContent.endsWith('—') })()`)
	receipt("clicked")
	poll(t, ctx, "clicked in the funnel and the chart", `(() => { const p = document.querySelector('`+li+` [data-funnel]'); return p.querySelector('[data-step=clicked]').dataset.count === '1' && p.querySelector('[data-step=clicked] .nr-funnel-pct').textContent === '100%' && p.querySelectorAll('svg[data-chart] .nr-chart-clicked').length === 1 })()`)
	if label := eval[string](t, ctx, `document.querySelector('`+li+` svg[data-chart]').getAttribute('aria-label')`); !strings.Contains(label, "1 shown and 1 clicked") {
		t.Errorf("the chart's label: %q", label)
	}
	screenshot(t, ctx, li, "newsroom-funnel.png")

	// Closed, the panel stops asking.
	run(t, ctx, chromedp.Click(chromedp.CSS(li+` [data-action=funnel]`)))
	poll(t, ctx, "the panel closed", `document.querySelector('`+li+` [data-funnel]') === null && document.querySelector('`+li+` [data-action=funnel]').getAttribute('aria-expanded') === 'false'`)
	asked := eval[int](t, ctx, `window.nfStatsAsked`)
	if asked < 2 {
		t.Errorf("the open panel asked %d times, want it to ask again while open", asked)
	}
	time.Sleep(4 * time.Second) // longer than the panel's polling interval
	if now := eval[int](t, ctx, `window.nfStatsAsked`); now != asked {
		t.Errorf("the closed panel asked %d more times", now-asked)
	}
}
