package news_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"newsflash/internal/news"
)

// wantValidation checks that err is a *news.ValidationError with this code
// and field, and returns it.
func wantValidation(t *testing.T, err error, code, field string) *news.ValidationError {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s on field %q", code, field)
	}
	var ve *news.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *news.ValidationError", err, err)
	}
	if ve.Code != code || ve.Field != field {
		t.Fatalf("error code %q field %q (%v), want code %q field %q", ve.Code, ve.Field, err, code, field)
	}
	if ve.Message == "" {
		t.Errorf("error %s has no message", code)
	}
	return ve
}

// wideTaxonomy has more regions and topics than an item may carry, so that
// the per-item limits can be reached.
func wideTaxonomy(t *testing.T) *news.Taxonomy {
	t.Helper()
	var regions, topics []string
	for i := range 10 {
		regions = append(regions, fmt.Sprintf(`{"slug":"r%d"}`, i))
		topics = append(topics, fmt.Sprintf(`{"slug":"t%d"}`, i))
	}
	tx, err := news.ParseTaxonomy([]byte(`{"regions":[` + strings.Join(regions, ",") + `],"topics":[` +
		strings.Join(topics, ",") + `],"languages":[{"slug":"en"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func validDraft() news.Draft {
	return news.Draft{
		Text:    "Earthquake of magnitude 6.1 strikes off the coast",
		Lang:    "en",
		Regions: []string{"asia-pacific"},
		Topics:  []string{"environment"},
		Source:  "Wire service",
		URL:     "https://example.com/news/1",
	}
}

func TestNewItemValid(t *testing.T) {
	tx := news.DefaultTaxonomy()
	arabic600 := strings.Repeat("خ", 600)
	tests := []struct {
		name   string
		change func(d *news.Draft)
		check  func(t *testing.T, it news.Item)
	}{
		{"plain draft", func(*news.Draft) {}, func(t *testing.T, it news.Item) {
			want := news.Item{
				Version: 1, Status: news.StatusLive,
				Text: "Earthquake of magnitude 6.1 strikes off the coast", Lang: "en",
				Regions: []string{"asia-pacific"}, Topics: []string{"environment"},
				Source: "Wire service", URL: "https://example.com/news/1", Priority: news.PriorityBreaking,
			}
			if fmt.Sprint(it) != fmt.Sprint(want) {
				t.Errorf("item = %+v\nwant %+v", it, want)
			}
		}},
		{"alert kept", func(d *news.Draft) { d.Alert = true }, func(t *testing.T, it news.Item) {
			if !it.Alert || it.AlertedAt != nil {
				t.Errorf("alert %v, alerted_at %v; want true and unset (the caller's)", it.Alert, it.AlertedAt)
			}
		}},
		{"600 ASCII characters", func(d *news.Draft) { d.Text = strings.Repeat("a", 600) }, func(t *testing.T, it news.Item) {
			if len(it.Text) != 600 {
				t.Errorf("text has %d bytes, want 600", len(it.Text))
			}
		}},
		{"600 Arabic characters (1200 bytes)", func(d *news.Draft) { d.Text = arabic600; d.Lang = "ar" }, func(t *testing.T, it news.Item) {
			if it.Text != arabic600 || it.Lang != "ar" {
				t.Errorf("text or lang changed: %d bytes, lang %q", len(it.Text), it.Lang)
			}
		}},
		{"text trimmed", func(d *news.Draft) { d.Text = "  \t breaking \n" }, func(t *testing.T, it news.Item) {
			if it.Text != "breaking" {
				t.Errorf("text = %q, want %q", it.Text, "breaking")
			}
		}},
		{"white space folded, line breaks included", func(d *news.Draft) {
			d.Text = "one  two\tthree\nfour\r\nfive\u00a0six\u2003seven"
		}, func(t *testing.T, it news.Item) {
			if want := "one two three four five six seven"; it.Text != want {
				t.Errorf("text = %q, want %q", it.Text, want)
			}
		}},
		{"folding counts toward the limit after folding", func(d *news.Draft) {
			d.Text = strings.Repeat("a  ", 300) // 900 characters, 599 after folding and trimming
		}, func(t *testing.T, it news.Item) {
			if n := len(it.Text); n != 599 {
				t.Errorf("text has %d characters, want 599", n)
			}
		}},
		{"HTML kept literally", func(d *news.Draft) { d.Text = `<img src=x onerror=alert(1)>` }, func(t *testing.T, it news.Item) {
			if it.Text != `<img src=x onerror=alert(1)>` {
				t.Errorf("text = %q, want the markup unchanged", it.Text)
			}
		}},
		{"HTML in source kept literally", func(d *news.Draft) { d.Source = `<b>&amp;</b>` }, func(t *testing.T, it news.Item) {
			if it.Source != `<b>&amp;</b>` {
				t.Errorf("source = %q, want the markup unchanged", it.Source)
			}
		}},
		{"lang normalised", func(d *news.Draft) { d.Lang = " EN " }, func(t *testing.T, it news.Item) {
			if it.Lang != "en" {
				t.Errorf("lang = %q, want en", it.Lang)
			}
		}},
		{"regions normalised and deduplicated in order", func(d *news.Draft) {
			d.Regions = []string{"MENA", "europe", "mena", " Europe ", "palestine"}
		}, func(t *testing.T, it news.Item) {
			if want := []string{"mena", "europe", "palestine"}; !slices.Equal(it.Regions, want) {
				t.Errorf("regions = %q, want %q", it.Regions, want)
			}
		}},
		{"nine repeats of one region are one region", func(d *news.Draft) {
			d.Regions = slices.Repeat([]string{"africa"}, 9)
		}, func(t *testing.T, it news.Item) {
			if want := []string{"africa"}; !slices.Equal(it.Regions, want) {
				t.Errorf("regions = %q, want %q", it.Regions, want)
			}
		}},
		{"all eight regions", func(d *news.Draft) {
			d.Regions = []string{"africa", "asia", "asia-pacific", "europe", "latin-america", "mena", "palestine", "us-canada"}
		}, func(t *testing.T, it news.Item) {
			if len(it.Regions) != 8 {
				t.Errorf("%d regions, want 8", len(it.Regions))
			}
		}},
		{"topics deduplicated", func(d *news.Draft) { d.Topics = []string{"Sports", "sports", "HEALTH"} }, func(t *testing.T, it news.Item) {
			if want := []string{"sports", "health"}; !slices.Equal(it.Topics, want) {
				t.Errorf("topics = %q, want %q", it.Topics, want)
			}
		}},
		{"no topics", func(d *news.Draft) { d.Topics = nil }, func(t *testing.T, it news.Item) {
			if len(it.Topics) != 0 {
				t.Errorf("topics = %q, want none", it.Topics)
			}
		}},
		{"no source and no url", func(d *news.Draft) { d.Source, d.URL = "  ", "  " }, func(t *testing.T, it news.Item) {
			if it.Source != "" || it.URL != "" {
				t.Errorf("source %q url %q, want both empty", it.Source, it.URL)
			}
		}},
		{"source of 120 characters", func(d *news.Draft) { d.Source = strings.Repeat("ü", 120) }, func(t *testing.T, it news.Item) {
			if it.Source != strings.Repeat("ü", 120) {
				t.Errorf("source changed: %q", it.Source)
			}
		}},
		{"source folded", func(d *news.Draft) { d.Source = " Reuters\n and  AP " }, func(t *testing.T, it news.Item) {
			if it.Source != "Reuters and AP" {
				t.Errorf("source = %q, want %q", it.Source, "Reuters and AP")
			}
		}},
		{"http url with port, query and fragment", func(d *news.Draft) { d.URL = " http://example.com:8080/a?b=c#d " }, func(t *testing.T, it news.Item) {
			if it.URL != "http://example.com:8080/a?b=c#d" {
				t.Errorf("url = %q", it.URL)
			}
		}},
		{"url of 2048 bytes", func(d *news.Draft) {
			d.URL = "https://example.com/" + strings.Repeat("a", 2048-len("https://example.com/"))
		}, func(t *testing.T, it news.Item) {
			if len(it.URL) != 2048 {
				t.Errorf("url has %d bytes, want 2048", len(it.URL))
			}
		}},
		{"priority flash", func(d *news.Draft) { d.Priority = "flash" }, func(t *testing.T, it news.Item) {
			if it.Priority != news.PriorityFlash {
				t.Errorf("priority = %q, want flash", it.Priority)
			}
		}},
		{"priority urgent in upper case", func(d *news.Draft) { d.Priority = " URGENT " }, func(t *testing.T, it news.Item) {
			if it.Priority != news.PriorityUrgent {
				t.Errorf("priority = %q, want urgent", it.Priority)
			}
		}},
		{"priority breaking", func(d *news.Draft) { d.Priority = "Breaking" }, func(t *testing.T, it news.Item) {
			if it.Priority != news.PriorityBreaking {
				t.Errorf("priority = %q, want breaking", it.Priority)
			}
		}},
		{"default priority is breaking", func(d *news.Draft) { d.Priority = "" }, func(t *testing.T, it news.Item) {
			if it.Priority != news.PriorityBreaking {
				t.Errorf("priority = %q, want breaking", it.Priority)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDraft()
			tt.change(&d)
			it, err := tx.NewItem(d)
			if err != nil {
				t.Fatalf("NewItem: %v", err)
			}
			if it.Version != 1 || it.Status != news.StatusLive {
				t.Errorf("version %d status %q, want 1 live", it.Version, it.Status)
			}
			if it.ID != "" || it.Seq != 0 || it.Editor != "" || !it.PublishedAt.IsZero() {
				t.Errorf("NewItem filled in caller fields: %+v", it)
			}
			tt.check(t, it)
		})
	}
}

func TestNewItemInvalid(t *testing.T) {
	tx := news.DefaultTaxonomy()
	wide := wideTaxonomy(t)
	nineOf := func(prefix string) []string {
		var s []string
		for i := range 9 {
			s = append(s, fmt.Sprintf("%s%d", prefix, i))
		}
		return s
	}
	tests := []struct {
		name    string
		tx      *news.Taxonomy
		change  func(d *news.Draft)
		code    string
		field   string
		wantMsg string // part of the message, if set
	}{
		{"empty text", nil, func(d *news.Draft) { d.Text = "" }, "empty_text", "text", ""},
		{"blank text", nil, func(d *news.Draft) { d.Text = " \n\t\u00a0 " }, "empty_text", "text", ""},
		{"601 ASCII characters", nil, func(d *news.Draft) { d.Text = strings.Repeat("a", 601) }, "text_too_long", "text", "601"},
		{"601 Arabic characters", nil, func(d *news.Draft) { d.Text = strings.Repeat("خ", 601); d.Lang = "ar" }, "text_too_long", "text", "limit is 600"},
		{"NUL in text", nil, func(d *news.Draft) { d.Text = "a\x00b" }, "invalid_text", "text", "U+0000"},
		{"escape in text", nil, func(d *news.Draft) { d.Text = "red \x1b[31m alert" }, "invalid_text", "text", "U+001B"},
		{"DEL in text", nil, func(d *news.Draft) { d.Text = "a\x7fb" }, "invalid_text", "text", "U+007F"},
		{"C1 control in text", nil, func(d *news.Draft) { d.Text = "a\u0090b" }, "invalid_text", "text", "U+0090"},
		{"invalid UTF-8 in text", nil, func(d *news.Draft) { d.Text = "a\xffb" }, "invalid_text", "text", "UTF-8"},
		{"control character only", nil, func(d *news.Draft) { d.Text = "\x07" }, "invalid_text", "text", ""},
		{"missing lang", nil, func(d *news.Draft) { d.Lang = "" }, "missing_lang", "lang", "ar, en, es"},
		{"blank lang", nil, func(d *news.Draft) { d.Lang = "   " }, "missing_lang", "lang", ""},
		{"unknown lang", nil, func(d *news.Draft) { d.Lang = "fr" }, "unknown_lang", "lang", `"fr"; allowed: ar, en, es`},
		{"lang with region", nil, func(d *news.Draft) { d.Lang = "en-US" }, "unknown_lang", "lang", ""},
		{"no regions", nil, func(d *news.Draft) { d.Regions = nil }, "missing_regions", "regions", "africa, asia"},
		{"empty regions", nil, func(d *news.Draft) { d.Regions = []string{} }, "missing_regions", "regions", ""},
		{"unknown region", nil, func(d *news.Draft) { d.Regions = []string{"mena", "atlantis"} }, "unknown_region", "regions", `"atlantis"`},
		{"blank region", nil, func(d *news.Draft) { d.Regions = []string{" "} }, "unknown_region", "regions", ""},
		{"topic given as region", nil, func(d *news.Draft) { d.Regions = []string{"politics"} }, "unknown_region", "regions", ""},
		{"too many regions", wide, func(d *news.Draft) { d.Regions = nineOf("r"); d.Topics = nil }, "too_many_regions", "regions", "at most 8"},
		{"unknown topic", nil, func(d *news.Draft) { d.Topics = []string{"weather"} }, "unknown_topic", "topics", "allowed: arts-culture, economy"},
		{"region given as topic", nil, func(d *news.Draft) { d.Topics = []string{"europe"} }, "unknown_topic", "topics", ""},
		{"too many topics", wide, func(d *news.Draft) { d.Regions = []string{"r0"}; d.Topics = nineOf("t") }, "too_many_topics", "topics", "at most 8"},
		{"source too long", nil, func(d *news.Draft) { d.Source = strings.Repeat("s", 121) }, "source_too_long", "source", "121"},
		{"source too long in runes", nil, func(d *news.Draft) { d.Source = strings.Repeat("ش", 121) }, "source_too_long", "source", ""},
		{"control character in source", nil, func(d *news.Draft) { d.Source = "AP\x00" }, "invalid_source", "source", ""},
		{"ftp url", nil, func(d *news.Draft) { d.URL = "ftp://example.com/file" }, "invalid_url", "url", ""},
		{"javascript url", nil, func(d *news.Draft) { d.URL = "javascript:alert(1)" }, "invalid_url", "url", ""},
		{"data url", nil, func(d *news.Draft) { d.URL = "data:text/html,<script>alert(1)</script>" }, "invalid_url", "url", ""},
		{"relative url", nil, func(d *news.Draft) { d.URL = "/news/1" }, "invalid_url", "url", ""},
		{"url without scheme", nil, func(d *news.Draft) { d.URL = "example.com/news" }, "invalid_url", "url", ""},
		{"scheme-relative url", nil, func(d *news.Draft) { d.URL = "//example.com/news" }, "invalid_url", "url", ""},
		{"url without host", nil, func(d *news.Draft) { d.URL = "https:///news" }, "invalid_url", "url", ""},
		{"url with port only", nil, func(d *news.Draft) { d.URL = "http://:80/" }, "invalid_url", "url", ""},
		{"url with user", nil, func(d *news.Draft) { d.URL = "https://user@example.com/" }, "invalid_url", "url", "user name"},
		{"url with password", nil, func(d *news.Draft) { d.URL = "https://user:secret@example.com/" }, "invalid_url", "url", "password"},
		{"url with space in path", nil, func(d *news.Draft) { d.URL = "https://example.com/a b" }, "invalid_url", "url", ""},
		{"url with space in host", nil, func(d *news.Draft) { d.URL = "https://exa mple.com/" }, "invalid_url", "url", ""},
		{"url with tab", nil, func(d *news.Draft) { d.URL = "https://example.com/a\tb" }, "invalid_url", "url", ""},
		{"url with newline", nil, func(d *news.Draft) { d.URL = "https://example.com/a\nb" }, "invalid_url", "url", ""},
		{"url with a C1 control (NEL)", nil, func(d *news.Draft) { d.URL = "https://example.com/a\u0085b" }, "invalid_url", "url", "control"},
		{"url with a line separator", nil, func(d *news.Draft) { d.URL = "https://example.com/a\u2028b" }, "invalid_url", "url", "spaces"},
		{"url with a no-break space", nil, func(d *news.Draft) { d.URL = "https://example.com/a\u00a0b" }, "invalid_url", "url", "spaces"},
		{"url not UTF-8", nil, func(d *news.Draft) { d.URL = "https://example.com/\xff" }, "invalid_url", "url", "UTF-8"},
		{"url too long", nil, func(d *news.Draft) {
			d.URL = "https://example.com/" + strings.Repeat("a", 2049-len("https://example.com/"))
		}, "invalid_url", "url", "2048"},
		{"unknown priority", nil, func(d *news.Draft) { d.Priority = "low" }, "invalid_priority", "priority", "flash, urgent, breaking"},
		{"numeric priority", nil, func(d *news.Draft) { d.Priority = "1" }, "invalid_priority", "priority", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.tx
			if x == nil {
				x = tx
			}
			d := validDraft()
			tt.change(&d)
			it, err := x.NewItem(d)
			ve := wantValidation(t, err, tt.code, tt.field)
			if !strings.Contains(ve.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", ve.Message, tt.wantMsg)
			}
			if want := tt.field + ": " + ve.Message; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if it.Version != 0 || it.Text != "" {
				t.Errorf("NewItem returned an item with its error: %+v", it)
			}
		})
	}
}

// The wide taxonomy accepts exactly eight regions and eight topics.
func TestNewItemLimitsInclusive(t *testing.T) {
	wide := wideTaxonomy(t)
	var regions, topics []string
	for i := range 8 {
		regions = append(regions, fmt.Sprintf("r%d", i))
		topics = append(topics, fmt.Sprintf("t%d", i))
	}
	it, err := wide.NewItem(news.Draft{Text: "x", Lang: "en", Regions: regions, Topics: topics})
	if err != nil {
		t.Fatalf("NewItem with 8 regions and 8 topics: %v", err)
	}
	if !slices.Equal(it.Regions, regions) || !slices.Equal(it.Topics, topics) {
		t.Errorf("regions %q topics %q", it.Regions, it.Topics)
	}
}

func ptr[T any](v T) *T { return &v }

func TestApplyPatch(t *testing.T) {
	tx := news.DefaultTaxonomy()
	cur, err := tx.NewItem(news.Draft{
		Text: "Talks resume", Lang: "en", Regions: []string{"europe", "mena"}, Topics: []string{"politics"},
		Source: "AP", URL: "https://example.com/1", Priority: "urgent",
	})
	if err != nil {
		t.Fatal(err)
	}
	cur.ID, cur.Seq, cur.PublishedSeq, cur.Editor = "aaaaaaaaaaaaaaaaaaaa", 7, 7, "alice"

	tests := []struct {
		name        string
		patch       news.Patch
		wantChanged bool
		check       func(t *testing.T, next news.Item)
	}{
		{"new text", news.Patch{Text: ptr("Talks  resume\nin Geneva")}, true, func(t *testing.T, n news.Item) {
			if n.Text != "Talks resume in Geneva" {
				t.Errorf("text = %q", n.Text)
			}
		}},
		{"same text after folding", news.Patch{Text: ptr("  Talks \n resume ")}, false, func(t *testing.T, n news.Item) {
			if n.Text != "Talks resume" {
				t.Errorf("text = %q", n.Text)
			}
		}},
		{"same regions in other case", news.Patch{Regions: &[]string{"EUROPE", "Mena"}}, false, nil},
		{"same regions in other order", news.Patch{Regions: &[]string{"mena", "europe"}}, true, func(t *testing.T, n news.Item) {
			if want := []string{"mena", "europe"}; !slices.Equal(n.Regions, want) {
				t.Errorf("regions = %q, want %q", n.Regions, want)
			}
		}},
		{"one region fewer", news.Patch{Regions: &[]string{"europe"}}, true, func(t *testing.T, n news.Item) {
			if want := []string{"europe"}; !slices.Equal(n.Regions, want) {
				t.Errorf("regions = %q, want %q", n.Regions, want)
			}
		}},
		{"topics cleared", news.Patch{Topics: &[]string{}}, true, func(t *testing.T, n news.Item) {
			if len(n.Topics) != 0 {
				t.Errorf("topics = %q, want none", n.Topics)
			}
		}},
		{"topics repeated", news.Patch{Topics: &[]string{"politics", "POLITICS"}}, false, nil},
		{"source cleared", news.Patch{Source: ptr("")}, true, func(t *testing.T, n news.Item) {
			if n.Source != "" {
				t.Errorf("source = %q, want empty", n.Source)
			}
		}},
		{"url cleared", news.Patch{URL: ptr("")}, true, func(t *testing.T, n news.Item) {
			if n.URL != "" {
				t.Errorf("url = %q, want empty", n.URL)
			}
		}},
		{"url cleared with spaces", news.Patch{URL: ptr("   ")}, true, func(t *testing.T, n news.Item) {
			if n.URL != "" {
				t.Errorf("url = %q, want empty", n.URL)
			}
		}},
		{"same url", news.Patch{URL: ptr(" https://example.com/1 ")}, false, nil},
		{"new url", news.Patch{URL: ptr("https://example.com/2")}, true, func(t *testing.T, n news.Item) {
			if n.URL != "https://example.com/2" {
				t.Errorf("url = %q", n.URL)
			}
		}},
		{"same priority in upper case", news.Patch{Priority: ptr("URGENT")}, false, nil},
		{"empty priority is breaking", news.Patch{Priority: ptr("")}, true, func(t *testing.T, n news.Item) {
			if n.Priority != news.PriorityBreaking {
				t.Errorf("priority = %q, want breaking", n.Priority)
			}
		}},
		{"alert false on a ticker item", news.Patch{Alert: ptr(false)}, false, nil},
		{"alert true promotes", news.Patch{Alert: ptr(true)}, true, func(t *testing.T, n news.Item) {
			if !n.Alert || n.AlertedAt != nil || n.Text != "Talks resume" {
				t.Errorf("next = %+v, want alert on, alerted_at left to the caller, text kept", n)
			}
		}},
		{"everything at once", news.Patch{
			Text: ptr("Talks collapse"), Regions: &[]string{"africa"}, Topics: &[]string{"economy"},
			Source: ptr("Reuters"), URL: ptr("http://example.org/"), Priority: ptr("flash"),
		}, true, func(t *testing.T, n news.Item) {
			if n.Text != "Talks collapse" || !slices.Equal(n.Regions, []string{"africa"}) ||
				!slices.Equal(n.Topics, []string{"economy"}) || n.Source != "Reuters" ||
				n.URL != "http://example.org/" || n.Priority != news.PriorityFlash {
				t.Errorf("next = %+v", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprintf("%+v", cur)
			next, changed, err := tx.ApplyPatch(cur, tt.patch)
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if tt.check != nil {
				tt.check(t, next)
			}
			if !tt.wantChanged && fmt.Sprint(next) != fmt.Sprint(cur) {
				t.Errorf("unchanged patch altered the item:\n got %+v\nwant %+v", next, cur)
			}
			// What the patch does not name, and what the caller owns, stays.
			if next.ID != cur.ID || next.Seq != cur.Seq || next.Version != cur.Version || next.Lang != cur.Lang ||
				next.Editor != cur.Editor || next.Status != cur.Status {
				t.Errorf("ApplyPatch changed fields it does not own: %+v", next)
			}
			if tt.patch.Text == nil && next.Text != cur.Text {
				t.Errorf("text changed without a text patch: %q", next.Text)
			}
			if tt.patch.Source == nil && next.Source != cur.Source {
				t.Errorf("source changed without a source patch: %q", next.Source)
			}
			if after := fmt.Sprintf("%+v", cur); after != before {
				t.Errorf("ApplyPatch modified the current item:\n%s\n%s", before, after)
			}
		})
	}
}

func TestApplyPatchInvalid(t *testing.T) {
	tx := news.DefaultTaxonomy()
	cur, err := tx.NewItem(validDraft())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		patch news.Patch
		code  string
		field string
	}{
		{"empty patch", news.Patch{}, "empty_patch", ""},
		{"blank text", news.Patch{Text: ptr("  ")}, "empty_text", "text"},
		{"text too long", news.Patch{Text: ptr(strings.Repeat("ع", 601))}, "text_too_long", "text"},
		{"control character", news.Patch{Text: ptr("a\x01")}, "invalid_text", "text"},
		{"no regions", news.Patch{Regions: &[]string{}}, "missing_regions", "regions"},
		{"unknown region", news.Patch{Regions: &[]string{"atlantis"}}, "unknown_region", "regions"},
		{"unknown topic", news.Patch{Topics: &[]string{"gossip"}}, "unknown_topic", "topics"},
		{"source too long", news.Patch{Source: ptr(strings.Repeat("x", 121))}, "source_too_long", "source"},
		{"bad url", news.Patch{URL: ptr("ftp://example.com/")}, "invalid_url", "url"},
		{"bad priority", news.Patch{Priority: ptr("normal")}, "invalid_priority", "priority"},
		{"valid text then bad url", news.Patch{Text: ptr("fine"), URL: ptr("/relative")}, "invalid_url", "url"},
		{"story not a slug", news.Patch{Story: ptr("War on Gaza")}, "invalid_story", "story"},
		{"story with a trailing hyphen", news.Patch{Story: ptr("gaza-")}, "invalid_story", "story"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, changed, err := tx.ApplyPatch(cur, tt.patch)
			ve := wantValidation(t, err, tt.code, tt.field)
			if changed || next.Text != "" {
				t.Errorf("ApplyPatch returned changed=%v item %+v with its error", changed, next)
			}
			if tt.field == "" && err.Error() != ve.Message {
				t.Errorf("Error() = %q, want the bare message %q", err.Error(), ve.Message)
			}
		})
	}
}

// TestApplyPatchAlerted: on an item that has alerted, alert true changes
// nothing and alert false is ErrAlertSent, whatever else the patch says.
func TestApplyPatchAlerted(t *testing.T) {
	tx := news.DefaultTaxonomy()
	d := validDraft()
	d.Alert = true
	cur, err := tx.NewItem(d)
	if err != nil {
		t.Fatal(err)
	}
	if next, changed, err := tx.ApplyPatch(cur, news.Patch{Alert: ptr(true)}); err != nil || changed || !next.Alert {
		t.Errorf("alert true again: changed %v, alert %v, err %v; want nothing changed", changed, next.Alert, err)
	}
	for name, p := range map[string]news.Patch{
		"alert false":           {Alert: ptr(false)},
		"text with alert false": {Text: ptr("Corrected"), Alert: ptr(false)},
	} {
		if next, changed, err := tx.ApplyPatch(cur, p); !errors.Is(err, news.ErrAlertSent) || changed || next.Text != "" {
			t.Errorf("%s: changed %v, item %+v, err %v; want ErrAlertSent", name, changed, next, err)
		}
	}
}

func TestNewIDAndValidID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := news.NewID()
		if !news.ValidID(id) {
			t.Fatalf("ValidID(NewID()) = false for %q", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
	tests := []struct {
		id   string
		want bool
	}{
		{"abcdefghijklmnopqrst", true},
		{"uvwxyz234567abcdefgh", true},
		{"aaaaaaaaaaaaaaaaaaaa", true},
		{"", false},
		{"abcdefghijklmnopqrs", false},   // 19
		{"abcdefghijklmnopqrstu", false}, // 21
		{"Abcdefghijklmnopqrst", false},  // upper case
		{"abcdefghijklmnopqrs1", false},  // 1 is not in the alphabet
		{"abcdefghijklmnopqrs8", false},
		{"abcdefghijklmnopqrs0", false},
		{"abcdefghijklmnopqrs-", false},
		{"abcdefghijklmnopqr/.", false},
		{"abcdefghijklmnopqré", false}, // 20 bytes, not ASCII
	}
	for _, tt := range tests {
		if got := news.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestItemPublic(t *testing.T) {
	it := news.Item{ID: "x", Text: "t", Editor: "alice", UpdatedBy: "bob"}
	p := it.Public()
	if p.Editor != "" || p.UpdatedBy != "" {
		t.Errorf("Public kept staff names: %+v", p)
	}
	if p.ID != "x" || p.Text != "t" {
		t.Errorf("Public dropped other fields: %+v", p)
	}
	if it.Editor != "alice" || it.UpdatedBy != "bob" {
		t.Errorf("Public changed the original: %+v", it)
	}
}

// A retracted item's text and url are not public; what identifies it is.
func TestItemPublicRetracted(t *testing.T) {
	it := news.Item{ID: "x", Seq: 3, Version: 2, Status: news.StatusRetracted, Text: "said", URL: "https://news.example/a",
		Lang: "en", Regions: []string{"europe"}, Source: "wire", Editor: "alice", UpdatedBy: "bob"}
	for name, p := range map[string]news.Item{"Public": it.Public(), "Redacted": it.Redacted(),
		"Redacted of a live item": func() news.Item { l := it; l.Status = news.StatusLive; return l.Redacted() }()} {
		if p.Text != "" || p.URL != "" || p.Editor != "" || p.UpdatedBy != "" {
			t.Errorf("%s kept what the item said or who wrote it: %+v", name, p)
		}
		if p.ID != "x" || p.Seq != 3 || p.Version != 2 || p.Lang != "en" || len(p.Regions) != 1 || p.Source != "wire" {
			t.Errorf("%s dropped what identifies the item: %+v", name, p)
		}
	}
	if it.Text != "said" || it.URL == "" {
		t.Errorf("Public changed the original: %+v", it)
	}
}

func TestAlertKey(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"Quake in Town", "quake in town"},
		{"  Quake \t in\nTown ", "QUAKE IN TOWN"},
		{"Ärger in Köln", "ÄRGER IN KÖLN"},
	} {
		if news.AlertKey(tt.a) != news.AlertKey(tt.b) {
			t.Errorf("news.AlertKey(%q) = %q, news.AlertKey(%q) = %q: want the same", tt.a, news.AlertKey(tt.a), tt.b, news.AlertKey(tt.b))
		}
	}
	if news.AlertKey("Quake in Town") == news.AlertKey("Quake in Towns") {
		t.Error("different texts have the same key")
	}
}
