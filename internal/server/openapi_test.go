package server_test

// The contract tests: docs/openapi.yaml is linted, every route of the engine
// must be in it and every operation in it must be a route, and real requests
// to real instances, with their real answers, are validated against it. A
// table row is one request; every (operation, status, error code) the
// document lists must be answered by some row, or be in contractUnexercised
// with the reason it cannot be. So an endpoint, a status or an error code
// added to the server without the document, or to the document without the
// server, fails here.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"go.yaml.in/yaml/v3"

	"newsflash/docs"
	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
	"newsflash/internal/push"
	"newsflash/internal/server"
	"newsflash/web"
)

// contract is docs/openapi.yaml, loaded once per test binary.
type contract struct {
	v       validator.Validator
	model   *v3.Document
	schemas schema_validation.SchemaValidator
	// documented lists every answer the document promises, as
	// "METHOD /path status code" ("METHOD /path status" for answers
	// without error codes).
	documented []string
}

var (
	contractOnce   sync.Once
	contractLoaded *contract
	contractErr    error
)

func loadContract(t *testing.T) *contract {
	t.Helper()
	contractOnce.Do(func() { contractLoaded, contractErr = newContract(docs.OpenAPIYAML) })
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	return contractLoaded
}

func newContract(spec []byte) (*contract, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build openapi.yaml: %w", err)
	}
	// Format assertions make date-time and the like count, in answers and
	// in requests (the audit's since).
	v := validator.NewValidatorFromV3Model(&model.Model, config.WithFormatAssertions())
	c := &contract{v: v, model: &model.Model, schemas: schema_validation.NewSchemaValidator(config.WithFormatAssertions())}
	if c.documented, err = documentedAnswers(spec); err != nil {
		return nil, err
	}
	return c, nil
}

