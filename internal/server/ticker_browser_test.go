package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"newsflash/internal/server"

	"github.com/chromedp/chromedp"
)

// itemSel selects a ticker line by item id.
func itemSel(id string) string { return `#ticker .nf-item[data-item-id="` + id + `"]` }

func waitLive(t *testing.T, ctx context.Context) {
	t.Helper()
	poll(t, ctx, "the ticker to be live", `document.querySelector('#ticker').dataset.state === 'live'`)
}

// TestBrowserTicker drives the embeddable ticker on the demo page: filtered
// items appear, Arabic is right-to-left, corrections replace, retractions
// remove, and markup is shown as text.
func TestBrowserTicker(t *testing.T) {
	in := start(t, options{})
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(in.base+"/?regions=mena"))
	waitLive(t, ctx)

	en := in.post(`{"text":"Israeli drone strikes a vehicle in Baraachit","lang":"en","regions":["mena"],"priority":"flash","source":"Al Mayadeen's correspondent","url":"https://news.example/baraachit"}`)
	poll(t, ctx, "the English item", `document.querySelector('`+itemSel(en.ID)+` .nf-text')?.textContent === '`+en.Text+`'`)
	if ok := eval[bool](t, ctx, `(() => { const e = document.querySelector('`+itemSel(en.ID)+`'); return e.classList.contains('nf-flash') && e.getAttribute('dir') === 'ltr' && e.querySelector('a.nf-text').href === 'https://news.example/baraachit' })()`); !ok {
		t.Error("flash item: no nf-flash class, ltr direction or link")
	}

	other := in.post(item("Elections called in Spain", "es", []string{"europe"}, nil))
	ar := in.post(item("عاجل: غارة إسرائيلية على سيارة في بلدة برعشيت", "ar", []string{"mena"}, []string{"politics"}))
	poll(t, ctx, "the Arabic item", `document.querySelector('`+itemSel(ar.ID)+`') !== null`)
	if ok := eval[bool](t, ctx, `(() => { const e = document.querySelector('`+itemSel(ar.ID)+`'); return e.getAttribute('dir') === 'rtl' && e.getAttribute('lang') === 'ar' })()`); !ok {
		t.Error("the Arabic item is not dir=rtl lang=ar")
	}
	// Posted before the Arabic one, which has arrived: the other region's
	// item would be there by now.
	if present := eval[bool](t, ctx, `document.querySelector('`+itemSel(other.ID)+`') !== null`); present {
		t.Error("an item of another region is shown")
	}
	// Newest first.
	if first := eval[string](t, ctx, `document.querySelector('#ticker .nf-item').dataset.itemId`); first != ar.ID {
		t.Errorf("first line is %s, want the newest %s", first, ar.ID)
	}
	in.post(item("Ceasefire talks resume", "en", []string{"mena"}, nil))
	screenshot(t, ctx, "#ticker", "ticker-en.png")

	// A correction replaces the line in place; a retraction removes it.
	if status, _, b := in.do("PATCH", "/api/v1/items/"+en.ID, `{"text":"Israeli drone strikes two vehicles in Baraachit"}`, nil); status != 200 {
		t.Fatalf("patch: %d %s", status, b)
	}
	poll(t, ctx, "the correction", `document.querySelectorAll('`+itemSel(en.ID)+`').length === 1 && document.querySelector('`+itemSel(en.ID)+` .nf-text').textContent === 'Israeli drone strikes two vehicles in Baraachit'`)
	if status, _, b := in.do("DELETE", "/api/v1/items/"+en.ID, "", nil); status != 200 {
		t.Fatalf("retract: %d %s", status, b)
	}
	poll(t, ctx, "the retraction", `document.querySelector('`+itemSel(en.ID)+`') === null`)
	// A correction that moves an item out of the filter removes it too.
	if status, _, b := in.do("PATCH", "/api/v1/items/"+ar.ID, `{"regions":["europe"]}`, nil); status != 200 {
		t.Fatalf("patch: %d %s", status, b)
	}
	poll(t, ctx, "the item that left the filter", `document.querySelector('`+itemSel(ar.ID)+`') === null`)

	// Markup in an item is text: nothing is parsed, nothing runs.
	xss := in.post(item(`<img src=x onerror=window.__pwned=1> <b>bold</b>`, "en", []string{"mena"}, nil))
	poll(t, ctx, "the markup item", `document.querySelector('`+itemSel(xss.ID)+` .nf-text')?.textContent === '<img src=x onerror=window.__pwned=1> <b>bold</b>'`)
	if ok := eval[bool](t, ctx, `document.querySelector('#ticker img, #ticker b') === null && window.__pwned === undefined`); !ok {
		t.Error("item text was parsed as HTML")
	}
}

