package httperr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// fuzzBodyLimit stands for the server's request body limit, small so that
// the fuzzer reaches it.
const fuzzBodyLimit = 4 << 10

// decodeCodes are the codes DecodeJSON documents, with their statuses.
var decodeCodes = map[string]int{
	"empty_body":             http.StatusBadRequest,
	"malformed_json":         http.StatusBadRequest,
	"invalid_utf8":           http.StatusBadRequest,
	"unknown_field":          http.StatusBadRequest,
	"invalid_type":           http.StatusBadRequest,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
	"body_too_large":         http.StatusRequestEntityTooLarge,
}

// FuzzDecodeItem posts bodies as the editor API reads them: DecodeJSON
// (with a body limit) into a news.Draft, then validation, and the same body
// as a news.Patch applied to an item. Properties: every refusal is an
// *httperr.Error with a documented code and status, answered by Abort as
// that JSON error; only valid UTF-8 JSON within the limit is accepted, and
// it decodes as encoding/json strictly does; a validation error keeps its
// code and field at the edge (400); an accepted item, answered with gin's
// JSON, reads back identical (text stays text: markup, escapes, right-to-left
// overrides survive as they were accepted), with its text within the limit
// in characters.
func FuzzDecodeItem(f *testing.F) {
	good := `{"text":"Ceasefire announced in Gaza","lang":"en","regions":["mena","palestine"],"topics":["politics"],"priority":"flash","source":"Reuters","url":"https://example.com/a?b=c"}`
	seeds := []struct{ body, contentType string }{
		{good, "application/json"},
		{good, ""},
		{good, "application/json; charset=utf-8"},
		{good, "application/x-www-form-urlencoded"},
		{good + "{}", ""},
		{good + " \n\t", ""},
		{"", ""},
		{" \n", ""},
		{"null", ""},
		{"[1,2]", ""},
		{`"text"`, ""},
		{`{"text":`, ""},
		{`{"text":5,"lang":"en","regions":["mena"]}`, ""},
		{`{"text":"a","lang":"en","regions":"mena"}`, ""},
		{`{"text":"a","lang":"en","regions":[1]}`, ""},
		{`{"text":"a","lang":"en","regions":["mena"],"color":"red"}`, ""},
		{`{"text":"a","text":"b","TEXT":"c","lang":"en","regions":["mena"]}`, ""},
		{`{"text":"a","lang":"en","regions":["mena"],"priority":null,"url":null}`, ""},
		{`{"text":"<script>alert(\"x\")</script> &amp; \u003cb\u003e","lang":"en","regions":["mena"]}`, ""},
		{`{"text":"\u202eevil\u202c \u0000 \ud800","lang":"ar","regions":["mena"]}`, ""},
		{"{\"text\":\"bad \xff\xfe utf-8\",\"lang\":\"en\",\"regions\":[\"mena\"]}", ""},
		{`{"text":"` + strings.Repeat("ب", news.MaxTextChars) + `","lang":"ar","regions":["mena"]}`, ""},
		{`{"text":"` + strings.Repeat("ب", news.MaxTextChars+1) + `","lang":"ar","regions":["mena"]}`, ""},
		{`{"text":"` + strings.Repeat("x", fuzzBodyLimit) + `","lang":"en","regions":["mena"]}`, ""},
		{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), ""},
		{`{"text":"a","lang":"en","regions":["mena"],"source":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200) + `}`, ""},
		{`{"text":1e400}`, ""},
		{"\xef\xbb\xbf" + good, ""},
		{`{"text":"x"}` + "\x00", ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.contentType)
	}
	gin.SetMode(gin.TestMode)
	tx := news.DefaultTaxonomy()
	base, err := tx.NewItem(news.Draft{Text: "Base", Lang: "en", Regions: []string{"mena"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		var d news.Draft
		err := decode(body, contentType, &d)
		if err != nil {
			checkDecodeError(t, body, contentType, err)
		} else {
			checkDecoded(t, body, &d)
			it, err := tx.NewItem(d)
			if err != nil {
				checkValidationError(t, err)
			} else {
				checkAnswer(t, it)
			}
		}

		var p news.Patch
		if err := decode(body, contentType, &p); err != nil {
			checkDecodeError(t, body, contentType, err)
			return
		}
		checkDecoded(t, body, &p)
		it, _, err := tx.ApplyPatch(base, p)
		if err != nil {
			checkValidationError(t, err)
			return
		}
		checkAnswer(t, it)
	})
}

// decode runs DecodeJSON on a request with this body and content type,
// behind the body limit as the server sets it.
func decode(body []byte, contentType string, dst any) error {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/items", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Body = http.MaxBytesReader(w, req.Body, fuzzBodyLimit)
	c.Request = req
	return httperr.DecodeJSON(c, dst)
}

func checkDecodeError(t *testing.T, body []byte, contentType string, err error) {
	t.Helper()
	var he *httperr.Error
	if !errors.As(err, &he) {
		t.Fatalf("DecodeJSON error %v (%T) is not an *httperr.Error", err, err)
	}
	status, ok := decodeCodes[he.Code]
	if !ok || he.Status != status || he.Message == "" {
		t.Fatalf("DecodeJSON error %#v: undocumented code or wrong status", he)
	}
	if got := httperr.From(err); got != he {
		t.Fatalf("From(%v) = %#v, want the error itself", err, got)
	}
	switch he.Code {
	case "body_too_large":
		if len(body) <= fuzzBodyLimit {
			t.Fatalf("%d bytes refused as too large (limit %d)", len(body), fuzzBodyLimit)
		}
	case "invalid_utf8":
		if utf8.Valid(body) {
			t.Fatalf("valid UTF-8 body %q refused as invalid", body)
		}
	case "empty_body":
		if len(bytes.TrimSpace(body)) != 0 {
			t.Fatalf("body %q refused as empty", body)
		}
	case "unknown_field":
		// Only a key that is the empty string is named by an empty field.
		if he.Field == "" && !emptyKey.Match(body) {
			t.Fatalf("unknown field error without the field: %#v", he)
		}
	case "unsupported_media_type":
		if contentType == "" {
			t.Fatalf("no content type refused as unsupported")
		}
	}
	checkAbort(t, err, he)
}

// checkAbort checks the answer Abort gives for err.
func checkAbort(t *testing.T, err error, he *httperr.Error) {
	t.Helper()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
	httperr.Abort(c, err)
	var ans struct {
		Error struct {
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"error"`
	}
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil {
		t.Fatalf("Abort answered %q: %v", w.Body.String(), err)
	}
	field := ""
	if ans.Error.Field != nil {
		field = *ans.Error.Field
		if field == "" {
			t.Fatalf("Abort answered an empty field: %s", w.Body.String())
		}
	}
	if w.Code != he.Status || ans.Error.Code != he.Code || ans.Error.Message != he.Message || field != he.Field {
		t.Fatalf("Abort answered %d %s for %#v", w.Code, w.Body.String(), he)
	}
	if !c.IsAborted() {
		t.Fatal("Abort did not abort the handler chain")
	}
}

