package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"newsflash/internal/server"
)

// hookReceiver is a partner's endpoint on a local listener; it records
// each request and answers 200.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []hookRequest
}

type hookRequest struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hookRequest{req.Header.Clone(), b})
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.got...)
}

func withOutbound(hostPort string) func(*server.Options) {
	return func(o *server.Options) { o.OutboundInsecureTestURLs = []string{hostPort} }
}

type listedHook struct {
	ID           string          `json:"id"`
	URL          string          `json:"url"`
	Filter       json.RawMessage `json:"filter"`
	Events       []string        `json:"events"`
	Delivered    int             `json:"delivered"`
	Failed       int             `json:"failed"`
	Pending      int             `json:"pending"`
	LastDelivery *struct {
		Status int  `json:"status"`
		OK     bool `json:"ok"`
	} `json:"last_delivery"`
	Secret *string `json:"secret"`
}

// TestWebhooksBadInput: each bad input is a 4xx naming its field, and
// nothing is stored.
func TestWebhooksBadInput(t *testing.T) {
	in := start(t, options{deps: withRoles})
	const ok = `"url":"https://hooks.example.org/in","events":["item.created"]`
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		code, field                     string
	}{
		{"unknown event", editorToken, "POST", "/api/v1/webhooks", `{"url":"https://hooks.example.org/in","events":["item.deleted"]}`, 400, "unknown_event", "events"},
		{"no events", editorToken, "POST", "/api/v1/webhooks", `{"url":"https://hooks.example.org/in","events":[]}`, 400, "events_required", "events"},
		{"http url", editorToken, "POST", "/api/v1/webhooks", `{"url":"http://hooks.example.org/in","events":["item.created"]}`, 400, "invalid_url", "url"},
		{"private address url", editorToken, "POST", "/api/v1/webhooks", `{"url":"https://192.168.1.10/in","events":["item.created"]}`, 400, "invalid_url", "url"},
		{"loopback name url", editorToken, "POST", "/api/v1/webhooks", `{"url":"https://localhost/in","events":["item.created"]}`, 400, "invalid_url", "url"},
		{"port not 443", editorToken, "POST", "/api/v1/webhooks", `{"url":"https://hooks.example.org:8080/in","events":["item.created"]}`, 400, "invalid_url", "url"},
		{"unknown region", editorToken, "POST", "/api/v1/webhooks", `{` + ok + `,"filter":{"regions":["atlantis"]}}`, 400, "unknown_region", "filter.regions"},
		{"unknown topic", editorToken, "POST", "/api/v1/webhooks", `{` + ok + `,"filter":{"topics":["gossip"]}}`, 400, "unknown_topic", "filter.topics"},
		{"unknown lang", editorToken, "POST", "/api/v1/webhooks", `{` + ok + `,"filter":{"langs":["xx"]}}`, 400, "unknown_lang", "filter.langs"},
		{"unknown story", editorToken, "POST", "/api/v1/webhooks", `{` + ok + `,"filter":{"stories":["no-such-story"]}}`, 400, "unknown_story", "filter.stories"},
		{"unknown field", editorToken, "POST", "/api/v1/webhooks", `{` + ok + `,"secret":"whsec_x"}`, 400, "unknown_field", "secret"},
		{"editor may not", plainToken, "POST", "/api/v1/webhooks", `{` + ok + `}`, 403, "forbidden", ""},
		{"reporter may not list", reporterToken, "GET", "/api/v1/webhooks", ``, 403, "forbidden", ""},
		{"delete unknown", editorToken, "DELETE", "/api/v1/webhooks/aaaaaaaaaaaaaaaaaaaa", ``, 404, "not_found", ""},
		{"rotate unknown", editorToken, "POST", "/api/v1/webhooks/not-an-id/rotate", ``, 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := in.as(tc.token, tc.method, tc.path, tc.body)
			e := decode[apiError](t, b)
			if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Fatalf("%d %s, want %d %s on %q", status, b, tc.status, tc.code, tc.field)
			}
		})
	}
	list := decode[struct{ Webhooks []listedHook }](t, in.mustAs(editorToken, "GET", "/api/v1/webhooks", "", 200))
	if len(list.Webhooks) != 0 {
		t.Errorf("bad input stored %+v", list.Webhooks)
	}
}