// TestBrowserTickerArabic shows an Arabic-only ticker (for the README's
// picture) and checks the bar is right-to-left.
func TestBrowserTickerArabic(t *testing.T) {
	in := start(t, options{})
	for _, text := range []string{
		"مراسل الميادين: مسيّرة إسرائيلية تستهدف سيارة في بلدة برعشيت جنوب لبنان",
		"عاجل: اجتماع طارئ لمجلس الأمن الدولي مساء اليوم",
	} {
		in.post(item(text, "ar", []string{"mena", "palestine"}, []string{"politics"}))
	}
	last := in.post(`{"text":"وزارة الصحة: ارتفاع عدد الشهداء إلى 12","lang":"ar","regions":["palestine"],"priority":"flash"}`)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(in.base+"/?langs=ar"))
	waitLive(t, ctx)
	poll(t, ctx, "the backfill", `document.querySelectorAll('#ticker .nf-item[dir=rtl][lang=ar]').length === 3`)
	if first := eval[string](t, ctx, `document.querySelector('#ticker .nf-item').dataset.itemId`); first != last.ID {
		t.Errorf("first line %s, want the newest %s", first, last.ID)
	}
	screenshot(t, ctx, "#ticker", "ticker-ar.png")
}

// TestBrowserTickerResumesAfterRestart: the instance the ticker is on stops,
// an item is posted through another instance meanwhile, and when the first
// comes back the ticker resumes and shows it.
func TestBrowserTickerResumesAfterRestart(t *testing.T) {
	url := runNATS(t)
	a := start(t, options{natsURL: url})
	b := start(t, options{natsURL: url})
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(a.base+"/?regions=europe"))
	waitLive(t, ctx)
	before := b.post(item("Before the restart", "en", []string{"europe"}, nil))
	poll(t, ctx, "the first item", `document.querySelector('`+itemSel(before.ID)+`') !== null`)

	addr := strings.TrimPrefix(a.base, "http://")
	a.stop()
	poll(t, ctx, "the ticker to notice", `document.querySelector('#ticker').dataset.state !== 'live'`)
	during := b.post(item("Posted while the ticker's server was down", "en", []string{"europe"}, nil))
	a2 := start(t, options{natsURL: url, addr: addr})
	waitLive(t, ctx)
	poll(t, ctx, "the item posted while down", `document.querySelector('`+itemSel(during.ID)+`') !== null`)
	after := a2.post(item("After the restart", "en", []string{"europe"}, nil))
	poll(t, ctx, "live items again", `document.querySelector('`+itemSel(after.ID)+`') !== null`)
	if n := eval[int](t, ctx, `document.querySelectorAll('`+itemSel(before.ID)+`').length`); n != 1 {
		t.Errorf("the first item is shown %d times", n)
	}
}

// TestBrowserTickerEmbeddedOnAnotherSite: a news site's page, on another
// origin and with a Content-Security-Policy that allows only the Newsflash
// server, embeds the ticker with the plain tag sites have always had and
// with a module tag; both go live and show an item posted afterwards.
func TestBrowserTickerEmbeddedOnAnotherSite(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Live.AllowedOrigins = []string{"localhost:*"} }})
	nf := in.base
	tags := map[string]string{
		"/classic": `<script src="` + nf + `/ticker.js" async></script>`,
		"/module":  `<script type="module" src="` + nf + `/ticker.js"></script>`,
	}
	csp := "default-src 'none'; script-src " + nf + "; style-src " + nf + "; connect-src " + nf + " ws" + strings.TrimPrefix(nf, "http")
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tag, ok := tags[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A news site</title></head><body>
<h1>A news site</h1>
<div id="ticker" data-newsflash-ticker data-regions="mena"></div>
` + tag + `
</body></html>`))
	}))
	defer site.Close()
	// localhost, not 127.0.0.1: another host as well as another port.
	siteBase := "http://localhost:" + site.URL[strings.LastIndex(site.URL, ":")+1:]

	ctx := newBrowser(t)
	for _, path := range []string{"/classic", "/module"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			run(t, ctx, chromedp.Navigate(siteBase+path))
			waitLive(t, ctx)
			it := in.post(item("Embedded elsewhere: "+path, "en", []string{"mena"}, nil))
			poll(t, ctx, "the posted item", `document.querySelector('`+itemSel(it.ID)+` .nf-text')?.textContent === '`+it.Text+`'`)
			if ok := eval[bool](t, ctx, `location.origin !== '`+nf+`' && document.querySelector('link[rel=stylesheet][href="`+nf+`/static/ticker.css"]') !== null`); !ok {
				t.Error("not on another origin, or the ticker's stylesheet is not from the Newsflash server")
			}
		})
	}
}
