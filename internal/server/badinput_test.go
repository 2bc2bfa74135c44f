package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"newsflash/internal/server"
)

// TestBadInput sends every kind of bad request and checks the status, the
// error code and field, and that nothing was stored or sent to readers.
func TestBadInput(t *testing.T) {
	in := start(t, options{})
	existing := in.post(item("existing", "en", []string{"mena"}, nil))
	ws, _ := in.dialWS("backfill=0")
	before, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	good := func(mut string) string {
		return strings.Replace(`{"text":"Breaking","lang":"en","regions":["mena"],"topics":["politics"]MUT}`, "MUT", mut, 1)
	}
	noAuth := map[string]string{"Authorization": ""}
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		code, field              string
	}{
		{"malformed json", "POST", "/api/v1/items", `{"text":`, nil, 400, "malformed_json", ""},
		{"not json", "POST", "/api/v1/items", `text=hello`, nil, 400, "malformed_json", ""},
		{"array body", "POST", "/api/v1/items", `[1,2]`, nil, 400, "invalid_type", ""},
		{"trailing data", "POST", "/api/v1/items", good("") + `{}`, nil, 400, "malformed_json", ""},
		{"empty body", "POST", "/api/v1/items", ``, nil, 400, "empty_body", ""},
		{"invalid utf-8", "POST", "/api/v1/items", "{\"text\":\"bad \xff\xfe\",\"lang\":\"en\",\"regions\":[\"mena\"]}", nil, 400, "invalid_utf8", ""},
		{"body over 64 KiB", "POST", "/api/v1/items", good(`,"source":"` + strings.Repeat("x", 70<<10) + `"`), nil, 413, "body_too_large", ""},
		{"unknown field", "POST", "/api/v1/items", good(`,"color":"red"`), nil, 400, "unknown_field", "color"},
		{"wrong type", "POST", "/api/v1/items", `{"text":5,"lang":"en","regions":["mena"]}`, nil, 400, "invalid_type", "text"},
		{"regions not a list", "POST", "/api/v1/items", `{"text":"a","lang":"en","regions":"mena"}`, nil, 400, "invalid_type", "regions"},
		{"missing text", "POST", "/api/v1/items", `{"lang":"en","regions":["mena"]}`, nil, 400, "empty_text", "text"},
		{"blank text", "POST", "/api/v1/items", `{"text":" \n\t ","lang":"en","regions":["mena"]}`, nil, 400, "empty_text", "text"},
		{"text too long", "POST", "/api/v1/items", `{"text":"` + strings.Repeat("ب", 601) + `","lang":"ar","regions":["mena"]}`, nil, 400, "text_too_long", "text"},
		{"control character", "POST", "/api/v1/items", `{"text":"bell\u0007","lang":"en","regions":["mena"]}`, nil, 400, "invalid_text", "text"},
		{"missing lang", "POST", "/api/v1/items", `{"text":"a","regions":["mena"]}`, nil, 400, "missing_lang", "lang"},
		{"unknown lang", "POST", "/api/v1/items", `{"text":"a","lang":"fr","regions":["mena"]}`, nil, 400, "unknown_lang", "lang"},
		{"no regions", "POST", "/api/v1/items", `{"text":"a","lang":"en","regions":[]}`, nil, 400, "missing_regions", "regions"},
		{"unknown region", "POST", "/api/v1/items", `{"text":"a","lang":"en","regions":["mena","mars"]}`, nil, 400, "unknown_region", "regions"},
		{"unknown topic", "POST", "/api/v1/items", good(`,"topics":["gossip"]`), nil, 400, "unknown_field", "topics"}, // replaced below
		{"source too long", "POST", "/api/v1/items", good(`,"source":"` + strings.Repeat("s", 121) + `"`), nil, 400, "source_too_long", "source"},
		{"url not http", "POST", "/api/v1/items", good(`,"url":"javascript:alert(1)"`), nil, 400, "invalid_url", "url"},
		{"url relative", "POST", "/api/v1/items", good(`,"url":"/news/1"`), nil, 400, "invalid_url", "url"},
		{"url with password", "POST", "/api/v1/items", good(`,"url":"https://u:p@example.com/"`), nil, 400, "invalid_url", "url"},
		{"bad priority", "POST", "/api/v1/items", good(`,"priority":"urgent!!"`), nil, 400, "invalid_priority", "priority"},
		{"a field with an empty name", "POST", "/api/v1/items", good(`,"":"x"`), nil, 400, "unknown_field", ""},
		{"alert a string", "POST", "/api/v1/items", good(`,"alert":"true"`), nil, 400, "invalid_type", "alert"},
		{"alert a number", "POST", "/api/v1/items", good(`,"alert":1`), nil, 400, "invalid_type", "alert"},
		{"alert a list", "POST", "/api/v1/items", good(`,"alert":[true]`), nil, 400, "invalid_type", "alert"},
		{"form content type", "POST", "/api/v1/items", good(""), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"no token", "POST", "/api/v1/items", good(""), noAuth, 401, "missing_token", ""},
		{"wrong token", "POST", "/api/v1/items", good(""), map[string]string{"Authorization": "Bearer nf_wrong"}, 401, "invalid_token", ""},
		{"basic auth", "POST", "/api/v1/items", good(""), map[string]string{"Authorization": "Basic YWxpY2U6eA=="}, 401, "missing_token", ""},
		{"idempotency key too long", "POST", "/api/v1/items", good(""), map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "invalid_idempotency_key", "Idempotency-Key"},
		{"patch unknown id", "PATCH", "/api/v1/items/aaaaaaaaaaaaaaaaaaaa", `{"text":"x"}`, nil, 404, "not_found", ""},
		{"patch malformed id", "PATCH", "/api/v1/items/../etc", `{"text":"x"}`, nil, 404, "no_route", ""},
		{"patch bad id", "PATCH", "/api/v1/items/NOT-AN-ID", `{"text":"x"}`, nil, 404, "not_found", ""},
		{"patch nothing", "PATCH", "/api/v1/items/" + existing.ID, `{}`, nil, 400, "empty_patch", ""},
		{"patch lang", "PATCH", "/api/v1/items/" + existing.ID, `{"lang":"ar"}`, nil, 400, "unknown_field", "lang"},
		{"patch blank text", "PATCH", "/api/v1/items/" + existing.ID, `{"text":""}`, nil, 400, "empty_text", "text"},
		{"patch no regions", "PATCH", "/api/v1/items/" + existing.ID, `{"regions":[]}`, nil, 400, "missing_regions", "regions"},
		{"patch alert a string", "PATCH", "/api/v1/items/" + existing.ID, `{"alert":"yes"}`, nil, 400, "invalid_type", "alert"},
		{"patch alert a number", "PATCH", "/api/v1/items/" + existing.ID, `{"alert":0}`, nil, 400, "invalid_type", "alert"},
		{"patch without token", "PATCH", "/api/v1/items/" + existing.ID, `{"text":"x"}`, noAuth, 401, "missing_token", ""},
		{"retract unknown id", "DELETE", "/api/v1/items/aaaaaaaaaaaaaaaaaaaa", ``, nil, 404, "not_found", ""},
		{"retract without token", "DELETE", "/api/v1/items/" + existing.ID, ``, noAuth, 401, "missing_token", ""},
		{"get unknown id", "GET", "/api/v1/items/aaaaaaaaaaaaaaaaaaaa", ``, noAuth, 404, "not_found", ""},
		{"list limit 0", "GET", "/api/v1/items?limit=0", ``, noAuth, 400, "invalid_limit", "limit"},
		{"list limit 101", "GET", "/api/v1/items?limit=101", ``, noAuth, 400, "invalid_limit", "limit"},
		{"list before text", "GET", "/api/v1/items?before=abc", ``, noAuth, 400, "invalid_before", "before"},
		{"list unknown region", "GET", "/api/v1/items?regions=mars", ``, noAuth, 400, "unknown_region", "regions"},
		{"list unknown lang", "GET", "/api/v1/items?langs=en,xx", ``, noAuth, 400, "unknown_lang", "langs"},
		{"ws unknown region", "GET", "/api/v1/ws?regions=mars", ``, noAuth, 400, "unknown_region", "regions"},
		{"ws unknown topic", "GET", "/api/v1/ws?topics=gossip", ``, noAuth, 400, "unknown_topic", "topics"},
		{"ws bad since", "GET", "/api/v1/ws?since=-1", ``, noAuth, 400, "invalid_since", "since"},
		{"ws backfill too big", "GET", "/api/v1/ws?backfill=101", ``, noAuth, 400, "invalid_backfill", "backfill"},
		{"ws without upgrade", "GET", "/api/v1/ws", ``, noAuth, 426, "upgrade_required", ""},
		{"ws foreign origin", "GET", "/api/v1/ws", ``, map[string]string{"Origin": "https://evil.example", "Authorization": ""}, 403, "origin_not_allowed", "Origin"},
		{"sse unknown lang", "GET", "/api/v1/sse?langs=fr", ``, noAuth, 400, "unknown_lang", "langs"},
		{"sse bad Last-Event-ID", "GET", "/api/v1/sse", ``, map[string]string{"Last-Event-ID": "x", "Authorization": ""}, 400, "invalid_since", "Last-Event-ID"},
		{"no such route", "GET", "/api/v1/nope", ``, noAuth, 404, "no_route", ""},
		{"wrong method", "PUT", "/api/v1/items", good(""), nil, 405, "method_not_allowed", ""},
	}
	for i := range cases {
		if cases[i].name == "unknown topic" {
			cases[i].body = `{"text":"a","lang":"en","regions":["mena"],"topics":["gossip"]}`
			cases[i].code, cases[i].field = "unknown_topic", "topics"
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, b := in.do(tc.method, tc.path, tc.body, tc.hdr)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, b)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
			e := decode[apiError](t, b)
			if e.Error.Code != tc.code || e.Error.Field != tc.field || e.Error.Message == "" {
				t.Fatalf("error %+v, want code %q field %q", e.Error, tc.code, tc.field)
			}
			if status == http.StatusUnauthorized && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// Messages that list allowed values do.
	_, _, b := in.do("POST", "/api/v1/items", `{"text":"a","lang":"fr","regions":["mena"]}`, nil)
	if msg := decode[apiError](t, b).Error.Message; !strings.Contains(msg, "ar, en, es") {
		t.Errorf("unknown lang message %q does not list the languages", msg)
	}

	// Nothing was stored or sent.
	after, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil || after != before {
		t.Fatalf("stream went from %d to %d events (%v)", before, after, err)
	}
	_, _, b = in.do("GET", "/api/v1/items/"+existing.ID, "", nil)
	if got := decode[struct{ Version int }](t, b); got.Version != 1 {
		t.Fatalf("existing item changed: %s", b)
	}
	end := in.post(item("end", "en", []string{"mena"}, nil))
	if f := ws.next(); f.Item.ID != end.ID {
		t.Fatalf("a reader got %+v before the end marker", f)
	}
}

func TestWebSocketOrigins(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Live.AllowedOrigins = []string{"*.example.com"} }})
	dial := func(origin string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(in.base, "http")+"/api/v1/ws",
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if conn != nil {
			conn.CloseNow()
		}
		if res == nil {
			return 0, err
		}
		return res.StatusCode, err
	}
	for origin, want := range map[string]int{
		"https://news.example.com": 101,
		in.base:                    101, // same host
		"https://example.com.evil": 403,
		"https://evil.example":     403,
		"null":                     403,
	} {
		if got, err := dial(origin); got != want {
			t.Errorf("origin %q: status %d (%v), want %d", origin, got, err, want)
		}
	}
}
