package news_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"newsflash/internal/news"
)

// Fuzz targets of editor input and reader filters. Run one with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzNewItem$' -fuzztime 1m ./internal/news
//
// Crashers land in testdata/fuzz/<target>/ and are committed as
// regressions; plain go test runs them with the seeds below.

// fuzzSplit turns a comma-separated fuzz string into a list; "" is no list.
func fuzzSplit(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// fold is what validation makes of free text: every run of white space
// becomes one space, the ends are trimmed, nothing else changes.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// plainText reports whether s is valid UTF-8 without control characters
// other than white space, that is text validation must keep.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// validationError checks that err is a *news.ValidationError on one of
// fields with a snake_case code and a message, and returns it.
func validationError(t *testing.T, err error, fields ...string) *news.ValidationError {
	t.Helper()
	var ve *news.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *news.ValidationError", err, err)
	}
	if ve.Code == "" || strings.Trim(ve.Code, "abcdefghijklmnopqrstuvwxyz_") != "" || ve.Message == "" {
		t.Fatalf("error %#v: want a snake_case code and a message", ve)
	}
	if !slices.Contains(fields, ve.Field) {
		t.Fatalf("error %v names field %q, want one of %q", err, ve.Field, fields)
	}
	return ve
}

var itemFields = []string{"text", "lang", "regions", "topics", "source", "url", "priority"}

// checkText checks a validated text field against its input: folded, never
// otherwise changed, and within the limit in characters.
func checkText(t *testing.T, field, in, out string, max int) {
	t.Helper()
	if out != fold(in) {
		t.Fatalf("%s %q validated to %q, want the input folded: %q", field, in, out, fold(in))
	}
	if !utf8.ValidString(out) || utf8.RuneCountInString(out) > max {
		t.Fatalf("%s %q: %d characters, invalid UTF-8 or over the limit %d", field, out, utf8.RuneCountInString(out), max)
	}
	for _, r := range out {
		if unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ' {
			t.Fatalf("%s %q keeps control or white space character %U", field, out, r)
		}
	}
}

// checkTextError checks that a text field refused or accepted matches the
// rules: valid text within the limit in characters (counted after folding)
// is accepted, and a length error means it really is too long.
func checkTextError(t *testing.T, ve *news.ValidationError, field, in string, max int, required bool) {
	t.Helper()
	n := utf8.RuneCountInString(fold(in))
	fine := plainText(in) && n <= max && (n > 0 || !required)
	if fine && ve != nil && ve.Field == field {
		t.Fatalf("%s %q (%d characters) refused: %v", field, in, n, ve)
	}
	if ve != nil && ve.Code == field+"_too_long" && n <= max {
		t.Fatalf("%s %q refused as too long with %d characters, limit %d", field, in, n, max)
	}
}

// checkURL checks a validated url: empty, or an absolute http(s) URL with a
// host, within the limit, without user info, spaces or control characters,
// as the API documents.
func checkURL(t *testing.T, in, out string) {
	t.Helper()
	if out == "" {
		if strings.TrimSpace(in) != "" {
			t.Fatalf("url %q validated to empty", in)
		}
		return
	}
	if out != strings.TrimSpace(in) {
		t.Fatalf("url %q validated to %q", in, out)
	}
	u, err := url.Parse(out)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || len(out) > news.MaxURLBytes {
		t.Fatalf("url %q accepted: %v", out, err)
	}
	if !utf8.ValidString(out) {
		t.Fatalf("url %q accepted with invalid UTF-8", out)
	}
	for _, r := range out {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			t.Fatalf("url %q accepted with space or control character %U", out, r)
		}
	}
}

func draftOf(it news.Item) news.Draft {
	return news.Draft{Text: it.Text, Lang: it.Lang, Regions: it.Regions, Topics: it.Topics, Source: it.Source, URL: it.URL, Priority: it.Priority}
}

