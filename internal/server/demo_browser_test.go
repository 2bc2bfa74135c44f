package server_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserEmbedCodeIsInert: the demo page's embed code is HTML that a
// site pastes in, and its filter may come from the address. A hostile value
// there must stay one attribute value of the ticker's element: parsed as a
// site would, the code is exactly that element and the script.
func TestBrowserEmbedCodeIsInert(t *testing.T) {
	in := start(t, options{})
	ctx := newBrowser(t)
	// Without the taxonomy the page cannot drop unknown slugs, so the
	// address's filter is what the embed code carries.
	sctx, cancel := within(ctx)
	defer cancel()
	if _, err := chromedp.Call(sctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(sctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: in.base + "/api/v1/taxonomy", Block: true}},
	}); err != nil {
		t.Fatal(err)
	}
	const hostile = `x"></div><script>window.__pwned=1</script><img src=x onerror='window.__pwned=2'>&amp;`
	run(t, ctx, chromedp.Navigate(in.base+"/?regions="+url.QueryEscape(hostile)))
	poll(t, ctx, "the page to give up on the taxonomy", `document.querySelector('#ticker-form .error') !== null`)

	raw := eval[string](t, ctx, `(() => {
		const shown = document.querySelector('#embed-code');
		const doc = new DOMParser().parseFromString(shown.textContent, 'text/html');
		const els = [...doc.body.querySelectorAll('*')];
		return JSON.stringify({
			code: shown.textContent,
			markupShown: shown.children.length,
			tags: els.map((e) => e.tagName),
			attrs: els.map((e) => e.getAttributeNames().join(' ')),
			regions: els[0] ? els[0].getAttribute('data-regions') : null,
			src: els[1] ? els[1].getAttribute('src') : null,
			type: els[1] ? els[1].getAttribute('type') : null,
			pwned: window.__pwned ?? null,
		});
	})()`)
	var got struct {
		Code        string   `json:"code"`
		MarkupShown int      `json:"markupShown"`
		Tags        []string `json:"tags"`
		Attrs       []string `json:"attrs"`
		Regions     string   `json:"regions"`
		Src         string   `json:"src"`
		Type        string   `json:"type"`
		Pwned       any      `json:"pwned"`
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tags, []string{"DIV", "SCRIPT"}) ||
		!slices.Equal(got.Attrs, []string{"data-newsflash-ticker data-regions", "src async"}) ||
		got.Regions != hostile || got.Src != in.base+"/ticker.js" || got.Type != "" {
		t.Errorf("the embed code does not parse back to the ticker's element and script: %+v", got)
	}
	if got.MarkupShown != 0 || got.Pwned != nil {
		t.Errorf("the embed code was parsed on the page: %d elements, __pwned %v", got.MarkupShown, got.Pwned)
	}
}

// TestBrowserAlertsOffSayHowToTurnOn: on a server without Web Push the
// demo page says how the operator turns alerts on.
func TestBrowserAlertsOffSayHowToTurnOn(t *testing.T) {
	in := start(t, options{}) // no --vapid-subject
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(in.base+"/"))
	poll(t, ctx, "the alerts status", `!document.querySelector('#nf-push-status').textContent.startsWith('Checking')`)
	status := eval[string](t, ctx, `document.querySelector('#nf-push-status').textContent`)
	for _, want := range []string{"off on this server", "--vapid-subject mailto:", "NEWSFLASH_VAPID_SUBJECT"} {
		if !strings.Contains(status, want) {
			t.Errorf("the alerts status %q does not say %q", status, want)
		}
	}
	if present := eval[bool](t, ctx, `document.querySelector('#push-controls') !== null`); present {
		t.Error("the alerts control is still offered")
	}
}
