package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"newsflash/internal/push"
)

// TestBrowserReceipts: the service worker, given a push of a real alert
// with its receipt, shows the notification and posts "shown"; clicked, it
// posts "clicked"; both are counted in the alert's funnel. The receipt is
// made under the server's key (read from its keys bucket), for a
// subscription the browser need not have: the push comes through
// DeliverPushMessage, as the browser's push service would bring it.
func TestBrowserReceipts(t *testing.T) {
	url := runNATS(t)
	in := start(t, options{natsURL: url, mutate: withPush()})
	ctx := newBrowser(t)
	regID := registerServiceWorker(t, ctx, in)
	sctx, cancel := within(ctx)
	defer cancel()

	alert := in.post(alertItem("Ceasefire talks resume in Cairo", "en", []string{"mena"}, nil))
	receipt := makeReceipt(receiptKey(t, url), alert.ID, 0, "a-browser")
	payload, _ := json.Marshal(map[string]any{
		"type": "item", "seq": alert.Seq, "receipt": receipt,
		"item": map[string]any{"id": alert.ID, "version": 1, "text": alert.Text, "lang": "en", "priority": alert.Priority},
	})
	deliverUntil(t, ctx, in, regID, string(payload), "the notification",
		`navigator.serviceWorker.ready.then(r => r.getNotifications({tag: '`+alert.ID+`'})).then(ns => ns.length === 1 && ns[0].data.receipt === '`+receipt+`')`)
	funnelOf(t, in, alert.ID, "the shown receipt", func(f *push.Funnel) bool { return f.Shown == 1 && f.Platforms["web"].Shown == 1 })

	// Click it: a notificationclick dispatched in the worker itself (a
	// headless browser has no notification to click on).
	targets, err := chromedp.Targets(sctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range targets {
		if ti.Type == "service_worker" && strings.HasPrefix(ti.URL, in.base+"/sw.js") {
			wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
			defer cancel()
			ok := eval[bool](t, wctx, `self.registration.getNotifications({tag: '`+alert.ID+`'}).then(ns => {
				if (ns.length !== 1) return false;
				self.dispatchEvent(new NotificationEvent('notificationclick', {notification: ns[0]}));
				return true;
			})`)
			if !ok {
				t.Fatal("the worker has no notification to click")
			}
			funnelOf(t, in, alert.ID, "the clicked receipt", func(f *push.Funnel) bool { return f.Clicked == 1 && f.Platforms["web"].Clicked == 1 })
			return
		}
	}
	t.Fatalf("no service worker target among %d", len(targets))
}

// deliverUntil delivers a push message to the registration through
// DevTools until js holds, a few seconds apart, as a push service delivers
// again a message the browser did not take: on a loaded machine a message
// delivered to a worker that is still starting is sometimes never handled.
// A repeat changes nothing once the notification is on screen (the worker
// keeps the version shown).
func deliverUntil(t *testing.T, ctx context.Context, in *instance, regID serviceworker.RegistrationID, payload, what, js string) {
	t.Helper()
	var err error
	for range 4 {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err = chromedp.Call(dctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
			Origin: in.base, RegistrationID: regID, Data: payload,
		}); err == nil {
			_, err = chromedp.Run(dctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(25*time.Millisecond)))
		}
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("waiting for %s: %v", what, err)
}