// FuzzNewItem validates drafts and corrections made of the same values.
// Properties: every refusal is a ValidationError on an item field; an
// accepted item is normalised (text folded and kept as text, lengths in
// characters within limits, known unique slugs, a known priority), validates
// again to itself, survives a JSON round trip unchanged, and a correction
// with the same values gives the same result as the post.
func FuzzNewItem(f *testing.F) {
	rtl := "\u202eevil.exe\u202c"
	seeds := []struct {
		text, lang, regions, topics, source, url, priority string
		present                                            uint8
	}{
		{"Ceasefire announced in Gaza", "en", "mena,palestine", "politics", "Reuters", "https://example.com/story", "flash", 0xff},
		{"  Two\n\tlines \u00a0 and\u2028more  ", "EN", " MENA ,mena,Mena", "", "", "", " Urgent ", 0x01},
		{"عاجل: وقف إطلاق النار", "ar", "mena", "politics,politics", "الميادين", "http://example.com", "", 0x7f},
		{"<b>bold</b> &amp; <script>alert(1)</script>", "es", "europe", "arts-culture", "<i>src</i>", "https://example.com/?a=<b>&c=\"d\"", "breaking", 0x03},
		{rtl + " override " + rtl, "en", "asia", "", rtl, "https://example.com/" + rtl, "", 0x09},
		{"", "en", "mena", "", "", "", "", 0x00},
		{" \n\t ", "en", "mena", "", "", "", "", 0x01},
		{"bell\a", "en", "mena", "", "nul\x00", "", "", 0x01},
		{"bad \xff\xfe utf-8", "en", "mena", "", "\xc3", "https://example.com/\xff", "", 0x21},
		{strings.Repeat("ب", news.MaxTextChars), "ar", "mena", "", strings.Repeat("s", news.MaxSourceChars), "", "", 0x11},
		{strings.Repeat("ب", news.MaxTextChars+1), "ar", "mena", "", strings.Repeat("s", news.MaxSourceChars+1), "", "", 0x11},
		{strings.Repeat("a ", 5000), "en", "mena", "", "", "https://example.com/" + strings.Repeat("x", news.MaxURLBytes), "", 0x21},
		{"x", "fr", "mars", "gossip", "", "javascript:alert(1)", "urgent!!", 0xff},
		{"x", "en", "africa,asia,asia-pacific,europe,latin-america,mena,palestine,us-canada,africa", "", "", "https://u:p@example.com/", "", 0x23},
		{"x", "en", "", "", "", "/relative", "", 0x22},
		{"x", "en", "mena", "", "", "https://example.com/a\u0085b", "", 0x20},
		{"x", "en", "mena", "", "", "https://example.com/\xff\xfe", "", 0x20},
		{"x", "en", "mena", "", "", "https://example.com/a\u2028b\u00a0c", "", 0x20},
		{"x", "en", "mena", "", "", "https://exa mple.com/", "", 0x20},
		{"x", " ", "mena", "", "", "http://", "", 0x20},
	}
	for _, s := range seeds {
		f.Add(s.text, s.lang, s.regions, s.topics, s.source, s.url, s.priority, s.present)
	}
	tx := news.DefaultTaxonomy()
	base, err := tx.NewItem(news.Draft{Text: "Base item", Lang: "ar", Regions: []string{"mena"}, Topics: []string{"politics"}, Source: "Wire", URL: "https://example.com/base"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, lang, regions, topics, source, rawURL, priority string, present uint8) {
		d := news.Draft{Text: text, Lang: lang, Regions: fuzzSplit(regions), Topics: fuzzSplit(topics), Source: source, URL: rawURL, Priority: priority}
		it, err := tx.NewItem(d)
		var ve *news.ValidationError
		if err != nil {
			ve = validationError(t, err, itemFields...)
		}
		checkTextError(t, ve, "text", text, news.MaxTextChars, true)
		checkTextError(t, ve, "source", source, news.MaxSourceChars, false)
		if err == nil {
			checkItem(t, tx, d, it)
		}

		// A correction of every field with the same values validates alike.
		all := news.Patch{Text: &d.Text, Regions: &d.Regions, Topics: &d.Topics, Source: &d.Source, URL: &d.URL, Priority: &d.Priority}
		cur := base
		if err == nil {
			cur.Lang = it.Lang // a correction keeps the language
		}
		next, _, perr := tx.ApplyPatch(cur, all)
		switch {
		case err == nil && perr != nil:
			t.Fatalf("post accepted, the same correction refused: %v", perr)
		case err == nil:
			want := it
			want.Version, want.Status = cur.Version, cur.Status
			if !reflect.DeepEqual(next, want) {
				t.Fatalf("correction gives %+v, post gives %+v", next, it)
			}
		case perr == nil && ve.Field != "lang":
			t.Fatalf("post refused (%v), the same correction accepted", err)
		case perr != nil && ve.Field != "lang":
			if pe := validationError(t, perr, itemFields...); pe.Code != ve.Code || pe.Field != ve.Field {
				t.Fatalf("post refused with %s on %s, correction with %s on %s", ve.Code, ve.Field, pe.Code, pe.Field)
			}
		}

		// A partial correction: the fields present change, the others stay.
		var p news.Patch
		for i, set := range []func(){
			func() { p.Text = &d.Text }, func() { p.Regions = &d.Regions }, func() { p.Topics = &d.Topics },
			func() { p.Source = &d.Source }, func() { p.URL = &d.URL }, func() { p.Priority = &d.Priority },
		} {
			if present&(1<<i) != 0 {
				set()
			}
		}
		checkPatch(t, tx, base, p)
	})
}

