package push

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
)

// Run the fuzz target with
//
//	go test -run '^$' -fuzz '^FuzzSubscribe$' -fuzztime 1m ./internal/push
//
// Crashers land in testdata/fuzz/FuzzSubscribe/ and are committed as
// regressions; plain go test runs them with the seeds below.

// fuzzSubFields are the fields a refused subscription may be blamed on.
var fuzzSubFields = []string{"subscription.endpoint", "subscription.keys.p256dh", "subscription.keys.auth",
	"filter", "filter.regions", "filter.topics", "filter.langs"}

// FuzzSubscribe reads POST /api/v1/push/subscriptions bodies as the handler
// does (DecodeJSON, then validate) without the store. Properties: a refusal
// is an *httperr.Error from DecodeJSON or a ValidationError on a
// subscription field, 400 at the edge; an accepted subscription has an
// endpoint the policy accepts (the one sent, trimmed) and the id of that
// endpoint, keys in canonical base64url that decode to a point on P-256 and
// 16 bytes equal to those sent (so unsubscribing with the auth as sent
// matches), a filter of known, sorted, unique slugs; it validates again to
// itself and survives the store's JSON round trip.
func FuzzSubscribe(f *testing.F) {
	// The P-256 base point: a valid uncompressed public key.
	g := "BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"
	auth := "AAECAwQFBgcICQoLDA0ODw"
	body := func(endpoint, p256dh, auth, filter string) string {
		return `{"subscription":{"endpoint":` + endpoint + `,"expirationTime":null,"keys":{"p256dh":` + p256dh + `,"auth":` + auth + `}},"filter":` + filter + `}`
	}
	fcm := `"https://fcm.googleapis.com/fcm/send/abc:APA91b"`
	for _, s := range []string{
		body(fcm, `"`+g+`"`, `"`+auth+`"`, `{"regions":["mena"],"langs":["ar","en"]}`),
		body(`" https://updates.push.services.mozilla.com/wpush/v2/gAAAA \n"`, `"`+g+`=="`, `"`+auth+`=="`, `{}`),
		body(fcm, `"`+strings.NewReplacer("-", "+", "_", "/").Replace(g)+`"`, `" `+auth+` "`, `{"regions":[" MENA ","mena"],"topics":["Politics"]}`),
		body(fcm, `"`+g[:40]+"\\n"+g[40:]+`"`, `"`+auth[:10]+"\\r\\n"+auth[10:]+`"`, `{"regions":null}`),
		body(fcm, `"`+g[:len(g)-1]+`V"`, `"`+auth[:len(auth)-1]+`x"`, `{}`),
		body(fcm, `"BAAA"`, `"`+auth+`"`, `{}`),
		body(fcm, `"`+g+`"`, `"AAEC"`, `{}`),
		body(fcm, `"`+g+`"`, `"`+auth+`"`, `{"regions":["mena,europe"]}`),
		body(fcm, `"`+g+`"`, `"`+auth+`"`, `{"regions":["mars"]}`),
		body(fcm, `"`+g+`"`, `"`+auth+`"`, `{"langs":[`+strings.Repeat(`"en",`, news.MaxFilterValues)+`"en"]}`),
		body(fcm, `"`+g+`"`, `"`+auth+`"`, `{"regions":[1]}`),
		body(`"http://127.0.0.1:8080/push"`, `"`+g+`"`, `"`+auth+`"`, `{}`),
		body(`"https://169.254.169.254/latest"`, `"`+g+`"`, `"`+auth+`"`, `{}`),
		body(`"https://evil.example/push"`, `"`+g+`"`, `"`+auth+`"`, `{}`),
		body(`"https://fcm.googleapis.com/\u202esecret"`, `"`+g+`"`, `"`+auth+`"`, `{}`),
		body(`""`, `""`, `""`, `{}`),
		body(`5`, `"`+g+`"`, `"`+auth+`"`, `{}`),
		`{"subscription":{"endpoint":` + fcm + `,"endpoint":"https://evil.example/","keys":{"p256dh":"` + g + `","auth":"` + auth + `"}}}`,
		`{"Subscription":{"Endpoint":` + fcm + `,"Keys":{"P256DH":"` + g + `","AUTH":"` + auth + `"}}}`,
		`{"subscription":{"endpoint":` + fcm + `,"keys":{"p256dh":"` + g + `","auth":"` + auth + `"}},"color":1}`,
		`{"subscription":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100) + `}`,
		`{}`,
		`null`,
		``,
		"{\"subscription\":{\"endpoint\":\"https://fcm.googleapis.com/\xff\"}}",
	} {
		f.Add([]byte(s))
	}
	gin.SetMode(gin.TestMode)
	policy, err := pushpolicy.New(pushpolicy.Options{})
	if err != nil {
		f.Fatal(err)
	}
	s := &Service{cfg: config{Deps: Deps{Taxonomy: news.DefaultTaxonomy()}}, policy: policy}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/push/subscriptions", bytes.NewReader(body))
		var req SubscribeRequest
		if err := httperr.DecodeJSON(c, &req); err != nil {
			var he *httperr.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest || he.Code == "" {
				t.Fatalf("DecodeJSON(%q) = %#v", body, err)
			}
			return
		}
		sub, err := s.validate(req)
		if err != nil {
			var ve *news.ValidationError
			if !errors.As(err, &ve) || !slices.Contains(fuzzSubFields, ve.Field) || ve.Code == "" || ve.Message == "" {
				t.Fatalf("validate(%+v) = %#v", req, err)
			}
			if he := httperr.From(err); he.Status != http.StatusBadRequest || he.Code != ve.Code || he.Field != ve.Field {
				t.Fatalf("From(%#v) = %#v", ve, he)
			}
			return
		}
		checkSubscription(t, s, req, sub)
	})
}

func checkSubscription(t *testing.T, s *Service, req SubscribeRequest, sub Subscription) {
	t.Helper()
	ep := strings.TrimSpace(req.Subscription.Endpoint)
	if sub.Endpoint != ep || s.policy.CheckEndpoint(sub.Endpoint) != nil {
		t.Fatalf("endpoint %q accepted as %q", req.Subscription.Endpoint, sub.Endpoint)
	}
	if sub.ID != IDFor(ep) || len(sub.ID) != 32 || strings.Trim(sub.ID, "0123456789abcdef") != "" {
		t.Fatalf("subscription id %q, want IDFor(%q)", sub.ID, ep)
	}

	// Keys: canonical base64url (what the sender decodes), the bytes sent.
	p, err := base64.RawURLEncoding.Strict().DecodeString(sub.P256dh)
	if err != nil || len(p) != 65 || encodeB64(p) != sub.P256dh {
		t.Fatalf("p256dh %q stored as %q: %v", req.Subscription.Keys.P256dh, sub.P256dh, err)
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		t.Fatalf("p256dh %q is not a P-256 point: %v", sub.P256dh, err)
	}
	a, err := base64.RawURLEncoding.Strict().DecodeString(sub.Auth)
	if err != nil || len(a) != 16 || encodeB64(a) != sub.Auth {
		t.Fatalf("auth %q stored as %q: %v", req.Subscription.Keys.Auth, sub.Auth, err)
	}
	if sent, err := decodeB64(req.Subscription.Keys.P256dh); err != nil || !bytes.Equal(sent, p) {
		t.Fatalf("p256dh %q stored as other bytes %q", req.Subscription.Keys.P256dh, sub.P256dh)
	}
	if sent, err := decodeB64(req.Subscription.Keys.Auth); err != nil || !bytes.Equal(sent, a) {
		t.Fatalf("auth %q stored as other bytes %q: unsubscribing with it would not match", req.Subscription.Keys.Auth, sub.Auth)
	}

	// Filter: known slugs, sorted and unique, as the WebSocket parses it.
	tx := s.cfg.Taxonomy
	fl, err := tx.ParseFilter(strings.Join(sub.Filter.Regions, ","), strings.Join(sub.Filter.Topics, ","), strings.Join(sub.Filter.Langs, ","))
	if err != nil || !slices.Equal(fl.Regions, sub.Filter.Regions) || !slices.Equal(fl.Topics, sub.Filter.Topics) || !slices.Equal(fl.Langs, sub.Filter.Langs) {
		t.Fatalf("filter %+v stored as %+v, which parses to %+v (%v)", req.Filter, sub.Filter, fl, err)
	}

	// Validation is idempotent: the stored subscription, sent again, is
	// the same subscription.
	var again SubscribeRequest
	again.Subscription.Endpoint = sub.Endpoint
	again.Subscription.Keys.P256dh, again.Subscription.Keys.Auth = sub.P256dh, sub.Auth
	again.Filter = sub.Filter
	sub2, err := s.validate(again)
	if err != nil || !reflect.DeepEqual(sub2, sub) {
		t.Fatalf("subscription %+v validates again to %+v (%v)", sub, sub2, err)
	}

	// What the store keeps reads back the same.
	b, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	var back Subscription
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, sub) {
		t.Fatalf("subscription %+v stored as %s reads back as %+v (%v)", sub, b, back, err)
	}
}