// documentedAnswers walks the YAML itself: for each operation and status,
// the enum of error.code in its JSON schema, following $ref to
// components.responses.
func documentedAnswers(spec []byte) ([]string, error) {
	var root map[string]any
	if err := yaml.Unmarshal(spec, &root); err != nil {
		return nil, err
	}
	get := func(v any, keys ...any) any {
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					return nil
				}
				v = l[k]
			}
		}
		return v
	}
	var out []string
	for path, item := range get(root, "paths").(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			for status, res := range get(op, "responses").(map[string]any) {
				if ref, ok := get(res, "$ref").(string); ok {
					res = get(root, "components", "responses", strings.TrimPrefix(ref, "#/components/responses/"))
				}
				key := strings.ToUpper(method) + " " + path + " " + status
				codes, _ := get(res, "content", "application/json", "schema", "allOf", 1, "properties", "error", "properties", "code", "enum").([]any)
				if len(codes) == 0 {
					out = append(out, key)
				}
				for _, code := range codes {
					out = append(out, key+" "+code.(string))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// contractUnexercised are documented answers no row produces, and why.
// "*" stands for every operation.
var contractUnexercised = map[string]string{
	"* 500 internal":                                   "only a bug (a panic in a handler) answers it",
	"GET /api/v1/ws 503 not_ready":                     "only in the moment between start and having read the stream",
	"GET /api/v1/sse 503 not_ready":                    "only in the moment between start and having read the stream",
	"GET /feeds/items.json 503 not_ready":              "only in the moment between start and having read the stream (TestNotReady in internal/feed)",
	"GET /feeds/items.atom 503 not_ready":              "only in the moment between start and having read the stream (TestNotReady in internal/feed)",
	"GET /feeds/items.rss 503 not_ready":               "only in the moment between start and having read the stream (TestNotReady in internal/feed)",
	"GET /api/v1/sse 503 shutting_down":                "only while the server stops, between admitting and subscribing a reader",
	"PATCH /api/v1/items/{id} 409 conflict":            "needs five concurrent changes in a row to win",
	"DELETE /api/v1/items/{id} 403 forbidden":          "needs an alerted item a reporter tries to retract (TestReportersKeepToTheTicker)",
	"DELETE /api/v1/items/{id} 409 conflict":           "needs five concurrent changes in a row to win",
	"PATCH /api/v1/editors/{name} 409 conflict":        "needs three concurrent changes of the account in a row to win",
	"DELETE /api/v1/editors/{name} 409 conflict":       "needs three concurrent changes of the account in a row to win",
	"POST /api/v1/editors/{name}/token 409 conflict":   "needs three concurrent changes of the account in a row to win",
	"POST /api/v1/items 502 test_not_delivered":        "needs a push service that refuses the test notification (TestDryRunBadInput)",
	"PATCH /api/v1/items/{id} 502 test_not_delivered":  "needs a push service that refuses the test notification (TestDryRunBadInput)",
	"PATCH /api/v1/items/{id} 409 item_missed":         "needs an item missed while no instance ran (TestScheduleBadInputs)",
	"POST /api/v1/items 409 too_many_scheduled":        "needs --schedule-max-pending items scheduled (TestScheduleMaxPending)",
	"POST /api/v1/devices 429 too_many_subscriptions":  "the apps instance creates devices in other rows (the limit is shared with web subscriptions: TestDevicesShareTheCreationLimit in internal/push)",
	"POST /api/v1/devices 503 unavailable":             "needs NATS down on an instance with an app platform on",
	"DELETE /api/v1/devices 503 unavailable":           "needs NATS down on an instance with an app platform on",
	"POST /api/v1/stories 409 too_many_stories":        "needs --stories-max-open open stories (TestStoriesBadInput)",
	"PATCH /api/v1/stories/{slug} 409 conflict":        "needs five concurrent changes of the story in a row to win",
	"POST /api/v1/stories/{slug}/close 409 conflict":   "needs five concurrent changes of the story in a row to win",
	"POST /api/v1/push/receipts 429 too_many_receipts": "needs --receipt-rate receipts from one address (TestReceiptRateLimit)",
	"POST /api/v1/push/receipts 503 unavailable":       "needs NATS down after a genuine receipt was made with the instance's key, which lives in NATS",
}

// reqCheck says what the document must think of a row's request.
type reqCheck int

const (
	conforms  reqCheck = iota // the request is one the document allows
	refused                   // the document itself refuses the request (as the server does)
	unchecked                 // the request is beside the point (limits that act before anything is read)
)

type contractRow struct {
	name   string
	on     string // instance name; "" is "main"
	method string
	path   string // with query; {live}, {retracted}, {unknown}, {delete} are replaced
	body   string // {sub}, {sub2}, {auth} are replaced
	hdr    map[string]string
	status int
	code   string // the error code wanted; "" for answers that are not errors
	field  string
	req    reqCheck
	// until repeats the request until it gets status and code (a limit
	// being reached); every answer on the way is checked too.
	until bool
	// check looks further at the answer.
	check func(t *testing.T, hdr http.Header, body []byte)
}

// hdr builds a header map from name, value pairs.
func hdr(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var (
	editorAuth = "Bearer " + editorToken
	bogusAuth  = "Bearer nf_bogus_token_that_matches_no_editor"
)

func wsHandshake(kv ...string) map[string]string {
	return hdr(append([]string{"Upgrade", "websocket", "Connection", "Upgrade",
		"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13"}, kv...)...)
}

// contractInstances are the instances the rows run on, each set up so
// that one kind of answer can be reached.
type contractInstances struct {
	in map[string]*instance
	// fixtures are the placeholders of rows and their values.
	fixtures []string
}

func startContractInstances(t *testing.T) *contractInstances {
	env := newPushEnv(t)
	ci := &contractInstances{in: map[string]*instance{}}
	noLimits := func(c *server.Options) {
		c.Limits = server.Limits{ReaderConnects: -1, APIRequests: -1, AuthFailures: -1}
	}
	// alice is an admin; rita (reporter) and ed (editor) are refused the
	// admin endpoints.
	ci.in["main"] = start(t, options{mutate: func(c *server.Options) {
		noLimits(c)
		withPush(env)(c)
		c.Push.SubscribePerHour = 1
	}, deps: withRoles})
	// Web Push off, /metrics for other addresses only, and a taxonomy with
	// more regions and topics than an item may carry.
	ci.in["off"] = start(t, options{mutate: func(c *server.Options) {
		noLimits(c)
		c.MetricsAllow = []string{"192.0.2.0/24"}
		c.Editor.AlertMinInterval, c.Editor.AlertDuplicateWindow = time.Hour, time.Hour // the flood guard's rows
	}, deps: func(d *server.Deps) { d.Taxonomy = bigTaxonomy(t) }})
	readers1 := start(t, options{mutate: func(c *server.Options) {
		c.Limits = server.Limits{ReaderConnects: 1, APIRequests: -1, AuthFailures: -1}
		c.Live.ReadersPerAddress = 1
	}})
	readers1.dialSSE("", nil)
	ci.in["readers1"] = readers1
	full := start(t, options{mutate: func(c *server.Options) {
		noLimits(c)
		c.Live.MaxReaders = 1
	}})
	full.dialSSE("", nil)
	ci.in["full"] = full
	ci.in["natsdown"] = startNATSDown(t, env)
	// The app platforms on, against the FCM and APNs stand-ins, and Web
	// Push off.
	fcmSrv := fcmtest.New(fcmtest.Options{})
	t.Cleanup(fcmSrv.Close)
	apnsSrv := apnstest.New(t)
	appsNATS := runNATS(t) // the receipts' key is read from it
	ci.in["apps"] = start(t, options{natsURL: appsNATS, mutate: func(c *server.Options) {
		noLimits(c)
		c.FCM = fcm.Options{Endpoint: fcmSrv.URL(), Credentials: fcmSrv.Credentials()}
		c.APNs = apns.Options{Endpoint: apnsSrv.URL, Key: apnsSrv.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
	}, deps: func(d *server.Deps) {
		d.FCMClient, d.APNsClient = fcmSrv.Client(), apnsSrv.Client()
	}})

	main := ci.in["main"]
	live := main.post(item("A live item", "en", []string{"mena"}, []string{"politics"}))
	retracted := main.post(`{"text":"A retracted item","lang":"en","regions":["europe"],"url":"https://example.com/r"}`)
	if status, _, b := main.do("DELETE", "/api/v1/items/"+retracted.ID, "", nil); status != 200 {
		t.Fatalf("retract: %d %s", status, b)
	}
	del := main.post(item("An item to retract", "ar", []string{"asia"}, nil))
	promote := main.post(item("A ticker item to promote", "en", []string{"mena"}, nil))
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	sched := main.post(`{"text":"A scheduled item","lang":"en","regions":["mena"],"publish_at":"` + later + `"}`)
	schedCancel := main.post(`{"text":"A scheduled item to cancel","lang":"en","regions":["mena"],"publish_at":"` + later + `"}`)
	schedCancelled := main.post(`{"text":"A cancelled item","lang":"en","regions":["mena"],"publish_at":"` + later + `"}`)
	if status, _, b := main.do("DELETE", "/api/v1/items/"+schedCancelled.ID, "", nil); status != 200 {
		t.Fatalf("cancel: %d %s", status, b)
	}
	sub := sinkSubscription(t, env)
	sub2 := sinkSubscription(t, env)
	offLive := ci.in["off"].post(item("An item on the instance without push", "en", []string{"r1"}, nil))
	offTicker := ci.in["off"].post(item("A ticker item to promote past the flood guard", "en", []string{"r1"}, nil))
	ci.in["gone"] = startGone(t)
	// sub's endpoint with another (valid) auth secret than the stored one.
	otherAuth := strings.Replace(sub.json, sub.auth, "tBHItJI5svbpez7KI4CCXg", 1)
	if otherAuth == sub.json {
		t.Fatal("the other auth secret is the subscription's")
	}
	for _, st := range []struct{ on, slug string }{{"main", "contract-story"}, {"main", "contract-close"}, {"main", "contract-closed"}, {"off", "contract-story"},
		{"main", "war-on-gaza"}, {"main", "ended"}, {"apps", "war-on-gaza"}, {"apps", "ended"}} {
		if status, _, b := ci.in[st.on].do("POST", "/api/v1/stories", `{"slug":"`+st.slug+`","title":{"en":"A story"}}`, nil); status != 201 {
			t.Fatalf("story %s on %s: %d %s", st.slug, st.on, status, b)
		}
	}
	for _, st := range []struct{ on, slug string }{{"main", "contract-closed"}, {"main", "ended"}, {"apps", "ended"}} {
		if status, _, b := ci.in[st.on].do("POST", "/api/v1/stories/"+st.slug+"/close", "", nil); status != 200 {
			t.Fatalf("close story %s on %s: %d %s", st.slug, st.on, status, b)
		}
	}
	_, h, _ := main.do("GET", "/api/v1/openapi.json", "", nil)
	// Receipts of an alert and of a ticker item on the apps instance, made
	// under its key as a device's would be.
	rkey := receiptKey(t, appsNATS)
	appsAlert := ci.in["apps"].post(alertItem("An alert with receipts", "en", []string{"mena"}, nil))
	appsTicker := ci.in["apps"].post(item("A ticker item without receipts", "en", []string{"mena"}, nil))
	webhook := decode[struct{ ID string }](t, main.mustAs(editorToken, "POST", "/api/v1/webhooks", `{"url":"https://hooks.example.org/contract","events":["item.created"]}`, http.StatusCreated))
	ci.fixtures = []string{
		"{webhook}", webhook.ID,
		"{appsalert}", appsAlert.ID, "{receipt}", makeReceipt(rkey, appsAlert.ID, 1, "contract-device"), "{tickerreceipt}", makeReceipt(rkey, appsTicker.ID, 1, "contract-device"),
		"{forgedreceipt}", makeReceipt(make([]byte, 32), appsAlert.ID, 1, "contract-device"),
		"{live}", live.ID, "{retracted}", retracted.ID, "{delete}", del.ID, "{promote}", promote.ID, "{unknown}", "aaaaaaaaaaaaaaaaaaaa",
		"{scheduled}", sched.ID, "{cancel}", schedCancel.ID, "{cancelled}", schedCancelled.ID, "{later}", later,
		"{muchlater}", time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339), "{past}", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"{offlive}", offLive.ID, "{offticker}", offTicker.ID, "{sub}", sub.json, "{sub2}", sub2.json, "{auth}", sub.auth, "{endpoint}", sub.endpoint,
		"{subotherauth}", otherAuth, "{subid}", push.IDFor(sub.endpoint), "{etag}", h.Get("ETag"), "{host}", strings.TrimPrefix(main.base, "http://"),
	}
	api1 := start(t, options{mutate: func(c *server.Options) {
		c.Limits = server.Limits{ReaderConnects: -1, APIRequests: 1, AuthFailures: 1}
	}})
	// One invalid token blocks the address for a minute: last, so that the
	// limit rows (which run first) are well within that minute.
	if status, _, b := api1.do("POST", "/api/v1/items", "{}", hdr("Authorization", bogusAuth)); status != 401 {
		t.Fatalf("bogus token: %d %s", status, b)
	}
	ci.in["api1"] = api1
	return ci
}

// goneDraft is the item the "gone" instance posted with the key
// goneKey and then lost from its history.
const (
	goneDraft = `{"text":"Retracted, then forgotten","lang":"en","regions":["europe"]}`
	goneKey   = "contract-gone"
)

// startGone runs an instance whose history holds three events, on which
// the item posted with goneKey was retracted and has aged out: a repeat of
// that post answers 409 idempotency_item_gone.
func startGone(t *testing.T) *instance {
	t.Helper()
	in := start(t, options{mutate: func(c *server.Options) {
		c.Limits = server.Limits{ReaderConnects: -1, APIRequests: -1, AuthFailures: -1}
		c.Stream.MaxEvents = 3
	}})
	status, _, b := in.do("POST", "/api/v1/items", goneDraft, hdr("Idempotency-Key", goneKey))
	if status != http.StatusCreated {
		t.Fatalf("post with key: %d %s", status, b)
	}
	var first news.Item
	if err := json.Unmarshal(b, &first); err != nil {
		t.Fatal(err)
	}
	if status, _, b := in.do("DELETE", "/api/v1/items/"+first.ID, "", nil); status != http.StatusOK {
		t.Fatalf("retract: %d %s", status, b)
	}
	for _, text := range []string{"one", "two", "three"} {
		in.post(item(text, "en", []string{"europe"}, nil))
	}
	if status, _, b := in.do("GET", "/api/v1/items/"+first.ID, "", nil); status != http.StatusNotFound {
		t.Fatalf("the retracted item is still in the stream (%d %s)", status, b)
	}
	return in
}

type sinkSub struct{ json, auth, endpoint string }

func sinkSubscription(t *testing.T, env *pushEnv) sinkSub {
	t.Helper()
	sub, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sub)
	var parsed struct {
		Endpoint string `json:"endpoint"`
		Keys     struct {
			Auth string `json:"auth"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Fatal(err)
	}
	return sinkSub{json: string(b), auth: parsed.Keys.Auth, endpoint: parsed.Endpoint}
}

// startNATSDown runs an instance (Web Push on) on an external NATS server,
// then stops that server: the answers of an outage.
func startNATSDown(t *testing.T, env *pushEnv) *instance {
	t.Helper()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(wait) {
		t.Fatal("nats not ready")
	}
	in := start(t, options{natsURL: ns.ClientURL(), mutate: func(c *server.Options) {
		c.Limits = server.Limits{ReaderConnects: -1, APIRequests: -1, AuthFailures: -1}
		withPush(env)(c)
		// Outage answers come after a timeout: keep it short.
		c.Stream.Timeout, c.Audit.Timeout, c.Push.Timeout = time.Second, time.Second, time.Second
	}})
	ns.Shutdown()
	ns.WaitForShutdown()
	return in
}

func contractRows() []contractRow {
	ed := func(kv ...string) map[string]string {
		return hdr(append([]string{"Authorization", editorAuth}, kv...)...)
	}
	draft := `{"text":"Ceasefire announced","lang":"en","regions":["mena"],"topics":["politics"],"source":"Reuters","url":"https://example.com/a","priority":"flash"}`
	big := `{"text":"` + strings.Repeat("x", 70<<10) + `","lang":"en","regions":["mena"]}`
	fcmTok, apnsTok := "cT0k:APA91b"+strings.Repeat("Ab3_-", 30), strings.Repeat("0a1b2c3d", 8)
	sub := `{"subscription":{sub},"filter":{"regions":["mena"],"topics":[],"langs":["en"]}}`
	badSub := func(endpoint, p256dh, auth, filter string) string {
		return `{"subscription":{"endpoint":"` + endpoint + `","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}},"filter":` + filter + `}`
	}
	const (
		fcm   = "https://fcm.googleapis.com/fcm/send/abc"
		p256  = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
		auth  = "tBHItJI5svbpez7KI4CCXg"
		noFil = `{}`
	)
	// A good subscription with bad prefs: refused before anything is stored.
	badSubPrefs := func(prefs string) string {
		return `{"subscription":{"endpoint":"` + fcm + `","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}},"prefs":` + prefs + `}`
	}
	manyStories := strings.TrimSuffix(strings.Repeat(`"war-on-gaza",`, 21), ",")
	rows := []contractRow{
		// Health and the document itself.
		{name: "healthz", method: "GET", path: "/healthz", status: 200},
		{name: "readyz", method: "GET", path: "/readyz", status: 200},
		{name: "readyz NATS down", on: "natsdown", method: "GET", path: "/readyz", status: 503},
		{name: "metrics", method: "GET", path: "/metrics", status: 200},
		{name: "metrics not allowed", on: "off", method: "GET", path: "/metrics", status: 403, code: "forbidden"},
		{name: "openapi", method: "GET", path: "/api/v1/openapi.json", status: 200, check: checkServedContract},
		{name: "feed json", method: "GET", path: "/feeds/items.json?regions=mena&langs=en,ar&limit=5", status: 200},
		{name: "feed atom", method: "GET", path: "/feeds/items.atom?topics=politics", status: 200},
		{name: "feed rss", method: "GET", path: "/feeds/items.rss", status: 200},
		{name: "feed json not modified", method: "GET", path: "/feeds/items.json", hdr: hdr("If-None-Match", "*"), status: 304},
		{name: "feed atom not modified", method: "GET", path: "/feeds/items.atom", hdr: hdr("If-None-Match", "*"), status: 304},
		{name: "feed rss not modified", method: "GET", path: "/feeds/items.rss", hdr: hdr("If-None-Match", "*"), status: 304},
		{name: "openapi not modified", method: "GET", path: "/api/v1/openapi.json", hdr: hdr("If-None-Match", "{etag}"), status: 304},

		// Taxonomy and lists.
		{name: "taxonomy", method: "GET", path: "/api/v1/taxonomy", status: 200},
		{name: "list", method: "GET", path: "/api/v1/items?regions=mena,europe&topics=politics&langs=en&limit=1", status: 200, check: varyAuthorization},
		{name: "list as editor", method: "GET", path: "/api/v1/items?limit=100", hdr: ed(), status: 200, check: varyAuthorization},
		{name: "list bad token", method: "GET", path: "/api/v1/items", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "list page 2", method: "GET", path: "/api/v1/items?limit=100&before=2", status: 200},
		{name: "list unknown region", method: "GET", path: "/api/v1/items?regions=mars", status: 400, code: "unknown_region", field: "regions"},
		{name: "list unknown topic", method: "GET", path: "/api/v1/items?topics=gossip", status: 400, code: "unknown_topic", field: "topics"},
		{name: "list unknown lang", method: "GET", path: "/api/v1/items?langs=xx", status: 400, code: "unknown_lang", field: "langs"},
		{name: "list too many regions", method: "GET", path: "/api/v1/items?regions=" + strings.Repeat("mena,", 65), status: 400, code: "too_many_regions", field: "regions"},
		{name: "list too many topics", method: "GET", path: "/api/v1/items?topics=" + strings.Repeat("sports,", 65), status: 400, code: "too_many_topics", field: "topics"},
		{name: "list too many langs", method: "GET", path: "/api/v1/items?langs=" + strings.Repeat("en,", 65), status: 400, code: "too_many_langs", field: "langs"},
		{name: "list limit 0", method: "GET", path: "/api/v1/items?limit=0", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "list limit 101", method: "GET", path: "/api/v1/items?limit=101", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "list before word", method: "GET", path: "/api/v1/items?before=x", status: 400, code: "invalid_before", field: "before", req: refused},

		// One item.
		{name: "get", method: "GET", path: "/api/v1/items/{live}", status: 200, check: varyAuthorization},
		{name: "get retracted", method: "GET", path: "/api/v1/items/{retracted}", status: 200, check: func(t *testing.T, h http.Header, b []byte) {
			varyAuthorization(t, h, b)
			var it map[string]any
			if err := json.Unmarshal(b, &it); err != nil {
				t.Fatal(err)
			}
			if _, ok := it["url"]; it["status"] != "retracted" || it["text"] != "" || ok {
				t.Errorf("the public sees a retracted item's text or url: %s", b)
			}
		}},
		{name: "get retracted as editor", method: "GET", path: "/api/v1/items/{retracted}", hdr: ed(), status: 200, check: func(t *testing.T, h http.Header, b []byte) {
			varyAuthorization(t, h, b)
			var it news.Item
			if err := json.Unmarshal(b, &it); err != nil {
				t.Fatal(err)
			}
			if it.Status != news.StatusRetracted || it.Text != "A retracted item" || it.URL == "" || it.Editor == "" {
				t.Errorf("an editor does not see the whole retracted item: %s", b)
			}
		}},
		{name: "get basic auth is the public", method: "GET", path: "/api/v1/items/{live}", hdr: hdr("Authorization", "Basic YTpi"), status: 200},
		{name: "get bad token", method: "GET", path: "/api/v1/items/{live}", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "get unknown", method: "GET", path: "/api/v1/items/{unknown}", status: 404, code: "not_found"},
		{name: "get malformed id", method: "GET", path: "/api/v1/items/NOT-AN-ID", status: 404, code: "not_found", req: refused},
		{name: "get NATS down", on: "natsdown", method: "GET", path: "/api/v1/items/{unknown}", status: 503, code: "unavailable"},

		// Post.
		{name: "post", method: "POST", path: "/api/v1/items", body: draft, hdr: ed(), status: 201},
		{name: "post with alert", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"priority":"flash","alert":true}`, hdr: ed(), status: 201,
			check: func(t *testing.T, _ http.Header, b []byte) {
				var it news.Item
				if err := json.Unmarshal(b, &it); err != nil || !it.Alert || it.AlertedAt == nil {
					t.Errorf("posted %s (%v), want alert and alerted_at", b, err)
				}
			}},
		{name: "post alert a string", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"alert":"yes"}`, hdr: ed(), status: 400, code: "invalid_type", field: "alert", req: refused},
		{name: "post alert a number", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"alert":1}`, hdr: ed(), status: 400, code: "invalid_type", field: "alert", req: refused},
		{name: "post minimal", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"es","regions":["latin-america"]}`, hdr: ed(), status: 201},
		{name: "post with key", method: "POST", path: "/api/v1/items", body: draft, hdr: ed("Idempotency-Key", "contract-1"), status: 201},
		{name: "post replayed", method: "POST", path: "/api/v1/items", body: draft, hdr: ed("Idempotency-Key", "contract-1"), status: 201,
			check: func(t *testing.T, h http.Header, _ []byte) {
				if h.Get("Idempotent-Replayed") != "true" {
					t.Errorf("no Idempotent-Replayed: %v", h)
				}
			}},
		{name: "post key reused", method: "POST", path: "/api/v1/items", body: item("Another line", "en", []string{"mena"}, nil), hdr: ed("Idempotency-Key", "contract-1"), status: 422, code: "idempotency_key_reused", field: "Idempotency-Key"},
		{name: "post key too long", method: "POST", path: "/api/v1/items", body: draft, hdr: ed("Idempotency-Key", strings.Repeat("k", 256)), status: 400, code: "invalid_idempotency_key", field: "Idempotency-Key", req: refused},
		{name: "post no token", method: "POST", path: "/api/v1/items", body: draft, status: 401, code: "missing_token", req: refused},
		{name: "post basic auth", method: "POST", path: "/api/v1/items", body: draft, hdr: hdr("Authorization", "Basic YTpi"), status: 401, code: "missing_token", req: refused},
		{name: "post bad token", method: "POST", path: "/api/v1/items", body: draft, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "post empty body", method: "POST", path: "/api/v1/items", hdr: ed(), status: 400, code: "empty_body", req: refused},
		{name: "post malformed", method: "POST", path: "/api/v1/items", body: `{"text":`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "post trailing data", method: "POST", path: "/api/v1/items", body: draft + `{}`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "post invalid utf8", method: "POST", path: "/api/v1/items", body: "{\"text\":\"\xff\",\"lang\":\"en\",\"regions\":[\"mena\"]}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "post wrong type", method: "POST", path: "/api/v1/items", body: `{"text":1,"lang":"en","regions":["mena"]}`, hdr: ed(), status: 400, code: "invalid_type", field: "text", req: refused},
		{name: "post unknown field", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"colour":"red"}`, hdr: ed(), status: 400, code: "unknown_field", field: "colour", req: refused},
		{name: "post control char", method: "POST", path: "/api/v1/items", body: `{"text":"a\u0007b","lang":"en","regions":["mena"]}`, hdr: ed(), status: 400, code: "invalid_text", field: "text"},
		{name: "post blank text", method: "POST", path: "/api/v1/items", body: `{"text":"   ","lang":"en","regions":["mena"]}`, hdr: ed(), status: 400, code: "empty_text", field: "text"},
		{name: "post text too long", method: "POST", path: "/api/v1/items", body: item(strings.Repeat("é", 601), "en", []string{"mena"}, nil), hdr: ed(), status: 400, code: "text_too_long", field: "text", req: refused},
		{name: "post no lang", method: "POST", path: "/api/v1/items", body: `{"text":"x","regions":["mena"]}`, hdr: ed(), status: 400, code: "missing_lang", field: "lang", req: refused},
		{name: "post unknown lang", method: "POST", path: "/api/v1/items", body: item("x", "xx", []string{"mena"}, nil), hdr: ed(), status: 400, code: "unknown_lang", field: "lang"},
		{name: "post no regions", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":[]}`, hdr: ed(), status: 400, code: "missing_regions", field: "regions", req: refused},
		{name: "post unknown region", method: "POST", path: "/api/v1/items", body: item("x", "en", []string{"mars"}, nil), hdr: ed(), status: 400, code: "unknown_region", field: "regions"},
		{name: "post too many regions", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["africa","asia","asia-pacific","europe","latin-america","mena","palestine","us-canada","Mena "]}`, hdr: ed(), status: 201, req: refused},
		{name: "post too many regions (taxonomy of 10)", on: "off", method: "POST", path: "/api/v1/items", body: item("x", "en", []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}, nil), hdr: ed(), status: 400, code: "too_many_regions", field: "regions", req: refused},
		{name: "post too many topics (taxonomy of 10)", on: "off", method: "POST", path: "/api/v1/items", body: item("x", "en", []string{"r1"}, []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}), hdr: ed(), status: 400, code: "too_many_topics", field: "topics", req: refused},
		{name: "post unknown topic", method: "POST", path: "/api/v1/items", body: item("x", "en", []string{"mena"}, []string{"gossip"}), hdr: ed(), status: 400, code: "unknown_topic", field: "topics"},
		{name: "post bad source", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"source":"a\u0000"}`, hdr: ed(), status: 400, code: "invalid_source", field: "source"},
		{name: "post source too long", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"source":"` + strings.Repeat("s", 121) + `"}`, hdr: ed(), status: 400, code: "source_too_long", field: "source", req: refused},
		{name: "post bad url", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"url":"ftp://example.com/"}`, hdr: ed(), status: 400, code: "invalid_url", field: "url"},
		{name: "post bad priority", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"priority":"whenever"}`, hdr: ed(), status: 400, code: "invalid_priority", field: "priority", req: refused},
		{name: "post too large", method: "POST", path: "/api/v1/items", body: big, hdr: ed(), status: 413, code: "body_too_large", req: refused},
		{name: "post alert as reporter", method: "POST", path: "/api/v1/items", body: `{"text":"a reporter's alert","lang":"en","regions":["mena"],"alert":true}`, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden", field: "alert"},
		{name: "promote as reporter", method: "PATCH", path: "/api/v1/items/{live}", body: `{"alert":true}`, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden", field: "alert"},
		{name: "post text/plain", method: "POST", path: "/api/v1/items", body: draft, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "post key of an item gone", on: "gone", method: "POST", path: "/api/v1/items", body: goneDraft, hdr: ed("Idempotency-Key", goneKey), status: 409, code: "idempotency_item_gone", field: "Idempotency-Key"},
		{name: "post first alert (guarded)", on: "off", method: "POST", path: "/api/v1/items", body: `{"text":"Guarded alert","lang":"en","regions":["r1"],"alert":true}`, hdr: ed(), status: 201},
		{name: "post duplicate alert", on: "off", method: "POST", path: "/api/v1/items", body: `{"text":" guarded  ALERT","lang":"en","regions":["r1"],"alert":true}`, hdr: ed(), status: 409, code: "duplicate_alert", field: "text", check: hasPreviousItem},
		{name: "post alert too soon", on: "off", method: "POST", path: "/api/v1/items", body: `{"text":"Another alert","lang":"en","regions":["r1"],"alert":true}`, hdr: ed(), status: 409, code: "alert_too_soon", field: "alert", check: hasPreviousItem},
		{name: "post alert too soon, confirmed", on: "off", method: "POST", path: "/api/v1/items", body: `{"text":"Another alert","lang":"en","regions":["r1"],"alert":true,"confirm":true}`, hdr: ed(), status: 201},
		{name: "post confirm a string", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"alert":true,"confirm":"yes"}`, hdr: ed(), status: 400, code: "invalid_type", field: "confirm", req: refused},
		{name: "post NATS down", on: "natsdown", method: "POST", path: "/api/v1/items", body: draft, hdr: ed(), status: 503, code: "unavailable"},

		// Correct.
		{name: "patch", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"A live item, corrected","priority":"urgent","topics":[],"source":"","url":null}`, hdr: ed(), status: 200},
		{name: "patch promote", method: "PATCH", path: "/api/v1/items/{promote}", body: `{"alert":true}`, hdr: ed(), status: 200,
			check: func(t *testing.T, _ http.Header, b []byte) {
				var it news.Item
				if err := json.Unmarshal(b, &it); err != nil || !it.Alert || it.AlertedAt == nil || it.Version != 2 {
					t.Errorf("promoted %s (%v), want alert, alerted_at and version 2", b, err)
				}
			}},
		{name: "patch promote again", method: "PATCH", path: "/api/v1/items/{promote}", body: `{"alert":true}`, hdr: ed(), status: 200,
			check: func(t *testing.T, _ http.Header, b []byte) {
				var it news.Item
				if err := json.Unmarshal(b, &it); err != nil || it.Version != 2 {
					t.Errorf("promoted again %s (%v), want version 2 (nothing new)", b, err)
				}
			}},
		{name: "patch unsend alert", method: "PATCH", path: "/api/v1/items/{promote}", body: `{"alert":false}`, hdr: ed(), status: 409, code: "alert_already_sent", field: "alert"},
		{name: "patch promote too soon", on: "off", method: "PATCH", path: "/api/v1/items/{offticker}", body: `{"alert":true}`, hdr: ed(), status: 409, code: "alert_too_soon", field: "alert", check: hasPreviousItem},
		{name: "patch promote duplicate", on: "off", method: "PATCH", path: "/api/v1/items/{offticker}", body: `{"text":"Guarded alert","alert":true}`, hdr: ed(), status: 409, code: "duplicate_alert", field: "text", check: hasPreviousItem},
		{name: "patch promote too soon, confirmed", on: "off", method: "PATCH", path: "/api/v1/items/{offticker}", body: `{"alert":true,"confirm":true}`, hdr: ed(), status: 200},
		{name: "patch confirm a number", method: "PATCH", path: "/api/v1/items/{live}", body: `{"alert":true,"confirm":1}`, hdr: ed(), status: 400, code: "invalid_type", field: "confirm", req: refused},
		{name: "patch alert a string", method: "PATCH", path: "/api/v1/items/{live}", body: `{"alert":"true"}`, hdr: ed(), status: 400, code: "invalid_type", field: "alert", req: refused},
		{name: "patch no change", method: "PATCH", path: "/api/v1/items/{live}", body: `{"priority":"urgent"}`, hdr: ed(), status: 200},
		{name: "patch empty", method: "PATCH", path: "/api/v1/items/{live}", body: `{}`, hdr: ed(), status: 400, code: "empty_patch", req: refused},
		{name: "patch lang", method: "PATCH", path: "/api/v1/items/{live}", body: `{"lang":"ar"}`, hdr: ed(), status: 400, code: "unknown_field", field: "lang", req: refused},
		{name: "patch too many topics", method: "PATCH", path: "/api/v1/items/{live}", body: `{"topics":["politics","economy","sports","arts-culture","health","miscellaneous","technology","environment","ECONOMY"]}`, hdr: ed(), status: 200, req: refused},
		{name: "patch no token", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"x"}`, status: 401, code: "missing_token", req: refused},
		{name: "patch bad token", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"x"}`, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "patch unknown", method: "PATCH", path: "/api/v1/items/{unknown}", body: `{"text":"x"}`, hdr: ed(), status: 404, code: "not_found"},
		{name: "patch retracted", method: "PATCH", path: "/api/v1/items/{retracted}", body: `{"text":"x"}`, hdr: ed(), status: 409, code: "item_retracted"},
		{name: "patch empty body", method: "PATCH", path: "/api/v1/items/{live}", hdr: ed(), status: 400, code: "empty_body", req: refused},
		{name: "patch malformed", method: "PATCH", path: "/api/v1/items/{live}", body: `[`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "patch invalid utf8", method: "PATCH", path: "/api/v1/items/{live}", body: "{\"text\":\"\xc3\"}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "patch wrong type", method: "PATCH", path: "/api/v1/items/{live}", body: `{"regions":"mena"}`, hdr: ed(), status: 400, code: "invalid_type", field: "regions", req: refused},
		{name: "patch control char", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"\u001b"}`, hdr: ed(), status: 400, code: "invalid_text", field: "text"},
		{name: "patch blank text", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"\n\t"}`, hdr: ed(), status: 400, code: "empty_text", field: "text"},
		{name: "patch text too long", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"` + strings.Repeat("t", 601) + `"}`, hdr: ed(), status: 400, code: "text_too_long", field: "text", req: refused},
		{name: "patch no regions", method: "PATCH", path: "/api/v1/items/{live}", body: `{"regions":[]}`, hdr: ed(), status: 400, code: "missing_regions", field: "regions", req: refused},
		{name: "patch unknown region", method: "PATCH", path: "/api/v1/items/{live}", body: `{"regions":["mars"]}`, hdr: ed(), status: 400, code: "unknown_region", field: "regions"},
		{name: "patch too many regions (taxonomy of 10)", on: "off", method: "PATCH", path: "/api/v1/items/{offlive}", body: `{"regions":["r1","r2","r3","r4","r5","r6","r7","r8","r9"]}`, hdr: ed(), status: 400, code: "too_many_regions", field: "regions", req: refused},
		{name: "patch too many topics (taxonomy of 10)", on: "off", method: "PATCH", path: "/api/v1/items/{offlive}", body: `{"topics":["t1","t2","t3","t4","t5","t6","t7","t8","t9"]}`, hdr: ed(), status: 400, code: "too_many_topics", field: "topics", req: refused},
		{name: "patch unknown topic", method: "PATCH", path: "/api/v1/items/{live}", body: `{"topics":["gossip"]}`, hdr: ed(), status: 400, code: "unknown_topic", field: "topics"},
		{name: "patch bad source", method: "PATCH", path: "/api/v1/items/{live}", body: `{"source":"\u007f"}`, hdr: ed(), status: 400, code: "invalid_source", field: "source"},
		{name: "patch source too long", method: "PATCH", path: "/api/v1/items/{live}", body: `{"source":"` + strings.Repeat("s", 121) + `"}`, hdr: ed(), status: 400, code: "source_too_long", field: "source", req: refused},
		{name: "patch bad url", method: "PATCH", path: "/api/v1/items/{live}", body: `{"url":"https://user:pw@example.com/"}`, hdr: ed(), status: 400, code: "invalid_url", field: "url"},
		{name: "patch bad priority", method: "PATCH", path: "/api/v1/items/{live}", body: `{"priority":"now"}`, hdr: ed(), status: 400, code: "invalid_priority", field: "priority", req: refused},
		{name: "patch too large", method: "PATCH", path: "/api/v1/items/{live}", body: big, hdr: ed(), status: 413, code: "body_too_large", req: refused},
		{name: "patch text/plain", method: "PATCH", path: "/api/v1/items/{live}", body: `{"text":"x"}`, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "patch NATS down", on: "natsdown", method: "PATCH", path: "/api/v1/items/{unknown}", body: `{"text":"x"}`, hdr: ed(), status: 503, code: "unavailable"},

		// Retract.
		{name: "delete", method: "DELETE", path: "/api/v1/items/{delete}", hdr: ed(), status: 200},
		{name: "delete again", method: "DELETE", path: "/api/v1/items/{delete}", hdr: ed(), status: 200},

		// Scheduled items.
		{name: "schedule", method: "POST", path: "/api/v1/items", body: `{"text":"Later","lang":"en","regions":["mena"],"publish_at":"{later}"}`, hdr: ed(), status: 201},
		{name: "schedule in the past", method: "POST", path: "/api/v1/items", body: `{"text":"Later","lang":"en","regions":["mena"],"publish_at":"{past}"}`, hdr: ed(), status: 400, code: "invalid_publish_at", field: "publish_at"},
		{name: "list scheduled", method: "GET", path: "/api/v1/items?status=scheduled", hdr: ed(), status: 200},
		{name: "list cancelled", method: "GET", path: "/api/v1/items?status=cancelled", hdr: ed(), status: 200},
		{name: "list missed", method: "GET", path: "/api/v1/items?status=missed", hdr: ed(), status: 200},
		{name: "list live", method: "GET", path: "/api/v1/items?status=live", status: 200},
		{name: "list scheduled no token", method: "GET", path: "/api/v1/items?status=scheduled", status: 401, code: "missing_token", field: "status"},
		{name: "list bad status", method: "GET", path: "/api/v1/items?status=draft", hdr: ed(), status: 400, code: "invalid_status", field: "status"},
		{name: "get scheduled", method: "GET", path: "/api/v1/items/{scheduled}", hdr: ed(), status: 200},
		{name: "get scheduled public", method: "GET", path: "/api/v1/items/{scheduled}", status: 404, code: "not_found"},
		{name: "patch scheduled", method: "PATCH", path: "/api/v1/items/{scheduled}", body: `{"text":"Rescheduled","publish_at":"{muchlater}"}`, hdr: ed(), status: 200},
		{name: "patch scheduled bad publish_at", method: "PATCH", path: "/api/v1/items/{scheduled}", body: `{"publish_at":"soon"}`, hdr: ed(), status: 400, code: "invalid_publish_at", field: "publish_at"},
		{name: "patch live publish_at", method: "PATCH", path: "/api/v1/items/{live}", body: `{"publish_at":"{later}"}`, hdr: ed(), status: 400, code: "invalid_publish_at", field: "publish_at"},
		{name: "patch cancelled", method: "PATCH", path: "/api/v1/items/{cancelled}", body: `{"text":"x"}`, hdr: ed(), status: 409, code: "item_cancelled"},
		{name: "cancel scheduled", method: "DELETE", path: "/api/v1/items/{cancel}", hdr: ed(), status: 200},
		{name: "delete no token", method: "DELETE", path: "/api/v1/items/{live}", status: 401, code: "missing_token", req: refused},
		{name: "delete bad token", method: "DELETE", path: "/api/v1/items/{live}", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "delete unknown", method: "DELETE", path: "/api/v1/items/{unknown}", hdr: ed(), status: 404, code: "not_found"},
		{name: "delete NATS down", on: "natsdown", method: "DELETE", path: "/api/v1/items/{unknown}", hdr: ed(), status: 503, code: "unavailable"},

		// WebSocket.
		{name: "ws", method: "GET", path: "/api/v1/ws?regions=mena&langs=en,ar&backfill=5", hdr: wsHandshake(), status: 101},
		{name: "ws resume", method: "GET", path: "/api/v1/ws?since=1&epoch=abc", hdr: wsHandshake("Origin", "http://{host}"), status: 101},
		{name: "ws unknown region", method: "GET", path: "/api/v1/ws?regions=mars", hdr: wsHandshake(), status: 400, code: "unknown_region", field: "regions"},
		{name: "ws unknown topic", method: "GET", path: "/api/v1/ws?topics=gossip", hdr: wsHandshake(), status: 400, code: "unknown_topic", field: "topics"},
		{name: "ws unknown lang", method: "GET", path: "/api/v1/ws?langs=xx", hdr: wsHandshake(), status: 400, code: "unknown_lang", field: "langs"},
		{name: "ws too many regions", method: "GET", path: "/api/v1/ws?regions=" + strings.Repeat("asia,", 65), hdr: wsHandshake(), status: 400, code: "too_many_regions", field: "regions"},
		{name: "ws too many topics", method: "GET", path: "/api/v1/ws?topics=" + strings.Repeat("health,", 65), hdr: wsHandshake(), status: 400, code: "too_many_topics", field: "topics"},
		{name: "ws too many langs", method: "GET", path: "/api/v1/ws?langs=" + strings.Repeat("ar,", 65), hdr: wsHandshake(), status: 400, code: "too_many_langs", field: "langs"},
		{name: "ws bad since", method: "GET", path: "/api/v1/ws?since=-1", hdr: wsHandshake(), status: 400, code: "invalid_since", field: "since", req: refused},
		{name: "ws bad backfill", method: "GET", path: "/api/v1/ws?backfill=101", hdr: wsHandshake(), status: 400, code: "invalid_backfill", field: "backfill", req: refused},
		{name: "ws long epoch", method: "GET", path: "/api/v1/ws?epoch=" + strings.Repeat("e", 65), hdr: wsHandshake(), status: 400, code: "invalid_epoch", field: "epoch", req: refused},
		{name: "ws bad version", method: "GET", path: "/api/v1/ws", hdr: wsHandshake("Sec-WebSocket-Version", "8"), status: 400, req: refused},
		{name: "ws no key", method: "GET", path: "/api/v1/ws", hdr: wsHandshake("Sec-WebSocket-Key", ""), status: 400, req: refused},
		{name: "ws other origin", method: "GET", path: "/api/v1/ws", hdr: wsHandshake("Origin", "https://evil.example"), status: 403, code: "origin_not_allowed", field: "Origin"},
		{name: "ws plain GET", method: "GET", path: "/api/v1/ws", status: 426, code: "upgrade_required", req: refused},
		{name: "ws no Connection upgrade", method: "GET", path: "/api/v1/ws", hdr: wsHandshake("Connection", "keep-alive"), status: 426},
		{name: "ws too many readers", on: "readers1", method: "GET", path: "/api/v1/ws", hdr: wsHandshake(), status: 429, code: "too_many_readers", until: true},
		{name: "ws too many connects", on: "readers1", method: "GET", path: "/api/v1/ws", hdr: wsHandshake(), status: 429, code: "too_many_connects", until: true},
		{name: "ws server full", on: "full", method: "GET", path: "/api/v1/ws", hdr: wsHandshake(), status: 503, code: "server_full"},

		// SSE.
		{name: "sse", method: "GET", path: "/api/v1/sse?topics=politics&backfill=0", status: 200, check: checkSSEWelcome},
		{name: "sse last event id", method: "GET", path: "/api/v1/sse?since=99", hdr: hdr("Last-Event-ID", "1"), status: 200, check: checkSSEWelcome},
		{name: "sse unknown region", method: "GET", path: "/api/v1/sse?regions=mars", status: 400, code: "unknown_region", field: "regions"},
		{name: "sse unknown topic", method: "GET", path: "/api/v1/sse?topics=gossip", status: 400, code: "unknown_topic", field: "topics"},
		{name: "sse unknown lang", method: "GET", path: "/api/v1/sse?langs=xx", status: 400, code: "unknown_lang", field: "langs"},
		{name: "sse too many regions", method: "GET", path: "/api/v1/sse?regions=" + strings.Repeat("asia,", 65), status: 400, code: "too_many_regions", field: "regions"},
		{name: "sse too many topics", method: "GET", path: "/api/v1/sse?topics=" + strings.Repeat("health,", 65), status: 400, code: "too_many_topics", field: "topics"},
		{name: "sse too many langs", method: "GET", path: "/api/v1/sse?langs=" + strings.Repeat("ar,", 65), status: 400, code: "too_many_langs", field: "langs"},
		{name: "sse bad Last-Event-ID", method: "GET", path: "/api/v1/sse", hdr: hdr("Last-Event-ID", "x"), status: 400, code: "invalid_since", field: "Last-Event-ID", req: refused},
		{name: "sse bad backfill", method: "GET", path: "/api/v1/sse?backfill=x", status: 400, code: "invalid_backfill", field: "backfill", req: refused},
		{name: "sse long epoch", method: "GET", path: "/api/v1/sse?epoch=" + strings.Repeat("e", 65), status: 400, code: "invalid_epoch", field: "epoch", req: refused},
		{name: "sse too many readers", on: "readers1", method: "GET", path: "/api/v1/sse", status: 429, code: "too_many_readers", until: true},
		{name: "sse too many connects", on: "readers1", method: "GET", path: "/api/v1/sse", status: 429, code: "too_many_connects", until: true},
		{name: "sse server full", on: "full", method: "GET", path: "/api/v1/sse", status: 503, code: "server_full"},

		// Audit.
		{name: "audit", method: "GET", path: "/api/v1/audit?limit=2", hdr: ed(), status: 200},
		{name: "audit filtered", method: "GET", path: "/api/v1/audit?item={retracted}&editor=alice&since=2020-01-01T00:00:00Z&cursor=1", hdr: ed(), status: 200},
		{name: "audit bad item", method: "GET", path: "/api/v1/audit?item=x", hdr: ed(), status: 400, code: "invalid_item", field: "item", req: refused},
		{name: "audit bad editor", method: "GET", path: "/api/v1/audit?editor=a%20b", hdr: ed(), status: 400, code: "invalid_editor", field: "editor", req: refused},
		{name: "audit bad since", method: "GET", path: "/api/v1/audit?since=yesterday", hdr: ed(), status: 400, code: "invalid_since", field: "since", req: refused},
		{name: "audit bad cursor", method: "GET", path: "/api/v1/audit?cursor=0", hdr: ed(), status: 400, code: "invalid_cursor", field: "cursor", req: refused},
		{name: "audit bad limit", method: "GET", path: "/api/v1/audit?limit=1001", hdr: ed(), status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "audit no token", method: "GET", path: "/api/v1/audit", status: 401, code: "missing_token", req: refused},
		{name: "audit bad token", method: "GET", path: "/api/v1/audit", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "audit NATS down", on: "natsdown", method: "GET", path: "/api/v1/audit", hdr: ed(), status: 503, code: "unavailable"},
		{name: "audit as editor", method: "GET", path: "/api/v1/audit", hdr: hdr("Authorization", "Bearer "+plainToken), status: 403, code: "forbidden"},

		// Editor accounts (admin only).
		{name: "editors me", method: "GET", path: "/api/v1/editors/me", hdr: ed(), status: 200},
		{name: "editors me reporter", method: "GET", path: "/api/v1/editors/me", hdr: hdr("Authorization", "Bearer "+reporterToken), status: 200},
		{name: "editors me no token", method: "GET", path: "/api/v1/editors/me", status: 401, code: "missing_token", req: refused},
		{name: "editors me bad token", method: "GET", path: "/api/v1/editors/me", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "editors", method: "GET", path: "/api/v1/editors", hdr: ed(), status: 200},
		{name: "editors no token", method: "GET", path: "/api/v1/editors", status: 401, code: "missing_token", req: refused},
		{name: "editors bad token", method: "GET", path: "/api/v1/editors", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "editors as reporter", method: "GET", path: "/api/v1/editors", hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "create editor", method: "POST", path: "/api/v1/editors", body: `{"name":"contract-bob","role":"reporter"}`, hdr: ed(), status: 201},
		{name: "create editor taken", method: "POST", path: "/api/v1/editors", body: `{"name":"contract-bob","role":"editor"}`, hdr: ed(), status: 409, code: "name_taken", field: "name"},
		{name: "create editor static name", method: "POST", path: "/api/v1/editors", body: `{"name":"alice","role":"editor"}`, hdr: ed(), status: 409, code: "name_taken", field: "name"},
		{name: "create editor bad name", method: "POST", path: "/api/v1/editors", body: `{"name":"a b","role":"editor"}`, hdr: ed(), status: 400, code: "invalid_name", field: "name", req: refused},
		{name: "create editor unknown role", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"boss"}`, hdr: ed(), status: 400, code: "invalid_role", field: "role", req: refused},
		{name: "create editor name not a string", method: "POST", path: "/api/v1/editors", body: `{"name":1,"role":"editor"}`, hdr: ed(), status: 400, code: "invalid_type", field: "name", req: refused},
		{name: "create editor unknown field", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"editor","token":"x"}`, hdr: ed(), status: 400, code: "unknown_field", field: "token", req: refused},
		{name: "create editor empty body", method: "POST", path: "/api/v1/editors", hdr: ed("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "create editor malformed", method: "POST", path: "/api/v1/editors", body: `{`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "create editor invalid utf8", method: "POST", path: "/api/v1/editors", body: "{\"name\":\"\xfe\",\"role\":\"editor\"}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "create editor too large", method: "POST", path: "/api/v1/editors", body: big, hdr: ed(), status: 413, code: "body_too_large", req: unchecked},
		{name: "create editor not json", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"editor"}`, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "create editor no token", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"editor"}`, status: 401, code: "missing_token", req: refused},
		{name: "create editor bad token", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"editor"}`, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "create editor as editor", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"editor"}`, hdr: hdr("Authorization", "Bearer "+plainToken), status: 403, code: "forbidden"},
		{name: "create editor NATS down", on: "natsdown", method: "POST", path: "/api/v1/editors", body: `{"name":"carol","role":"editor"}`, hdr: ed(), status: 503, code: "unavailable"},
		{name: "editor role", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"editor"}`, hdr: ed(), status: 200},
		{name: "editor role unknown", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"boss"}`, hdr: ed(), status: 400, code: "invalid_role", field: "role", req: refused},
		{name: "editor role not a string", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":true}`, hdr: ed(), status: 400, code: "invalid_type", field: "role", req: refused},
		{name: "editor role unknown field", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"editor","name":"x"}`, hdr: ed(), status: 400, code: "unknown_field", field: "name", req: refused},
		{name: "editor role empty body", method: "PATCH", path: "/api/v1/editors/contract-bob", hdr: ed("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "editor role malformed", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role"`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "editor role invalid utf8", method: "PATCH", path: "/api/v1/editors/contract-bob", body: "{\"role\":\"\xfe\"}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "editor role too large", method: "PATCH", path: "/api/v1/editors/contract-bob", body: big, hdr: ed(), status: 413, code: "body_too_large", req: unchecked},
		{name: "editor role not json", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"editor"}`, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "editor role static", method: "PATCH", path: "/api/v1/editors/alice", body: `{"role":"reporter"}`, hdr: ed(), status: 409, code: "static_editor"},
		{name: "editor role unknown editor", method: "PATCH", path: "/api/v1/editors/nobody", body: `{"role":"editor"}`, hdr: ed(), status: 404, code: "not_found"},
		{name: "editor role no token", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"admin"}`, status: 401, code: "missing_token", req: refused},
		{name: "editor role bad token", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"admin"}`, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "editor role as reporter", method: "PATCH", path: "/api/v1/editors/contract-bob", body: `{"role":"admin"}`, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "editor role NATS down", on: "natsdown", method: "PATCH", path: "/api/v1/editors/carol", body: `{"role":"editor"}`, hdr: ed(), status: 503, code: "unavailable"},
		{name: "rotate editor token", method: "POST", path: "/api/v1/editors/contract-bob/token", hdr: ed(), status: 200},
		{name: "rotate static", method: "POST", path: "/api/v1/editors/alice/token", hdr: ed(), status: 409, code: "static_editor"},
		{name: "rotate unknown editor", method: "POST", path: "/api/v1/editors/nobody/token", hdr: ed(), status: 404, code: "not_found"},
		{name: "rotate no token", method: "POST", path: "/api/v1/editors/contract-bob/token", status: 401, code: "missing_token", req: refused},
		{name: "rotate bad token", method: "POST", path: "/api/v1/editors/contract-bob/token", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "rotate as editor", method: "POST", path: "/api/v1/editors/contract-bob/token", hdr: hdr("Authorization", "Bearer "+plainToken), status: 403, code: "forbidden"},
		{name: "rotate NATS down", on: "natsdown", method: "POST", path: "/api/v1/editors/carol/token", hdr: ed(), status: 503, code: "unavailable"},
		{name: "revoke editor", method: "DELETE", path: "/api/v1/editors/contract-bob", hdr: ed(), status: 204},
		{name: "revoke again", method: "DELETE", path: "/api/v1/editors/contract-bob", hdr: ed(), status: 404, code: "not_found"},
		{name: "revoke static", method: "DELETE", path: "/api/v1/editors/alice", hdr: ed(), status: 409, code: "static_editor"},
		{name: "revoke no token", method: "DELETE", path: "/api/v1/editors/contract-bob", status: 401, code: "missing_token", req: refused},
		{name: "revoke bad token", method: "DELETE", path: "/api/v1/editors/contract-bob", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "revoke as reporter", method: "DELETE", path: "/api/v1/editors/contract-bob", hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "revoke NATS down", on: "natsdown", method: "DELETE", path: "/api/v1/editors/carol", hdr: ed(), status: 503, code: "unavailable"},

		// Webhooks (admin only).
		{name: "webhooks", method: "GET", path: "/api/v1/webhooks", hdr: ed(), status: 200},
		{name: "webhooks no token", method: "GET", path: "/api/v1/webhooks", status: 401, code: "missing_token", req: refused},
		{name: "webhooks bad token", method: "GET", path: "/api/v1/webhooks", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "webhooks as editor", method: "GET", path: "/api/v1/webhooks", hdr: hdr("Authorization", "Bearer "+plainToken), status: 403, code: "forbidden"},
		{name: "webhooks NATS down", on: "natsdown", method: "GET", path: "/api/v1/webhooks", hdr: ed(), status: 503, code: "unavailable"},
		{name: "create webhook", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created","item.retracted"],"filter":{"regions":["mena"],"stories":["war-on-gaza"]},"alerts_only":true}`, hdr: ed(), status: 201},
		{name: "create webhook http", method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://hooks.example.org/in","events":["item.created"]}`, hdr: ed(), status: 400, code: "invalid_url", field: "url"},
		{name: "create webhook private address", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://10.0.0.1/in","events":["item.created"]}`, hdr: ed(), status: 400, code: "invalid_url", field: "url"},
		{name: "create webhook no events", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":[]}`, hdr: ed(), status: 400, code: "events_required", field: "events", req: refused},
		{name: "create webhook unknown event", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.deleted"]}`, hdr: ed(), status: 400, code: "unknown_event", field: "events", req: refused},
		{name: "create webhook unknown region", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"regions":["mars"]}}`, hdr: ed(), status: 400, code: "unknown_region", field: "filter.regions"},
		{name: "create webhook unknown topic", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"topics":["gossip"]}}`, hdr: ed(), status: 400, code: "unknown_topic", field: "filter.topics"},
		{name: "create webhook unknown lang", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"langs":["xx"]}}`, hdr: ed(), status: 400, code: "unknown_lang", field: "filter.langs"},
		{name: "create webhook unknown story", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"stories":["no-such-story"]}}`, hdr: ed(), status: 400, code: "unknown_story", field: "filter.stories"},
		{name: "create webhook too many regions", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"regions":[` + strings.TrimSuffix(strings.Repeat(`"asia",`, 65), ",") + `]}}`, hdr: ed(), status: 400, code: "too_many_regions", field: "filter.regions", req: refused},
		{name: "create webhook too many topics", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"topics":[` + strings.TrimSuffix(strings.Repeat(`"health",`, 65), ",") + `]}}`, hdr: ed(), status: 400, code: "too_many_topics", field: "filter.topics", req: refused},
		{name: "create webhook too many langs", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"langs":[` + strings.TrimSuffix(strings.Repeat(`"ar",`, 65), ",") + `]}}`, hdr: ed(), status: 400, code: "too_many_langs", field: "filter.langs", req: refused},
		{name: "create webhook too many stories", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"filter":{"stories":[` + strings.TrimSuffix(strings.Repeat(`"ended",`, 65), ",") + `]}}`, hdr: ed(), status: 400, code: "too_many_stories", field: "filter.stories", req: refused},
		{name: "create webhook unknown field", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `,"secret":"whsec_x"}`, hdr: ed(), status: 400, code: "unknown_field", field: "secret", req: refused},
		{name: "create webhook not a string", method: "POST", path: "/api/v1/webhooks", body: `{"url":1,"events":["item.created"]}`, hdr: ed(), status: 400, code: "invalid_type", field: "url", req: refused},
		{name: "create webhook empty body", method: "POST", path: "/api/v1/webhooks", hdr: ed("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "create webhook malformed", method: "POST", path: "/api/v1/webhooks", body: `{"url"`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "create webhook invalid utf8", method: "POST", path: "/api/v1/webhooks", body: "{\"url\":\"\xfe\",\"events\":[\"item.created\"]}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "create webhook too large", method: "POST", path: "/api/v1/webhooks", body: big, hdr: ed(), status: 413, code: "body_too_large", req: unchecked},
		{name: "create webhook not json", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `}`, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "create webhook no token", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `}`, status: 401, code: "missing_token", req: refused},
		{name: "create webhook bad token", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `}`, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "create webhook as reporter", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `}`, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "create webhook NATS down", on: "natsdown", method: "POST", path: "/api/v1/webhooks", body: `{"url":"https://hooks.example.org/in","events":["item.created"]` + `}`, hdr: ed(), status: 503, code: "unavailable"},
		{name: "rotate webhook", method: "POST", path: "/api/v1/webhooks/{webhook}/rotate", hdr: ed(), status: 200},
		{name: "rotate unknown webhook", method: "POST", path: "/api/v1/webhooks/{unknown}/rotate", hdr: ed(), status: 404, code: "not_found"},
		{name: "rotate webhook no token", method: "POST", path: "/api/v1/webhooks/{webhook}/rotate", status: 401, code: "missing_token", req: refused},
		{name: "rotate webhook bad token", method: "POST", path: "/api/v1/webhooks/{webhook}/rotate", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "rotate webhook as editor", method: "POST", path: "/api/v1/webhooks/{webhook}/rotate", hdr: hdr("Authorization", "Bearer "+plainToken), status: 403, code: "forbidden"},
		{name: "rotate webhook NATS down", on: "natsdown", method: "POST", path: "/api/v1/webhooks/{unknown}/rotate", hdr: ed(), status: 503, code: "unavailable"},
		{name: "delete webhook", method: "DELETE", path: "/api/v1/webhooks/{webhook}", hdr: ed(), status: 204},
		{name: "delete webhook again", method: "DELETE", path: "/api/v1/webhooks/{webhook}", hdr: ed(), status: 404, code: "not_found"},
		{name: "delete webhook no token", method: "DELETE", path: "/api/v1/webhooks/{webhook}", status: 401, code: "missing_token", req: refused},
		{name: "delete webhook bad token", method: "DELETE", path: "/api/v1/webhooks/{webhook}", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "delete webhook as reporter", method: "DELETE", path: "/api/v1/webhooks/{webhook}", hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "delete webhook NATS down", on: "natsdown", method: "DELETE", path: "/api/v1/webhooks/{unknown}", hdr: ed(), status: 503, code: "unavailable"},

		// Web Push.
		{name: "push key", method: "GET", path: "/api/v1/push/key", status: 200},
		{name: "push key off", on: "off", method: "GET", path: "/api/v1/push/key", status: 503, code: "push_disabled"},
		{name: "subscribe", method: "POST", path: "/api/v1/push/subscriptions", body: sub, status: 201},
		{name: "subscribe again", method: "POST", path: "/api/v1/push/subscriptions", body: sub, status: 200},
		{name: "subscribe over the hour's limit", method: "POST", path: "/api/v1/push/subscriptions", body: `{"subscription":{sub2}}`, status: 429, code: "too_many_subscriptions"},
		{name: "subscribe other auth", method: "POST", path: "/api/v1/push/subscriptions", body: `{"subscription":{subotherauth}}`, status: 403, code: "subscription_exists", field: "subscription.keys.auth"},
		{name: "subscribe empty body", method: "POST", path: "/api/v1/push/subscriptions", hdr: hdr("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "subscribe no content type", method: "POST", path: "/api/v1/push/subscriptions", body: sub, hdr: hdr("Content-Type", ""), status: 415, code: "unsupported_media_type", req: refused},
		{name: "subscribe no body, no content type", method: "POST", path: "/api/v1/push/subscriptions", status: 415, code: "unsupported_media_type", req: refused},
		{name: "subscribe malformed", method: "POST", path: "/api/v1/push/subscriptions", body: `{`, status: 400, code: "malformed_json", req: refused},
		{name: "subscribe invalid utf8", method: "POST", path: "/api/v1/push/subscriptions", body: "{\"subscription\":{\"endpoint\":\"\xfe\"}}", status: 400, code: "invalid_utf8", req: unchecked},
		{name: "subscribe wrong type", method: "POST", path: "/api/v1/push/subscriptions", body: `{"subscription":[]}`, status: 400, code: "invalid_type", field: "subscription", req: refused},
		{name: "subscribe unknown field", method: "POST", path: "/api/v1/push/subscriptions", body: `{"subscription":{"endpoint":"` + fcm + `","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}},"topic":"x"}`, status: 400, code: "unknown_field", field: "topic", req: refused},
		{name: "subscribe no endpoint", method: "POST", path: "/api/v1/push/subscriptions", body: badSub("", p256, auth, noFil), status: 400, code: "invalid_endpoint", field: "subscription.endpoint", req: refused},
		{name: "subscribe http endpoint", method: "POST", path: "/api/v1/push/subscriptions", body: badSub("http://fcm.googleapis.com/x", p256, auth, noFil), status: 400, code: "invalid_endpoint", field: "subscription.endpoint"},
		{name: "subscribe endpoint not allowed", method: "POST", path: "/api/v1/push/subscriptions", body: badSub("https://push.evil.example/x", p256, auth, noFil), status: 400, code: "endpoint_not_allowed", field: "subscription.endpoint"},
		{name: "subscribe bad p256dh", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, "AAAA", auth, noFil), status: 400, code: "invalid_p256dh", field: "subscription.keys.p256dh"},
		{name: "subscribe bad auth", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, p256, "AAAA", noFil), status: 400, code: "invalid_auth", field: "subscription.keys.auth"},
		{name: "subscribe comma in filter", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, p256, auth, `{"regions":["mena,asia"]}`), status: 400, code: "invalid_filter", field: "filter"},
		{name: "subscribe too many values", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, p256, auth, `{"langs":[`+strings.TrimSuffix(strings.Repeat(`"en",`, 65), ",")+`]}`), status: 400, code: "too_many_values", field: "filter", req: refused},
		{name: "subscribe unknown region", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, p256, auth, `{"regions":["mars"]}`), status: 400, code: "unknown_region", field: "filter.regions"},
		{name: "subscribe unknown topic", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, p256, auth, `{"topics":["gossip"]}`), status: 400, code: "unknown_topic", field: "filter.topics"},
		{name: "subscribe unknown lang", method: "POST", path: "/api/v1/push/subscriptions", body: badSub(fcm, p256, auth, `{"langs":["xx"]}`), status: 400, code: "unknown_lang", field: "filter.langs"},
		{name: "subscribe too large", method: "POST", path: "/api/v1/push/subscriptions", body: big, status: 413, code: "body_too_large", req: refused},
		{name: "subscribe text/plain", method: "POST", path: "/api/v1/push/subscriptions", body: sub, hdr: hdr("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "subscribe off", on: "off", method: "POST", path: "/api/v1/push/subscriptions", body: sub, status: 503, code: "push_disabled"},
		{name: "subscribe NATS down", on: "natsdown", method: "POST", path: "/api/v1/push/subscriptions", body: sub, status: 503, code: "unavailable"},
		// Dry runs (between "subscribe" and "unsubscribe": {subid} is a subscription).
		{name: "dry run post", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"text":"Would alert","lang":"en","regions":["mena"],"alert":true}`, hdr: ed(), status: 200, check: isDryRun(1, true)},
		{name: "dry run schedule", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"text":"Would alert later","lang":"en","regions":["mena"],"alert":true,"publish_at":"{later}"}`, hdr: ed(), status: 200, check: isDryRun(1, true)},
		{name: "dry run edit scheduled", method: "PATCH", path: "/api/v1/items/{scheduled}?dry_run=true", body: `{"text":"Would say this"}`, hdr: ed(), status: 200, check: isDryRun(0, true)},
		{name: "dry run post ticker", method: "POST", path: "/api/v1/items?dry_run=true", body: draft, hdr: ed(), status: 200, check: isDryRun(0, true)},
		{name: "dry run post test_to", method: "POST", path: "/api/v1/items?dry_run=true&test_to={subid}", body: `{"text":"Would alert","lang":"en","regions":["mena"],"alert":true}`, hdr: ed(), status: 200, check: isDryRun(1, true)},
		{name: "dry run post guarded, push off", on: "off", method: "POST", path: "/api/v1/items?dry_run=true", body: `{"text":"Guarded alert","lang":"en","regions":["r1"],"alert":true}`, hdr: ed(), status: 200, check: isDryRun(-1, false)},
		{name: "dry run promote", method: "PATCH", path: "/api/v1/items/{live}?dry_run=true&test_to={subid}", body: `{"alert":true}`, hdr: ed(), status: 200, check: isDryRun(1, true)},
		{name: "dry run promote guarded, push off", on: "off", method: "PATCH", path: "/api/v1/items/{offlive}?dry_run=true", body: `{"alert":true,"confirm":true}`, hdr: ed(), status: 200, check: isDryRun(-1, true)},
		{name: "dry run not a boolean", method: "POST", path: "/api/v1/items?dry_run=yes", body: draft, hdr: ed(), status: 400, code: "invalid_dry_run", field: "dry_run", req: refused},
		{name: "patch dry run not a boolean", method: "PATCH", path: "/api/v1/items/{live}?dry_run=1", body: `{"alert":true}`, hdr: ed(), status: 400, code: "invalid_dry_run", field: "dry_run", req: refused},
		{name: "test_to without dry run", method: "POST", path: "/api/v1/items?test_to={subid}", body: draft, hdr: ed(), status: 400, code: "test_needs_dry_run", field: "test_to"},
		{name: "patch test_to without dry run", method: "PATCH", path: "/api/v1/items/{live}?dry_run=false&test_to={subid}", body: `{"alert":true}`, hdr: ed(), status: 400, code: "test_needs_dry_run", field: "test_to"},
		{name: "test_to unknown", method: "POST", path: "/api/v1/items?dry_run=true&test_to=0123456789abcdef0123456789abcdef", body: draft, hdr: ed(), status: 404, code: "unknown_subscription", field: "test_to"},
		{name: "patch test_to unknown", method: "PATCH", path: "/api/v1/items/{live}?dry_run=true&test_to=nobody", body: `{"alert":true}`, hdr: ed(), status: 404, code: "unknown_subscription", field: "test_to"},
		{name: "test_to as reporter", method: "POST", path: "/api/v1/items?dry_run=true&test_to={subid}", body: draft, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden", field: "test_to"},
		{name: "unsubscribe wrong auth", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"{endpoint}","auth":"` + auth + `"}`, status: 404, code: "not_found"},
		{name: "unsubscribe", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"{endpoint}","auth":"{auth}"}`, status: 204},
		{name: "unsubscribe unknown endpoint", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"` + fcm + `","auth":"` + auth + `"}`, status: 404, code: "not_found"},
		{name: "unsubscribe empty body", method: "DELETE", path: "/api/v1/push/subscriptions", hdr: hdr("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "unsubscribe no content type", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"e","auth":"a"}`, hdr: hdr("Content-Type", ""), status: 415, code: "unsupported_media_type", req: refused},
		{name: "unsubscribe no body, no content type", method: "DELETE", path: "/api/v1/push/subscriptions", status: 415, code: "unsupported_media_type", req: refused},
		{name: "unsubscribe malformed", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":}`, status: 400, code: "malformed_json", req: refused},
		{name: "unsubscribe invalid utf8", method: "DELETE", path: "/api/v1/push/subscriptions", body: "{\"endpoint\":\"\xfe\",\"auth\":\"a\"}", status: 400, code: "invalid_utf8", req: unchecked},
		{name: "unsubscribe wrong type", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":1,"auth":"a"}`, status: 400, code: "invalid_type", field: "endpoint", req: refused},
		{name: "unsubscribe unknown field", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"e","auth":"a","p256dh":"x"}`, status: 400, code: "unknown_field", field: "p256dh", req: refused},
		{name: "unsubscribe no endpoint", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":" ","auth":"a"}`, status: 400, code: "invalid_endpoint", field: "endpoint"},
		{name: "unsubscribe no auth", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"e","auth":""}`, status: 400, code: "invalid_auth", field: "auth", req: refused},
		{name: "unsubscribe too large", method: "DELETE", path: "/api/v1/push/subscriptions", body: big, status: 413, code: "body_too_large", req: refused},
		{name: "unsubscribe text/plain", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"e","auth":"a"}`, hdr: hdr("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "unsubscribe off", on: "off", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"e","auth":"a"}`, status: 503, code: "push_disabled"},
		{name: "unsubscribe NATS down", on: "natsdown", method: "DELETE", path: "/api/v1/push/subscriptions", body: `{"endpoint":"e","auth":"a"}`, status: 503, code: "unavailable"},
		{name: "push stats", method: "GET", path: "/api/v1/push/stats", hdr: ed(), status: 200},
		{name: "push stats one item", method: "GET", path: "/api/v1/push/stats?item={live}", hdr: ed(), status: 200},
		{name: "push stats bad item", method: "GET", path: "/api/v1/push/stats?item=x", hdr: ed(), status: 400, code: "invalid_item", field: "item", req: refused},
		{name: "push stats no token", method: "GET", path: "/api/v1/push/stats", status: 401, code: "missing_token", req: refused},
		{name: "push stats bad token", method: "GET", path: "/api/v1/push/stats", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "receipt shown", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{receipt}","event":"shown"}`, status: 204},
		{name: "receipt shown again", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{receipt}","event":"shown"}`, status: 204},
		{name: "receipt clicked", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{receipt}","event":"clicked"}`, status: 204},
		{name: "push stats of an alert with receipts", on: "apps", method: "GET", path: "/api/v1/push/stats?item={appsalert}", hdr: ed(), status: 200},
		{name: "receipt forged", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{forgedreceipt}","event":"shown"}`, status: 400, code: "invalid_receipt", field: "receipt"},
		{name: "receipt malformed token", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"x","event":"shown"}`, status: 400, code: "invalid_receipt", field: "receipt"},
		{name: "receipt no token", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"event":"shown"}`, status: 400, code: "invalid_receipt", field: "receipt", req: refused},
		{name: "receipt other event", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{receipt}","event":"opened"}`, status: 400, code: "invalid_event", field: "event", req: refused},
		{name: "receipt of a ticker item", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{tickerreceipt}","event":"shown"}`, status: 400, code: "unknown_receipt", field: "receipt"},
		{name: "receipt empty body", on: "apps", method: "POST", path: "/api/v1/push/receipts", hdr: hdr("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "receipt malformed", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{`, status: 400, code: "malformed_json", req: refused},
		{name: "receipt invalid utf8", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: "{\"receipt\":\"\xfe\",\"event\":\"shown\"}", status: 400, code: "invalid_utf8", req: unchecked},
		{name: "receipt wrong type", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":1,"event":"shown"}`, status: 400, code: "invalid_type", field: "receipt", req: refused},
		{name: "receipt unknown field", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{receipt}","event":"shown","ua":"x"}`, status: 400, code: "unknown_field", field: "ua", req: refused},
		{name: "receipt no content type", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"{receipt}","event":"shown"}`, hdr: hdr("Content-Type", ""), status: 415, code: "unsupported_media_type", req: refused},
		{name: "receipt too large", on: "apps", method: "POST", path: "/api/v1/push/receipts", body: big, status: 413, code: "body_too_large", req: unchecked},
		{name: "receipt off", on: "off", method: "POST", path: "/api/v1/push/receipts", body: `{"receipt":"x","event":"shown"}`, status: 503, code: "push_disabled"},
		{name: "push stats off", on: "off", method: "GET", path: "/api/v1/push/stats", hdr: ed(), status: 503, code: "push_disabled"},
		{name: "push stats apps", on: "apps", method: "GET", path: "/api/v1/push/stats", hdr: ed(), status: 200},
		// App devices, on the instance with FCM and APNs (and no Web Push).
		{name: "device register android", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"android","token":"` + fcmTok + `","filter":{"regions":["mena"]}}`, status: 201},
		{name: "device register ios", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `"}`, status: 201},
		{name: "device register again", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + strings.ToUpper(apnsTok) + `","filter":{"langs":["en"]}}`, status: 200},
		{name: "device bad platform", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"web","token":"` + apnsTok + `"}`, status: 400, code: "invalid_platform", field: "platform", req: refused},
		{name: "device bad ios token", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"abc"}`, status: 400, code: "invalid_token", field: "token"},
		{name: "device bad android token", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"android","token":"` + strings.Repeat("a", 100) + `/"}`, status: 400, code: "invalid_token", field: "token"},
		{name: "device unknown region", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","filter":{"regions":["mars"]}}`, status: 400, code: "unknown_region", field: "filter.regions"},
		{name: "device comma in filter", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","filter":{"regions":["mena,asia"]}}`, status: 400, code: "invalid_filter", field: "filter"},
		{name: "device too many values", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","filter":{"langs":[` + strings.TrimSuffix(strings.Repeat(`"en",`, 65), ",") + `]}}`, status: 400, code: "too_many_values", field: "filter", req: refused},
		{name: "device unknown topic", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","filter":{"topics":["gossip"]}}`, status: 400, code: "unknown_topic", field: "filter.topics"},
		{name: "device unknown lang", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","filter":{"langs":["xx"]}}`, status: 400, code: "unknown_lang", field: "filter.langs"},
		{name: "device malformed", on: "apps", method: "POST", path: "/api/v1/devices", body: `{`, status: 400, code: "malformed_json", req: refused},
		{name: "device empty body", on: "apps", method: "POST", path: "/api/v1/devices", hdr: hdr("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "device invalid utf8", on: "apps", method: "POST", path: "/api/v1/devices", body: "{\"platform\":\"\xfe\"}", status: 400, code: "invalid_utf8", req: unchecked},
		{name: "device wrong type", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":1}`, status: 400, code: "invalid_type", field: "platform", req: refused},
		{name: "device unknown field", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","topic":"x"}`, status: 400, code: "unknown_field", field: "topic", req: refused},
		{name: "device prefs priority", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"min_priority":"loud"}}`, status: 400, code: "invalid_priority", field: "prefs.min_priority", req: refused},
		{name: "subscribe prefs priority", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"min_priority":"loud"}`), status: 400, code: "invalid_priority", field: "prefs.min_priority", req: refused},
		{name: "device prefs time", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"quiet_hours":{"from":"25:00","to":"07:00","tz":"Asia/Beirut"}}}`, status: 400, code: "invalid_time", field: "prefs.quiet_hours.from", req: refused},
		{name: "subscribe prefs time", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"quiet_hours":{"from":"25:00","to":"07:00","tz":"Asia/Beirut"}}`), status: 400, code: "invalid_time", field: "prefs.quiet_hours.from", req: refused},
		{name: "device prefs empty window", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"quiet_hours":{"from":"22:00","to":"22:00","tz":"Asia/Beirut"}}}`, status: 400, code: "invalid_time", field: "prefs.quiet_hours.to"},
		{name: "subscribe prefs empty window", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"quiet_hours":{"from":"22:00","to":"22:00","tz":"Asia/Beirut"}}`), status: 400, code: "invalid_time", field: "prefs.quiet_hours.to"},
		{name: "device prefs zone", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"quiet_hours":{"from":"22:00","to":"07:00","tz":"Mars/Olympus"}}}`, status: 400, code: "unknown_zone", field: "prefs.quiet_hours.tz"},
		{name: "subscribe prefs zone", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"quiet_hours":{"from":"22:00","to":"07:00","tz":"Mars/Olympus"}}`), status: 400, code: "unknown_zone", field: "prefs.quiet_hours.tz"},
		{name: "device prefs max per hour", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"max_per_hour":61}}`, status: 400, code: "invalid_max_per_hour", field: "prefs.max_per_hour", req: refused},
		{name: "subscribe prefs max per hour", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"max_per_hour":61}`), status: 400, code: "invalid_max_per_hour", field: "prefs.max_per_hour", req: refused},
		{name: "device prefs story not a slug", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"stories":["War on Gaza"]}}`, status: 400, code: "invalid_story", field: "prefs.stories", req: refused},
		{name: "subscribe prefs story not a slug", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"stories":["War on Gaza"]}`), status: 400, code: "invalid_story", field: "prefs.stories", req: refused},
		{name: "device prefs unknown story", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"stories":["atlantis"]}}`, status: 400, code: "unknown_story", field: "prefs.stories"},
		{name: "subscribe prefs unknown story", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"stories":["atlantis"]}`), status: 400, code: "unknown_story", field: "prefs.stories"},
		{name: "device prefs closed story", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"stories":["ended"]}}`, status: 400, code: "story_closed", field: "prefs.stories"},
		{name: "subscribe prefs closed story", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"stories":["ended"]}`), status: 400, code: "story_closed", field: "prefs.stories"},
		{name: "device prefs too many stories", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `","prefs":{"stories":[` + manyStories + `]}}`, status: 400, code: "too_many_stories", field: "prefs.stories", req: refused},
		{name: "subscribe prefs too many stories", method: "POST", path: "/api/v1/push/subscriptions", body: badSubPrefs(`{"stories":[` + manyStories + `]}`), status: 400, code: "too_many_stories", field: "prefs.stories", req: refused},
		{name: "device with prefs", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"android","token":"` + fcmTok + `","prefs":{"min_priority":"urgent","quiet_hours":{"from":"22:00","to":"07:00","tz":"Asia/Beirut"},"max_per_hour":5,"stories":["war-on-gaza"]}}`, status: 200},
		{name: "device too large", on: "apps", method: "POST", path: "/api/v1/devices", body: big, status: 413, code: "body_too_large", req: refused},
		{name: "device text/plain", on: "apps", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `"}`, hdr: hdr("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "device platform off", on: "off", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `"}`, status: 503, code: "platform_disabled", field: "platform"},
		{name: "device platform off, web on", on: "natsdown", method: "POST", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `"}`, status: 503, code: "platform_disabled", field: "platform"},
		{name: "device unregister", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `"}`, status: 204},
		{name: "device unregister unknown", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"ios","token":"` + apnsTok + `"}`, status: 404, code: "not_found"},
		{name: "device unregister bad token", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"android","token":"x"}`, status: 400, code: "invalid_token", field: "token"},
		{name: "device unregister bad platform", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"","token":"x"}`, status: 400, code: "invalid_platform", field: "platform", req: refused},
		{name: "device unregister malformed", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{`, status: 400, code: "malformed_json", req: refused},
		{name: "device unregister empty body", on: "apps", method: "DELETE", path: "/api/v1/devices", hdr: hdr("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "device unregister invalid utf8", on: "apps", method: "DELETE", path: "/api/v1/devices", body: "{\"platform\":\"\xfe\"}", status: 400, code: "invalid_utf8", req: unchecked},
		{name: "device unregister wrong type", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"token":1}`, status: 400, code: "invalid_type", field: "token", req: refused},
		{name: "device unregister unknown field", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"ios","token":"x","filter":{}}`, status: 400, code: "unknown_field", field: "filter", req: refused},
		{name: "device unregister too large", on: "apps", method: "DELETE", path: "/api/v1/devices", body: big, status: 413, code: "body_too_large", req: refused},
		{name: "device unregister text/plain", on: "apps", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"ios","token":"x"}`, hdr: hdr("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "device unregister platform off", on: "off", method: "DELETE", path: "/api/v1/devices", body: `{"platform":"ios","token":"x"}`, status: 503, code: "platform_disabled", field: "platform"},

		// Stories.
		{name: "stories", method: "GET", path: "/api/v1/stories", status: 200},
		{name: "stories all", method: "GET", path: "/api/v1/stories?status=all", status: 200},
		{name: "stories bad status", method: "GET", path: "/api/v1/stories?status=gone", status: 400, code: "invalid_status", field: "status"},
		{name: "create story", method: "POST", path: "/api/v1/stories", body: `{"slug":"contract-new","title":{"en":"New","ar":"جديد"},"regions":["palestine"],"topics":["politics"]}`, hdr: ed(), status: 201},
		{name: "create story exists", method: "POST", path: "/api/v1/stories", body: `{"slug":"contract-closed","title":{"en":"Again"}}`, hdr: ed(), status: 409, code: "story_exists", field: "slug"},
		{name: "create story bad slug", method: "POST", path: "/api/v1/stories", body: `{"slug":"Contract","title":{"en":"X"}}`, hdr: ed(), status: 400, code: "invalid_slug", field: "slug"},
		{name: "create story no title", method: "POST", path: "/api/v1/stories", body: `{"slug":"x"}`, hdr: ed(), status: 400, code: "missing_title", field: "title", req: refused},
		{name: "create story title language", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"xx":"X"}}`, hdr: ed(), status: 400, code: "unknown_lang", field: "title"},
		{name: "create story blank title", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":" \n"}}`, hdr: ed(), status: 400, code: "empty_title", field: "title.en"},
		{name: "create story title too long", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"` + strings.Repeat("t", 121) + `"}}`, hdr: ed(), status: 400, code: "title_too_long", field: "title.en"},
		{name: "create story title control", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"\u0007"}}`, hdr: ed(), status: 400, code: "invalid_title", field: "title.en"},
		{name: "create story unknown region", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"},"regions":["mars"]}`, hdr: ed(), status: 400, code: "unknown_region", field: "regions"},
		{name: "create story unknown topic", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"},"topics":["gossip"]}`, hdr: ed(), status: 400, code: "unknown_topic", field: "topics"},
		{name: "create story too many regions", on: "off", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"},"regions":["r1","r2","r3","r4","r5","r6","r7","r8","r9"]}`, hdr: ed(), status: 400, code: "too_many_regions", field: "regions"},
		{name: "create story too many topics", on: "off", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"},"topics":["t1","t2","t3","t4","t5","t6","t7","t8","t9"]}`, hdr: ed(), status: 400, code: "too_many_topics", field: "topics"},
		{name: "create story title a string", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":"X"}`, hdr: ed(), status: 400, code: "invalid_type", field: "title", req: refused},
		{name: "create story unknown field", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"},"status":"open"}`, hdr: ed(), status: 400, code: "unknown_field", field: "status", req: refused},
		{name: "create story empty body", method: "POST", path: "/api/v1/stories", hdr: ed("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "create story malformed", method: "POST", path: "/api/v1/stories", body: `{`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "create story invalid utf8", method: "POST", path: "/api/v1/stories", body: "{\"slug\":\"x\",\"title\":{\"en\":\"\xff\"}}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "create story too large", method: "POST", path: "/api/v1/stories", body: big, hdr: ed(), status: 413, code: "body_too_large", req: unchecked},
		{name: "create story not json", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"}}`, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "create story no token", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"}}`, status: 401, code: "missing_token", req: refused},
		{name: "create story bad token", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"}}`, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "create story as reporter", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"}}`, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "create story NATS down", on: "natsdown", method: "POST", path: "/api/v1/stories", body: `{"slug":"x","title":{"en":"X"}}`, hdr: ed(), status: 503, code: "unavailable"},
		{name: "story", method: "GET", path: "/api/v1/stories/contract-story", status: 200},
		{name: "story unknown", method: "GET", path: "/api/v1/stories/no-such-story", status: 404, code: "not_found"},
		{name: "change story", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":{"en":"A story, retitled"},"regions":["mena"],"topics":[]}`, hdr: ed(), status: 200},
		{name: "change story as editor", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"regions":null,"topics":["politics"]}`, hdr: hdr("Authorization", "Bearer "+plainToken), status: 200},
		{name: "change story empty", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{}`, hdr: ed(), status: 400, code: "empty_patch", req: refused},
		{name: "change story no title", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":{}}`, hdr: ed(), status: 400, code: "missing_title", field: "title"},
		{name: "change story title language", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":{"xx":"X"}}`, hdr: ed(), status: 400, code: "unknown_lang", field: "title"},
		{name: "change story blank title", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":{"en":""}}`, hdr: ed(), status: 400, code: "empty_title", field: "title.en"},
		{name: "change story title too long", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":{"en":"` + strings.Repeat("t", 121) + `"}}`, hdr: ed(), status: 400, code: "title_too_long", field: "title.en"},
		{name: "change story title control", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":{"en":"a\u0000"}}`, hdr: ed(), status: 400, code: "invalid_title", field: "title.en"},
		{name: "change story unknown region", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"regions":["mars"]}`, hdr: ed(), status: 400, code: "unknown_region", field: "regions"},
		{name: "change story unknown topic", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":["gossip"]}`, hdr: ed(), status: 400, code: "unknown_topic", field: "topics"},
		{name: "change story too many regions", on: "off", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"regions":["r1","r2","r3","r4","r5","r6","r7","r8","r9"]}`, hdr: ed(), status: 400, code: "too_many_regions", field: "regions"},
		{name: "change story too many topics", on: "off", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":["t1","t2","t3","t4","t5","t6","t7","t8","t9"]}`, hdr: ed(), status: 400, code: "too_many_topics", field: "topics"},
		{name: "change story slug", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"slug":"other"}`, hdr: ed(), status: 400, code: "unknown_field", field: "slug", req: refused},
		{name: "change story title a list", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"title":["X"]}`, hdr: ed(), status: 400, code: "invalid_type", field: "title", req: refused},
		{name: "change story empty body", method: "PATCH", path: "/api/v1/stories/contract-story", hdr: ed("Content-Type", "application/json"), status: 400, code: "empty_body", req: refused},
		{name: "change story malformed", method: "PATCH", path: "/api/v1/stories/contract-story", body: `[`, hdr: ed(), status: 400, code: "malformed_json", req: refused},
		{name: "change story invalid utf8", method: "PATCH", path: "/api/v1/stories/contract-story", body: "{\"title\":{\"en\":\"\xc3\"}}", hdr: ed(), status: 400, code: "invalid_utf8", req: unchecked},
		{name: "change story too large", method: "PATCH", path: "/api/v1/stories/contract-story", body: big, hdr: ed(), status: 413, code: "body_too_large", req: unchecked},
		{name: "change story not json", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":[]}`, hdr: ed("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", req: refused},
		{name: "change story no token", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":[]}`, status: 401, code: "missing_token", req: refused},
		{name: "change story bad token", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":[]}`, hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "change story as reporter", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":[]}`, hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "change story unknown", method: "PATCH", path: "/api/v1/stories/no-such-story", body: `{"topics":[]}`, hdr: ed(), status: 404, code: "not_found"},
		{name: "change story closed", method: "PATCH", path: "/api/v1/stories/contract-closed", body: `{"topics":[]}`, hdr: ed(), status: 409, code: "story_closed"},
		{name: "change story NATS down", on: "natsdown", method: "PATCH", path: "/api/v1/stories/contract-story", body: `{"topics":[]}`, hdr: ed(), status: 503, code: "unavailable"},
		{name: "close story", method: "POST", path: "/api/v1/stories/contract-close/close", hdr: ed(), status: 200},
		{name: "close story closed", method: "POST", path: "/api/v1/stories/contract-closed/close", hdr: ed(), status: 200},
		{name: "close story no token", method: "POST", path: "/api/v1/stories/contract-closed/close", status: 401, code: "missing_token", req: refused},
		{name: "close story bad token", method: "POST", path: "/api/v1/stories/contract-closed/close", hdr: hdr("Authorization", bogusAuth), status: 401, code: "invalid_token"},
		{name: "close story as reporter", method: "POST", path: "/api/v1/stories/contract-closed/close", hdr: hdr("Authorization", "Bearer "+reporterToken), status: 403, code: "forbidden"},
		{name: "close story unknown", method: "POST", path: "/api/v1/stories/no-such-story/close", hdr: ed(), status: 404, code: "not_found"},
		{name: "close story NATS down", on: "natsdown", method: "POST", path: "/api/v1/stories/contract-story/close", hdr: ed(), status: 503, code: "unavailable"},
		{name: "post into a story", method: "POST", path: "/api/v1/items", body: `{"text":"In a story","lang":"en","regions":["mena"],"story":"contract-story"}`, hdr: ed(), status: 201},
		{name: "post bad story", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"story":"Contract"}`, hdr: ed(), status: 400, code: "invalid_story", field: "story"},
		{name: "post unknown story", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"story":"no-such-story"}`, hdr: ed(), status: 400, code: "unknown_story", field: "story"},
		{name: "post closed story", method: "POST", path: "/api/v1/items", body: `{"text":"x","lang":"en","regions":["mena"],"story":"contract-closed"}`, hdr: ed(), status: 400, code: "story_closed", field: "story"},
		{name: "patch bad story", method: "PATCH", path: "/api/v1/items/{live}", body: `{"story":"-x"}`, hdr: ed(), status: 400, code: "invalid_story", field: "story"},
		{name: "patch unknown story", method: "PATCH", path: "/api/v1/items/{live}", body: `{"story":"no-such-story"}`, hdr: ed(), status: 400, code: "unknown_story", field: "story"},
		{name: "patch closed story", method: "PATCH", path: "/api/v1/items/{live}", body: `{"story":"contract-closed"}`, hdr: ed(), status: 400, code: "story_closed", field: "story"},
		{name: "list by story", method: "GET", path: "/api/v1/items?stories=contract-story,contract-closed&regions=mena", status: 200},
		{name: "list bad story", method: "GET", path: "/api/v1/items?stories=a__b", status: 400, code: "invalid_story", field: "stories"},
		{name: "list unknown story", method: "GET", path: "/api/v1/items?stories=no-such-story", status: 400, code: "unknown_story", field: "stories"},
		{name: "list too many stories", method: "GET", path: "/api/v1/items?stories=" + strings.Repeat("a,", 65), status: 400, code: "too_many_stories", field: "stories"},
		{name: "ws bad story", method: "GET", path: "/api/v1/ws?stories=A", hdr: wsHandshake(), status: 400, code: "invalid_story", field: "stories"},
		{name: "ws unknown story", method: "GET", path: "/api/v1/ws?stories=no-such-story", hdr: wsHandshake(), status: 400, code: "unknown_story", field: "stories"},
		{name: "ws too many stories", method: "GET", path: "/api/v1/ws?stories=" + strings.Repeat("a,", 65), hdr: wsHandshake(), status: 400, code: "too_many_stories", field: "stories"},
		{name: "sse bad story", method: "GET", path: "/api/v1/sse?stories=A", status: 400, code: "invalid_story", field: "stories"},
		{name: "sse unknown story", method: "GET", path: "/api/v1/sse?stories=no-such-story", status: 400, code: "unknown_story", field: "stories"},
		{name: "sse too many stories", method: "GET", path: "/api/v1/sse?stories=" + strings.Repeat("a,", 65), status: 400, code: "too_many_stories", field: "stories"},

		{name: "feed json unknown region", method: "GET", path: "/feeds/items.json?regions=mars", status: 400, code: "unknown_region", field: "regions"},
		{name: "feed json unknown topic", method: "GET", path: "/feeds/items.json?topics=gossip", status: 400, code: "unknown_topic", field: "topics"},
		{name: "feed json unknown lang", method: "GET", path: "/feeds/items.json?langs=xx", status: 400, code: "unknown_lang", field: "langs"},
		{name: "feed json too many regions", method: "GET", path: "/feeds/items.json?regions=" + strings.Repeat("mena,", 65) + "", status: 400, code: "too_many_regions", field: "regions"},
		{name: "feed json too many topics", method: "GET", path: "/feeds/items.json?topics=" + strings.Repeat("sports,", 65) + "", status: 400, code: "too_many_topics", field: "topics"},
		{name: "feed json too many langs", method: "GET", path: "/feeds/items.json?langs=" + strings.Repeat("en,", 65) + "", status: 400, code: "too_many_langs", field: "langs"},
		{name: "feed json bad story", method: "GET", path: "/feeds/items.json?stories=A", status: 400, code: "invalid_story", field: "stories"},
		{name: "feed json too many stories", method: "GET", path: "/feeds/items.json?stories=" + strings.Repeat("a,", 65) + "", status: 400, code: "too_many_stories", field: "stories"},
		{name: "feed json unknown story", method: "GET", path: "/feeds/items.json?stories=no-such-story", status: 400, code: "unknown_story", field: "stories"},
		{name: "feed json limit 0", method: "GET", path: "/feeds/items.json?limit=0", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "feed json limit 101", method: "GET", path: "/feeds/items.json?limit=101", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "feed atom unknown region", method: "GET", path: "/feeds/items.atom?regions=mars", status: 400, code: "unknown_region", field: "regions"},
		{name: "feed atom unknown topic", method: "GET", path: "/feeds/items.atom?topics=gossip", status: 400, code: "unknown_topic", field: "topics"},
		{name: "feed atom unknown lang", method: "GET", path: "/feeds/items.atom?langs=xx", status: 400, code: "unknown_lang", field: "langs"},
		{name: "feed atom too many regions", method: "GET", path: "/feeds/items.atom?regions=" + strings.Repeat("mena,", 65) + "", status: 400, code: "too_many_regions", field: "regions"},
		{name: "feed atom too many topics", method: "GET", path: "/feeds/items.atom?topics=" + strings.Repeat("sports,", 65) + "", status: 400, code: "too_many_topics", field: "topics"},
		{name: "feed atom too many langs", method: "GET", path: "/feeds/items.atom?langs=" + strings.Repeat("en,", 65) + "", status: 400, code: "too_many_langs", field: "langs"},
		{name: "feed atom bad story", method: "GET", path: "/feeds/items.atom?stories=A", status: 400, code: "invalid_story", field: "stories"},
		{name: "feed atom too many stories", method: "GET", path: "/feeds/items.atom?stories=" + strings.Repeat("a,", 65) + "", status: 400, code: "too_many_stories", field: "stories"},
		{name: "feed atom unknown story", method: "GET", path: "/feeds/items.atom?stories=no-such-story", status: 400, code: "unknown_story", field: "stories"},
		{name: "feed atom limit 0", method: "GET", path: "/feeds/items.atom?limit=0", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "feed atom limit 101", method: "GET", path: "/feeds/items.atom?limit=101", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "feed rss unknown region", method: "GET", path: "/feeds/items.rss?regions=mars", status: 400, code: "unknown_region", field: "regions"},
		{name: "feed rss unknown topic", method: "GET", path: "/feeds/items.rss?topics=gossip", status: 400, code: "unknown_topic", field: "topics"},
		{name: "feed rss unknown lang", method: "GET", path: "/feeds/items.rss?langs=xx", status: 400, code: "unknown_lang", field: "langs"},
		{name: "feed rss too many regions", method: "GET", path: "/feeds/items.rss?regions=" + strings.Repeat("mena,", 65) + "", status: 400, code: "too_many_regions", field: "regions"},
		{name: "feed rss too many topics", method: "GET", path: "/feeds/items.rss?topics=" + strings.Repeat("sports,", 65) + "", status: 400, code: "too_many_topics", field: "topics"},
		{name: "feed rss too many langs", method: "GET", path: "/feeds/items.rss?langs=" + strings.Repeat("en,", 65) + "", status: 400, code: "too_many_langs", field: "langs"},
		{name: "feed rss bad story", method: "GET", path: "/feeds/items.rss?stories=A", status: 400, code: "invalid_story", field: "stories"},
		{name: "feed rss too many stories", method: "GET", path: "/feeds/items.rss?stories=" + strings.Repeat("a,", 65) + "", status: 400, code: "too_many_stories", field: "stories"},
		{name: "feed rss unknown story", method: "GET", path: "/feeds/items.rss?stories=no-such-story", status: 400, code: "unknown_story", field: "stories"},
		{name: "feed rss limit 0", method: "GET", path: "/feeds/items.rss?limit=0", status: 400, code: "invalid_limit", field: "limit", req: refused},
		{name: "feed rss limit 101", method: "GET", path: "/feeds/items.rss?limit=101", status: 400, code: "invalid_limit", field: "limit", req: refused},

		// Answers outside any operation.
		{name: "no route", method: "GET", path: "/api/v1/nothing", status: 404, code: "no_route", req: refused},
		{name: "method not allowed", method: "PUT", path: "/api/v1/items", body: draft, hdr: ed(), status: 405, code: "method_not_allowed", req: refused},
		{name: "no preflight", method: "OPTIONS", path: "/api/v1/items", hdr: hdr("Origin", "https://other.example", "Access-Control-Request-Method", "POST"), status: 405, code: "method_not_allowed", req: refused},
	}
	return rows
}

// limitRows are, for every operation of the public API group, the two
// answers of its limits: too_many_requests past --api-requests-per-second,
// too_many_failures for an invalid token from an address past
// --auth-failures-per-minute (a valid token is never refused by it).
func limitRows(c *contract) []contractRow {
	var rows []contractRow
	for path, item := range c.model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			method = strings.ToUpper(method)
			key := method + " " + path + " 429 too_many_requests"
			if !slices.Contains(c.documented, key) {
				continue
			}
			p := strings.ReplaceAll(path, "{id}", "{unknown}")
			rows = append(rows,
				contractRow{name: method + " " + path + " too many requests", on: "api1", method: method, path: p,
					status: 429, code: "too_many_requests", req: unchecked, until: true},
				contractRow{name: method + " " + path + " too many failures", on: "api1", method: method, path: p,
					hdr: hdr("Authorization", bogusAuth), status: 429, code: "too_many_failures", req: unchecked})
		}
	}
	return rows
}

// bodyRows are, for every GET and DELETE operation (but DELETE
// /api/v1/push/subscriptions and /api/v1/devices, which take one), a
// request with a body:
// 413 body_not_allowed, which each of them must document.
func bodyRows(c *contract) []contractRow {
	var rows []contractRow
	for path, item := range c.model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			method = strings.ToUpper(method)
			if (method != "GET" && method != "DELETE") || method+" "+path == "DELETE /api/v1/push/subscriptions" || method+" "+path == "DELETE /api/v1/devices" {
				continue
			}
			rows = append(rows, contractRow{name: method + " " + path + " with a body", method: method,
				path: strings.ReplaceAll(path, "{id}", "{unknown}"), body: `{}`, hdr: hdr("Authorization", editorAuth),
				status: 413, code: "body_not_allowed", req: unchecked})
		}
	}
	return rows
}

// varyAuthorization: an answer that depends on the editor token says so.
func varyAuthorization(t *testing.T, h http.Header, _ []byte) {
	t.Helper()
	if !slices.Contains(h.Values("Vary"), "Authorization") {
		t.Errorf("no Vary: Authorization: %v", h.Values("Vary"))
	}
}

func TestOpenAPIContract(t *testing.T) {
	c := loadContract(t)
	ci := startContractInstances(t)

	exercised := map[string]bool{}
	rows := append(append(limitRows(c), contractRows()...), bodyRows(c)...)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for _, got := range ci.run(t, c, row) {
				exercised[got] = true
			}
		})
	}
	if t.Failed() {
		return
	}
	for _, d := range c.documented {
		if exercised[d] {
			continue
		}
		if _, ok := contractUnexercised[d]; ok {
			continue
		}
		f := strings.Fields(d)
		if len(f) == 4 {
			if _, ok := contractUnexercised["* "+f[2]+" "+f[3]]; ok {
				continue
			}
		}
		t.Errorf("documented but no row answers it: %s (add a row, or the reason to contractUnexercised)", d)
	}
}

// bigTaxonomy has ten regions and ten topics: more than an item may carry.
func bigTaxonomy(t *testing.T) *news.Taxonomy {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"regions":[`)
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, `%s{"slug":"r%d","name":"R%d"}`, map[bool]string{true: ",", false: ""}[i > 1], i, i)
	}
	b.WriteString(`],"topics":[`)
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, `%s{"slug":"t%d","name":"T%d"}`, map[bool]string{true: ",", false: ""}[i > 1], i, i)
	}
	b.WriteString(`],"languages":[{"slug":"en","name":"English"}]}`)
	tx, err := news.ParseTaxonomy([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// run sends the row's request (until it gets the wanted answer, with
// until), checks every answer against the document and the row, and
// returns the documented answers it produced.
func (ci *contractInstances) run(t *testing.T, c *contract, row contractRow) []string {
	on := row.on
	if on == "" {
		on = "main"
	}
	in := ci.in[on]
	if in == nil {
		t.Fatalf("no instance %q", on)
	}
	fill := strings.NewReplacer(ci.fixtures...)
	path, body := fill.Replace(row.path), fill.Replace(row.body)
	headers := map[string]string{}
	for k, v := range row.hdr {
		headers[k] = fill.Replace(v)
	}
	var got []string
	deadline := time.Now().Add(wait)
	for {
		status, code, key := ci.once(t, c, in, row, path, body, headers)
		if key != "" {
			got = append(got, key)
		}
		if !row.until || (status == row.status && code == row.code) || t.Failed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d %s after %v of tries (last %d %s)", row.status, row.code, wait, status, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return got
}

// newRequest builds the row's request; it is built again for the
// validator, since sending consumes the body.
func newRequest(ctx context.Context, base, method, path, body string, headers map[string]string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		panic(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

func (ci *contractInstances) once(t *testing.T, c *contract, in *instance, row contractRow, path, body string, headers map[string]string) (status int, code, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	res, err := http.DefaultClient.Do(newRequest(ctx, in.base, row.method, path, body, headers))
	if err != nil {
		t.Fatalf("%s %s: %v", row.method, path, err)
	}
	defer res.Body.Close()
	// Streams are read up to their first event: the validator gets that.
	var raw []byte
	switch {
	case res.StatusCode == http.StatusSwitchingProtocols:
	case strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream"):
		br := bufio.NewReader(res.Body)
		for {
			line, err := br.ReadBytes('\n')
			raw = append(raw, line...)
			if err != nil {
				t.Fatalf("sse: %v after %q", err, raw)
			}
			if len(line) == 1 {
				break
			}
		}
	default:
		if raw, err = io.ReadAll(res.Body); err != nil {
			t.Fatal(err)
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))

	if res.StatusCode != row.status && !row.until {
		t.Errorf("status %d, want %d: %s", res.StatusCode, row.status, raw)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && res.StatusCode >= 400 {
		var e apiError
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Errorf("error answer %q: %v", raw, err)
		}
		code = e.Error.Code
		if !row.until && (code != row.code || e.Error.Field != row.field) {
			t.Errorf("error %s (field %q), want %s (field %q): %s", code, e.Error.Field, row.code, row.field, raw)
		}
	} else if row.code != "" && !row.until {
		t.Errorf("want error %s, got %d %s %q", row.code, res.StatusCode, res.Header.Get("Content-Type"), raw)
	}

	vreq := newRequest(context.Background(), in.base, row.method, path, body, headers)
	item, _, tmpl := paths.FindPath(vreq, c.model, config.NewValidationOptions())
	var op string
	if item != nil && item.GetOperations().GetOrZero(strings.ToLower(row.method)) != nil {
		op = row.method + " " + tmpl
	}
	switch ok, errs := c.v.ValidateHttpRequest(vreq); {
	case row.req == conforms && !ok:
		t.Errorf("the document refuses the request: %s", describe(errs))
	case row.req == refused && ok:
		t.Errorf("the document allows the request the server refused (%d %s); tighten the document, or mark the row", res.StatusCode, code)
	}
	if op == "" {
		// An answer outside any operation: no_route or method_not_allowed.
		name := map[int]string{404: "NoRoute", 405: "MethodNotAllowed"}[res.StatusCode]
		r := c.model.Components.Responses.GetOrZero(name)
		if r == nil {
			t.Fatalf("%d for %s %s, which the document does not list", res.StatusCode, row.method, path)
		}
		if ok, errs := c.schemas.ValidateSchemaBytes(r.Content.GetOrZero("application/json").Schema.Schema(), raw); !ok {
			t.Errorf("answer %s: %s", raw, describe(errs))
		}
		if res.StatusCode == 405 && res.Header.Get("Allow") == "" {
			t.Error("405 without Allow")
		}
	} else {
		vreq = newRequest(context.Background(), in.base, row.method, path, body, headers)
		res.Body = io.NopCloser(bytes.NewReader(raw))
		if ok, errs := c.v.ValidateHttpResponse(vreq, res); !ok {
			t.Errorf("the document refuses the answer %d %s %q: %s", res.StatusCode, res.Header.Get("Content-Type"), raw, describe(errs))
		}
		key = op + " " + strconv.Itoa(res.StatusCode)
		if code != "" {
			key += " " + code
		}
	}
	if row.check != nil && !t.Failed() {
		row.check(t, res.Header, raw)
	}
	return res.StatusCode, code, key
}

func describe(errs []*liberrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n\t%s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n\t\t%s at %s (%s)", f.Reason, f.FieldPath, f.KeywordLocation)
		}
	}
	return b.String()
}

// checkServedContract: the served JSON is the YAML, and a valid document.
func checkServedContract(t *testing.T, _ http.Header, body []byte) {
	want, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Fatal("the served document is not docs.OpenAPIJSON()")
	}
	var fromJSON, fromYAML any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(docs.OpenAPIYAML, &fromYAML); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(fromYAML)
	if !bytes.Equal(a, b) {
		t.Fatal("the served JSON says something else than openapi.yaml")
	}
	lintContract(t, body)
}

// checkSSEWelcome: the first event of a stream is a welcome whose data is
// a WelcomeFrame.
func checkSSEWelcome(t *testing.T, _ http.Header, body []byte) {
	c := loadContract(t)
	var data string
	for _, line := range strings.Split(string(body), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = d
		}
	}
	if !strings.Contains(string(body), "event: welcome\n") {
		t.Fatalf("first event %q", body)
	}
	c.mustMatch(t, "WelcomeFrame", []byte(data))
}

// mustMatch validates JSON against a schema of components.schemas.
func (c *contract) mustMatch(t *testing.T, schema string, b []byte) {
	t.Helper()
	sp := c.model.Components.Schemas.GetOrZero(schema)
	if sp == nil {
		t.Fatalf("no schema %s", schema)
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(sp.Schema(), b); !ok {
		t.Errorf("%s %s: %s", schema, b, describe(errs))
	}
}

// lintContract: the document is a valid OpenAPI 3.1 document.
func lintContract(t *testing.T, spec []byte) {
	t.Helper()
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	if doc.GetSpecInfo().VersionNumeric != 3.1 {
		t.Errorf("OpenAPI version %v, want 3.1", doc.GetSpecInfo().Version)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if ok, errs := schema_validation.ValidateOpenAPIDocument(doc); !ok {
		t.Errorf("openapi.yaml is not a valid OpenAPI document: %s", describe(errs))
	}
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	lintContract(t, docs.OpenAPIYAML)
	// Every schema compiles and every example-free part resolves: the
	// validator builds from the model without errors.
	loadContract(t)
}

// TestOpenAPICoversEveryRoute: every route of the engine, but the web
// pages, is an operation of the document, and every operation a route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	c := loadContract(t)
	assets, err := web.Load()
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]bool{}
	for _, p := range assets.Paths() {
		pages[p] = true
	}
	for name, mutate := range map[string]func(*server.Options){
		"push on":  withPush(newPushEnv(t)),
		"push off": nil,
	} {
		t.Run(name, func(t *testing.T) {
			in := start(t, options{mutate: mutate})
			engine, ok := in.srv.Handler().(*gin.Engine)
			if !ok {
				t.Fatalf("the handler is a %T, not the gin engine", in.srv.Handler())
			}
			routes := map[string]bool{}
			for _, r := range engine.Routes() {
				if pages[r.Path] {
					continue
				}
				segs := strings.Split(r.Path, "/")
				for i, s := range segs {
					if p, ok := strings.CutPrefix(s, ":"); ok {
						segs[i] = "{" + p + "}"
					}
				}
				routes[r.Method+" "+strings.Join(segs, "/")] = true
			}
			documented := map[string]bool{}
			for path, item := range c.model.Paths.PathItems.FromOldest() {
				for method := range item.GetOperations().FromOldest() {
					documented[strings.ToUpper(method)+" "+path] = true
				}
			}
			for r := range routes {
				if !documented[r] {
					t.Errorf("route %s is not in docs/openapi.yaml", r)
				}
			}
			for d := range documented {
				if !routes[d] {
					t.Errorf("docs/openapi.yaml has %s, which the server does not route", d)
				}
			}
		})
	}
}

// TestOpenAPIReaderFrames: the messages of a WebSocket and the events of
// an SSE stream are the frames the document describes.
func TestOpenAPIReaderFrames(t *testing.T) {
	c := loadContract(t)
	in := start(t, options{})
	first := in.post(item("Before the readers", "en", []string{"mena"}, nil))

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(in.base, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	sse := in.dialSSE("", nil)

	second := in.post(item("While they read", "ar", []string{"mena"}, []string{"health"}))
	in.do("PATCH", "/api/v1/items/"+first.ID, `{"text":"Before the readers, corrected"}`, nil)
	in.do("DELETE", "/api/v1/items/"+second.ID, "", nil)

	// welcome, the backfilled item, then item, update, retract.
	want := []string{"welcome", "item", "item", "update", "retract"}
	for i, typ := range want {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		schema := "EventFrame"
		if i == 0 {
			schema = "WelcomeFrame"
		}
		c.mustMatch(t, schema, b)
		if !strings.Contains(string(b), `"type":"`+typ+`"`) {
			t.Errorf("ws message %d is %s, want a %s", i, b, typ)
		}

		ev := sse.mustNext()
		if ev.Event != typ {
			t.Errorf("sse event %d is %q, want %s", i, ev.Event, typ)
		}
		if i == 0 {
			c.mustMatch(t, "WelcomeFrame", []byte(ev.Data))
		} else {
			c.mustMatch(t, "Item", []byte(ev.Data))
		}
	}
}

// hasPreviousItem checks that a flood guard refusal names the previous
// alert's item, and alert_too_soon also the seconds to wait.
// isDryRun checks a dry run's answer: web is the audience wanted (-1: no
// "web", Web Push is off), ok the guard's verdict.
func isDryRun(web int, ok bool) func(t *testing.T, h http.Header, b []byte) {
	return func(t *testing.T, _ http.Header, b []byte) {
		var ans struct {
			DryRun   bool           `json:"dry_run"`
			Audience map[string]int `json:"audience"`
			Guard    struct {
				OK bool `json:"ok"`
			} `json:"guard"`
		}
		if err := json.Unmarshal(b, &ans); err != nil {
			t.Fatal(err)
		}
		n, has := ans.Audience["web"]
		if !ans.DryRun || ans.Guard.OK != ok || (web < 0) == has || web >= 0 && n != web {
			t.Errorf("dry run answer %s, want web audience %d and guard ok %v", b, web, ok)
		}
	}
}

func hasPreviousItem(t *testing.T, h http.Header, b []byte) {
	var e struct {
		Error struct {
			Code         string `json:"code"`
			RetryAfter   int    `json:"retry_after"`
			PreviousItem string `json:"previous_item"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || !news.ValidID(e.Error.PreviousItem) {
		t.Errorf("no previous_item in %s (%v)", b, err)
	}
	if e.Error.Code == "alert_too_soon" && (e.Error.RetryAfter < 1 || h.Get("Retry-After") == "") {
		t.Errorf("alert_too_soon without retry_after or Retry-After: %s %v", b, h)
	}
}