// checkItem checks an accepted draft's item.
func checkItem(t *testing.T, tx *news.Taxonomy, d news.Draft, it news.Item) {
	t.Helper()
	if it.Version != 1 || it.Status != news.StatusLive {
		t.Fatalf("new item has version %d status %q", it.Version, it.Status)
	}
	checkText(t, "text", d.Text, it.Text, news.MaxTextChars)
	if it.Text == "" {
		t.Fatalf("text %q accepted blank", d.Text)
	}
	checkText(t, "source", d.Source, it.Source, news.MaxSourceChars)
	checkURL(t, d.URL, it.URL)
	if l, ok := tx.Lang(it.Lang); !ok || l != it.Lang {
		t.Fatalf("lang %q accepted as %q", d.Lang, it.Lang)
	}
	checkSlugs(t, "regions", it.Regions, 1, news.MaxRegions, tx.Region)
	checkSlugs(t, "topics", it.Topics, 0, news.MaxTopics, tx.Topic)
	switch it.Priority {
	case news.PriorityFlash, news.PriorityUrgent, news.PriorityBreaking:
	default:
		t.Fatalf("priority %q accepted as %q", d.Priority, it.Priority)
	}

	// Normalising is idempotent: the item validates again to itself.
	again, err := tx.NewItem(draftOf(it))
	if err != nil {
		t.Fatalf("normalised item %+v refused: %v", it, err)
	}
	if !reflect.DeepEqual(again, it) {
		t.Fatalf("item %+v validates again to %+v", it, again)
	}

	// Text stays text on the wire: the JSON readers and the stream get
	// decodes to exactly the same item, whatever markup or escaping it holds.
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	var back news.Item
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("item JSON %s does not decode: %v", b, err)
	}
	if !reflect.DeepEqual(back, it) {
		t.Fatalf("item changes in a JSON round trip:\n%+v\n%+v\nJSON %s", it, back, b)
	}
}

func checkSlugs(t *testing.T, field string, got []string, min, max int, known func(string) (string, bool)) {
	t.Helper()
	if len(got) < min || len(got) > max {
		t.Fatalf("%s %q: %d values, want %d to %d", field, got, len(got), min, max)
	}
	for i, s := range got {
		if k, ok := known(s); !ok || k != s {
			t.Fatalf("%s %q: %q is not a known slug", field, got, s)
		}
		if slices.Contains(got[:i], s) {
			t.Fatalf("%s %q: %q repeated", field, got, s)
		}
	}
}

// checkPatch applies a correction to a valid item: a refusal names a field
// the patch has; an accepted one changes only those fields, reports a change
// exactly when there is one, and applies again without change.
func checkPatch(t *testing.T, tx *news.Taxonomy, cur news.Item, p news.Patch) {
	t.Helper()
	next, changed, err := tx.ApplyPatch(cur, p)
	if err != nil {
		var fields []string
		for _, f := range []struct {
			name string
			set  bool
		}{{"text", p.Text != nil}, {"regions", p.Regions != nil}, {"topics", p.Topics != nil},
			{"source", p.Source != nil}, {"url", p.URL != nil}, {"priority", p.Priority != nil}} {
			if f.set {
				fields = append(fields, f.name)
			}
		}
		if fields == nil {
			fields = []string{""} // empty_patch
		}
		validationError(t, err, fields...)
		return
	}
	want := cur
	if p.Text != nil {
		checkText(t, "text", *p.Text, next.Text, news.MaxTextChars)
		want.Text = next.Text
	}
	if p.Regions != nil {
		checkSlugs(t, "regions", next.Regions, 1, news.MaxRegions, tx.Region)
		want.Regions = next.Regions
	}
	if p.Topics != nil {
		checkSlugs(t, "topics", next.Topics, 0, news.MaxTopics, tx.Topic)
		want.Topics = next.Topics
	}
	if p.Source != nil {
		checkText(t, "source", *p.Source, next.Source, news.MaxSourceChars)
		want.Source = next.Source
	}
	if p.URL != nil {
		checkURL(t, *p.URL, next.URL)
		want.URL = next.URL
	}
	if p.Priority != nil {
		want.Priority = next.Priority
	}
	if !reflect.DeepEqual(next, want) {
		t.Fatalf("correction %+v changed fields it does not have:\n%+v\n%+v", p, cur, next)
	}
	if same := reflect.DeepEqual(next, cur); changed == same {
		t.Fatalf("changed = %v, but the item is %v", changed, map[bool]string{true: "the same", false: "different"}[same])
	}
	again, changedAgain, err := tx.ApplyPatch(next, p)
	if err != nil || changedAgain || !reflect.DeepEqual(again, next) {
		t.Fatalf("correction applied twice: changed %v, %v\n%+v\n%+v", changedAgain, err, next, again)
	}
}