// checkDecoded checks an accepted body: one valid JSON value within the
// limit, decoded as encoding/json decodes it strictly.
func checkDecoded(t *testing.T, body []byte, got any) {
	t.Helper()
	if len(body) > fuzzBodyLimit || !json.Valid(body) || !utf8.Valid(body) {
		t.Fatalf("body %q (%d bytes) accepted", body, len(body))
	}
	want := reflect.New(reflect.TypeOf(got).Elem()).Interface()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(want); err != nil {
		t.Fatalf("body %q accepted, encoding/json refuses it: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %q decoded to %+v, encoding/json gives %+v", body, got, want)
	}
}

// checkValidationError checks that a validation error keeps its code and
// field at the HTTP edge.
func checkValidationError(t *testing.T, err error) {
	t.Helper()
	var ve *news.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("validation error %v (%T) is not a *news.ValidationError", err, err)
	}
	he := httperr.From(err)
	if he.Status != http.StatusBadRequest || he.Code != ve.Code || he.Field != ve.Field || he.Message != ve.Message {
		t.Fatalf("From(%#v) = %#v", ve, he)
	}
	checkAbort(t, err, he)
}

// checkAnswer answers an accepted item as the API does and reads it back.
func checkAnswer(t *testing.T, it news.Item) {
	t.Helper()
	if n := utf8.RuneCountInString(it.Text); n == 0 || n > news.MaxTextChars || !utf8.ValidString(it.Text) {
		t.Fatalf("text %q accepted with %d characters", it.Text, n)
	}
	if n := utf8.RuneCountInString(it.Source); n > news.MaxSourceChars || !utf8.ValidString(it.Source) {
		t.Fatalf("source %q accepted with %d characters", it.Source, n)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.JSON(http.StatusCreated, it)
	var back news.Item
	if err := json.Unmarshal(w.Body.Bytes(), &back); err != nil {
		t.Fatalf("answer %q: %v", w.Body.String(), err)
	}
	if !reflect.DeepEqual(back, it) {
		t.Fatalf("item changes in the answer:\n%+v\n%+v\n%s", it, back, w.Body.String())
	}
}

// emptyKey finds a JSON object key that is the empty string.
var emptyKey = regexp.MustCompile(`""\s*:`)
