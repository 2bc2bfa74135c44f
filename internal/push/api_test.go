package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/pushsink"
)

// apiServer serves the push routes of env's Service on a real listener.
func apiServer(t *testing.T, env *testEnv) string {
	t.Helper()
	gin.SetMode(gin.TestMode)
	e := gin.New()
	g := e.Group("/api/v1")
	env.s.Register(g, g.Group("/editors-only"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1/push/subscriptions"
}

// call sends a request with this body and Content-Type (none when "") and
// returns the status and the error code of the answer, if any.
func call(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var ans struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &ans)
	return res.StatusCode, ans.Error.Code
}

func subscribeBody(endpoint, p256dh, auth, filter string) string {
	b, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{"p256dh": p256dh, "auth": auth}})
	return `{"subscription":` + string(b) + `,"filter":` + filter + `}`
}

// stored returns the stored record of an endpoint and its revision, or
// revision 0 when there is none.
func stored(t *testing.T, env *testEnv, endpoint string) (Subscription, uint64) {
	t.Helper()
	kv, err := env.s.subs.Get(context.Background(), IDFor(endpoint))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Subscription{}, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var sub Subscription
	if err := json.Unmarshal(kv.Value(), &sub); err != nil {
		t.Fatal(err)
	}
	return sub, kv.Revision()
}

// TestSubscriptionsNeedJSON: a body that is not declared application/json
// is refused with 415 before anything is read or stored, on POST and on
// DELETE, so a page of another site cannot subscribe (or unsubscribe) its
// visitors with a CORS "simple" request (no Content-Type, text/plain, a
// form), which a browser sends without asking the server first.
func TestSubscriptionsNeedJSON(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	url := apiServer(t, env)
	ps, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	body := subscribeBody(ps.Endpoint, ps.Keys.P256dh, ps.Keys.Auth, `{}`)
	unsub := `{"endpoint":"` + ps.Endpoint + `","auth":"` + ps.Keys.Auth + `"}`
	bad := []struct{ name, method, contentType, body string }{
		{"POST without Content-Type", http.MethodPost, "", body},
		{"POST text/plain", http.MethodPost, "text/plain", body},
		{"POST text/plain; charset", http.MethodPost, "text/plain;charset=UTF-8", body},
		{"POST form", http.MethodPost, "application/x-www-form-urlencoded", body},
		{"POST multipart", http.MethodPost, "multipart/form-data; boundary=x", body},
		{"POST json-like", http.MethodPost, "application/jsonx", body},
		{"DELETE without Content-Type", http.MethodDelete, "", unsub},
		{"DELETE text/plain", http.MethodDelete, "text/plain", unsub},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if tc.method == http.MethodDelete {
				if status, code := call(t, http.MethodPost, url, "application/json", body); status/100 != 2 {
					t.Fatalf("subscribing first: %d %s", status, code)
				}
			}
			_, revBefore := stored(t, env, ps.Endpoint)
			status, code := call(t, tc.method, url, tc.contentType, tc.body)
			if status != http.StatusUnsupportedMediaType || code != "unsupported_media_type" {
				t.Fatalf("%d %q, want 415 unsupported_media_type", status, code)
			}
			if _, rev := stored(t, env, ps.Endpoint); rev != revBefore {
				t.Fatalf("stored revision %d after the refusal, was %d", rev, revBefore)
			}
		})
	}
	// JSON with parameters is JSON.
	if status, code := call(t, http.MethodPost, url, "application/json; charset=utf-8", body); status/100 != 2 {
		t.Fatalf("application/json; charset=utf-8: %d %s", status, code)
	}
	if status, code := call(t, http.MethodDelete, url, "application/json", unsub); status != http.StatusNoContent {
		t.Fatalf("unsubscribe: %d %s", status, code)
	}
}

// TestResubscribeNeedsAuth: posting a known endpoint again changes it only
// with the stored auth secret, which only the browser that subscribed
// knows; anyone else who learned the endpoint URL gets 403 and nothing
// changes. DELETE needs the auth too (a wrong one is a 404, like an
// unknown endpoint).
func TestResubscribeNeedsAuth(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	url := apiServer(t, env)
	ps, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	ep, p, a := ps.Endpoint, ps.Keys.P256dh, ps.Keys.Auth
	if status, code := call(t, http.MethodPost, url, "application/json", subscribeBody(ep, p, a, `{"regions":["mena"]}`)); status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", status, code)
	}
	otherKey, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherP := encodeB64(otherKey.PublicKey().Bytes())
	otherA := encodeB64([]byte("0123456789abcdef"))

	refused := []struct{ name, body string }{
		{"other auth, same keys otherwise", subscribeBody(ep, p, otherA, `{"regions":["mena"]}`)},
		{"other auth and filter", subscribeBody(ep, p, otherA, `{"regions":["europe"]}`)},
		{"other auth and p256dh", subscribeBody(ep, otherP, otherA, `{}`)},
		{"other auth, endpoint with spaces", subscribeBody(" "+ep+" ", otherP, otherA, `{}`)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, before := stored(t, env, ep)
			status, code := call(t, http.MethodPost, url, "application/json", tc.body)
			if status != http.StatusForbidden || code != "subscription_exists" {
				t.Fatalf("%d %q, want 403 subscription_exists", status, code)
			}
			sub, rev := stored(t, env, ep)
			if rev != before || sub.Auth != a || sub.P256dh != p || strings.Join(sub.Filter.Regions, ",") != "mena" {
				t.Fatalf("stored %+v (revision %d, was %d) after a refused replacement", sub, rev, before)
			}
			if got, _ := env.s.index.get(IDFor(ep)); got.Auth != a || got.P256dh != p {
				t.Fatalf("index holds %+v after a refused replacement", got)
			}
		})
	}

	// With the stored auth, the filter and p256dh may change.
	if status, code := call(t, http.MethodPost, url, "application/json", subscribeBody(ep, p, a, `{"regions":["europe"]}`)); status != http.StatusOK {
		t.Fatalf("same auth, new filter: %d %s", status, code)
	}
	if sub, _ := stored(t, env, ep); strings.Join(sub.Filter.Regions, ",") != "europe" {
		t.Fatalf("filter not replaced: %+v", sub.Filter)
	}
	if status, code := call(t, http.MethodPost, url, "application/json", subscribeBody(ep, otherP, a, `{}`)); status != http.StatusOK {
		t.Fatalf("same auth, new p256dh: %d %s", status, code)
	}
	if sub, _ := stored(t, env, ep); sub.P256dh != otherP || sub.Auth != a {
		t.Fatalf("p256dh not replaced: %+v", sub)
	}

	// DELETE: a wrong auth is the same 404 as an unknown endpoint.
	if status, code := call(t, http.MethodDelete, url, "application/json", `{"endpoint":"`+ep+`","auth":"`+otherA+`"}`); status != http.StatusNotFound || code != "not_found" {
		t.Fatalf("unsubscribe with another auth: %d %s", status, code)
	}
	if _, rev := stored(t, env, ep); rev == 0 {
		t.Fatal("removed with a wrong auth")
	}
	if status, code := call(t, http.MethodDelete, url, "application/json", `{"endpoint":"`+ep+`","auth":"`+a+`"}`); status != http.StatusNoContent {
		t.Fatalf("unsubscribe: %d %s", status, code)
	}
	if _, rev := stored(t, env, ep); rev != 0 {
		t.Fatal("still stored after unsubscribing")
	}
}