// FuzzParseFilter parses reader filters as the WebSocket, SSE and item list
// queries give them. Properties: a refusal is a ValidationError naming the
// query parameter; a filter holds known slugs, sorted, unique and within the
// limit; parsing is idempotent; Key is stable (the same filter written in
// another order, case, spacing or with repeats has the same Key) and
// unambiguous; IsZero agrees with Key; an item carrying the filter's first
// values matches it.
func FuzzParseFilter(f *testing.F) {
	f.Add("mena,palestine", "politics", "en,ar")
	f.Add("", "", "")
	f.Add(" , ,", ",", " ")
	f.Add(" MENA , Europe,mena,MENA", "Arts-Culture", " EN")
	f.Add("mars", "", "")
	f.Add("", "gossip", "")
	f.Add("", "", "fr")
	f.Add(strings.Repeat("mena,", news.MaxFilterValues), "", "")
	f.Add(strings.Repeat(",", news.MaxFilterValues), "", "")
	f.Add("mena|europe", "politics,", ",en")
	f.Add("me\u202ena", "\x00", "e\xffn")
	f.Add("\u212aelvin", "İ", "ΕΝ")
	f.Add(strings.Repeat("x", 4096), "", "")
	tx := news.DefaultTaxonomy()
	f.Fuzz(func(t *testing.T, regions, topics, langs string) {
		flt, err := tx.ParseFilter(regions, topics, langs)
		if err != nil {
			ve := validationError(t, err, "regions", "topics", "langs")
			if ve.Code == "too_many_"+ve.Field {
				if q := map[string]string{"regions": regions, "topics": topics, "langs": langs}[ve.Field]; strings.Count(q, ",") < news.MaxFilterValues {
					t.Fatalf("%s %q refused as too many values", ve.Field, q)
				}
			}
			return
		}
		checkFilter(t, "regions", flt.Regions, tx.Region)
		checkFilter(t, "topics", flt.Topics, tx.Topic)
		checkFilter(t, "langs", flt.Langs, tx.Lang)

		again, err := tx.ParseFilter(strings.Join(flt.Regions, ","), strings.Join(flt.Topics, ","), strings.Join(flt.Langs, ","))
		if err != nil || !reflect.DeepEqual(again, flt) {
			t.Fatalf("filter %+v parses again to %+v, %v", flt, again, err)
		}
		key := flt.Key()
		other, err := tx.ParseFilter(rewrite(flt.Regions), rewrite(flt.Topics), rewrite(flt.Langs))
		if err != nil || other.Key() != key {
			t.Fatalf("filter %+v rewritten has key %q (%v), want %q", flt, other.Key(), err, key)
		}
		if parts := strings.Split(key, "|"); len(parts) != 3 || parts[0] != strings.Join(flt.Regions, ",") ||
			parts[1] != strings.Join(flt.Topics, ",") || parts[2] != strings.Join(flt.Langs, ",") {
			t.Fatalf("key %q of %+v is ambiguous", key, flt)
		}
		if flt.IsZero() != (key == "||") {
			t.Fatalf("filter %+v: IsZero %v, key %q", flt, flt.IsZero(), key)
		}
		it := news.Item{Lang: "en", Regions: []string{"africa"}}
		if len(flt.Regions) > 0 {
			it.Regions = []string{"asia", flt.Regions[0]}
		}
		if len(flt.Topics) > 0 {
			it.Topics = flt.Topics[:1]
		}
		if len(flt.Langs) > 0 {
			it.Lang = flt.Langs[0]
		}
		if !flt.Match(&it) || !(news.Filter{}).Match(&it) {
			t.Fatalf("filter %+v does not match %+v", flt, it)
		}
	})
}

func checkFilter(t *testing.T, field string, got []string, known func(string) (string, bool)) {
	t.Helper()
	if len(got) > news.MaxFilterValues || !slices.IsSorted(got) {
		t.Fatalf("%s %q: more than %d values or not sorted", field, got, news.MaxFilterValues)
	}
	checkSlugs(t, field, got, 0, news.MaxFilterValues, known)
}

// rewrite writes a dimension as a reader might: reversed, upper case,
// spaced out, with repeats and empty parts (3 parts a slug: a taxonomy
// dimension has few enough terms to stay within MaxFilterValues).
func rewrite(slugs []string) string {
	var parts []string
	for _, s := range slices.Backward(slugs) {
		parts = append(parts, " "+strings.ToUpper(s)+" ", s, "")
	}
	return strings.Join(parts, ",")
}