// TestWebhooksOverTheAPI: an admin registers a local receiver, an item
// posted on one instance is delivered once, signed (checked with the
// reference library), though two instances share the NATS; the list shows
// the count and no secret; a rotation makes both secrets sign; DELETE ends
// it.
func TestWebhooksOverTheAPI(t *testing.T) {
	r := newHookReceiver(t)
	hp := r.srv.Listener.Addr().String()
	natsURL := runNATS(t)
	a := start(t, options{natsURL: natsURL, mutate: withOutbound(hp)})
	b := start(t, options{natsURL: natsURL, mutate: withOutbound(hp)})
	created := decode[struct{ ID, Secret string }](t, a.mustAs(editorToken, "POST", "/api/v1/webhooks",
		`{"url":"`+r.srv.URL+`/in","events":["item.created","item.updated","item.retracted"],"filter":{"regions":["mena"]}}`, 201))
	if created.ID == "" || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("created %+v", created)
	}
	// Both instances' planners learn of the endpoint through the bucket's
	// watch; an item posted right away may be planned before they do, so
	// items are posted until one arrives.
	deadline := time.Now().Add(wait)
	var first hookRequest
	for len(r.requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no delivery")
		}
		b.post(item("first for partners", "en", []string{"mena"}, nil))
		time.Sleep(100 * time.Millisecond)
	}
	first = r.requests()[0]
	wh, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(first.body, first.header); err != nil {
		t.Fatalf("delivery does not verify: %v", err)
	}
	n := len(r.requests())
	b.post(item("not for this partner", "en", []string{"europe"}, nil))
	it := a.post(item("second for partners", "en", []string{"mena"}, nil))
	waitFor(t, "the second item", func() bool {
		for _, q := range r.requests() {
			if strings.Contains(string(q.body), it.ID) {
				return true
			}
		}
		return false
	})
	ids := map[string]int{}
	for _, q := range r.requests() {
		ids[q.header.Get("webhook-id")]++
		if strings.Contains(string(q.body), "not for this partner") {
			t.Error("an item outside the filter was delivered")
		}
	}
	for id, c := range ids {
		if c != 1 {
			t.Errorf("%s delivered %d times by two instances", id, c)
		}
	}

	list := decode[struct{ Webhooks []listedHook }](t, b.mustAs(editorToken, "GET", "/api/v1/webhooks", "", 200))
	if len(list.Webhooks) != 1 || list.Webhooks[0].ID != created.ID || list.Webhooks[0].Secret != nil || list.Webhooks[0].Delivered < n {
		t.Errorf("listed %s", b.mustAs(editorToken, "GET", "/api/v1/webhooks", "", 200))
	}

	rot := decode[struct{ Secret string }](t, b.mustAs(editorToken, "POST", "/api/v1/webhooks/"+created.ID+"/rotate", "", 200))
	// Each delivery reads the endpoint's secrets anew.
	after := a.post(item("after rotation", "en", []string{"mena"}, nil))
	var last hookRequest
	waitFor(t, "a delivery after the rotation", func() bool {
		for _, q := range r.requests() {
			if strings.Contains(string(q.body), after.ID) {
				last = q
				return true
			}
		}
		return false
	})
	if sigs := strings.Fields(last.header.Get("webhook-signature")); len(sigs) != 2 {
		t.Errorf("signature after rotation %q, want two", last.header.Get("webhook-signature"))
	}
	for _, sec := range []string{created.Secret, rot.Secret} {
		wh, _ := standardwebhooks.NewWebhook(sec)
		if err := wh.Verify(last.body, last.header); err != nil {
			t.Errorf("after rotation a secret does not verify: %v", err)
		}
	}

	a.mustAs(editorToken, "DELETE", "/api/v1/webhooks/"+created.ID, "", 204)
	list = decode[struct{ Webhooks []listedHook }](t, a.mustAs(editorToken, "GET", "/api/v1/webhooks", "", 200))
	if len(list.Webhooks) != 0 {
		t.Errorf("after DELETE listed %+v", list.Webhooks)
	}
}
