package news_test

import (
	"slices"
	"strings"
	"testing"

	"newsflash/internal/news"
)

func TestParseFilter(t *testing.T) {
	tx := news.DefaultTaxonomy()
	tests := []struct {
		name                   string
		regions, topics, langs string
		want                   news.Filter
	}{
		{"all empty", "", "", "", news.Filter{}},
		{"blank and empty parts", " ", " , ,", ",", news.Filter{}},
		{"one of each", "mena", "politics", "ar", news.Filter{Regions: []string{"mena"}, Topics: []string{"politics"}, Langs: []string{"ar"}}},
		{"sorted", "palestine,europe,africa", "sports,economy", "es,en",
			news.Filter{Regions: []string{"africa", "europe", "palestine"}, Topics: []string{"economy", "sports"}, Langs: []string{"en", "es"}}},
		{"case and spaces normalised", " MENA , Europe", "Arts-Culture", " EN",
			news.Filter{Regions: []string{"europe", "mena"}, Topics: []string{"arts-culture"}, Langs: []string{"en"}}},
		{"repeats dropped", "mena,MENA,mena", "", "en,en",
			news.Filter{Regions: []string{"mena"}, Langs: []string{"en"}}},
		{"empty parts skipped", ",mena,,europe,", "", "", news.Filter{Regions: []string{"europe", "mena"}}},
		{"only topics", "", "health", "", news.Filter{Topics: []string{"health"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tx.ParseFilter(tt.regions, tt.topics, tt.langs)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if !slices.Equal(f.Regions, tt.want.Regions) || !slices.Equal(f.Topics, tt.want.Topics) || !slices.Equal(f.Langs, tt.want.Langs) {
				t.Errorf("filter = %+v, want %+v", f, tt.want)
			}
			if f.IsZero() != tt.want.IsZero() {
				t.Errorf("IsZero = %v, want %v", f.IsZero(), tt.want.IsZero())
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tx := news.DefaultTaxonomy()
	tooMany := strings.TrimSuffix(strings.Repeat("mena,", 65), ",")
	tests := []struct {
		name                   string
		regions, topics, langs string
		code, field, wantMsg   string
	}{
		{"unknown region", "mena,atlantis", "", "", "unknown_region", "regions", `"atlantis"; allowed: africa, asia`},
		{"topic as region", "politics", "", "", "unknown_region", "regions", ""},
		{"unknown topic", "", "gossip", "", "unknown_topic", "topics", "allowed: arts-culture"},
		{"unknown lang", "", "", "fr", "unknown_lang", "langs", `"fr"; allowed: ar, en, es`},
		{"too many regions", tooMany, "", "", "too_many_regions", "regions", "at most 64"},
		{"too many topics", "", strings.TrimSuffix(strings.Repeat("sports,", 65), ","), "", "too_many_topics", "topics", ""},
		{"too many langs", "", "", strings.TrimSuffix(strings.Repeat("en,", 65), ","), "too_many_langs", "langs", ""},
		{"first bad dimension reported", "atlantis", "gossip", "fr", "unknown_region", "regions", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tx.ParseFilter(tt.regions, tt.topics, tt.langs)
			ve := wantValidation(t, err, tt.code, tt.field)
			if !strings.Contains(ve.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", ve.Message, tt.wantMsg)
			}
			if !f.IsZero() {
				t.Errorf("ParseFilter returned %+v with its error", f)
			}
		})
	}
}

// Exactly 64 values are allowed.
func TestParseFilterLimitInclusive(t *testing.T) {
	tx := news.DefaultTaxonomy()
	f, err := tx.ParseFilter(strings.TrimSuffix(strings.Repeat("mena,", 64), ","), "", "")
	if err != nil {
		t.Fatalf("64 values: %v", err)
	}
	if !slices.Equal(f.Regions, []string{"mena"}) {
		t.Errorf("regions = %q, want [mena]", f.Regions)
	}
}

func TestFilterMatch(t *testing.T) {
	tx := news.DefaultTaxonomy()
	item := func(lang string, regions, topics []string) *news.Item {
		return &news.Item{Lang: lang, Regions: regions, Topics: topics}
	}
	gazaPolitics := item("ar", []string{"mena", "palestine"}, []string{"politics"})
	euroSport := item("en", []string{"europe"}, []string{"sports", "health"})
	noTopics := item("es", []string{"latin-america"}, nil)

	tests := []struct {
		name                   string
		regions, topics, langs string
		it                     *news.Item
		want                   bool
	}{
		{"empty filter matches all", "", "", "", gazaPolitics, true},
		{"empty filter matches no topics", "", "", "", noTopics, true},
		{"region shared", "palestine", "", "", gazaPolitics, true},
		{"one of several regions shared", "africa,mena", "", "", gazaPolitics, true},
		{"region not shared", "europe", "", "", gazaPolitics, false},
		{"topic shared", "", "health", "", euroSport, true},
		{"topic not shared", "", "economy", "", euroSport, false},
		{"topic filter, item without topics", "", "politics", "", noTopics, false},
		{"region filter, item without topics", "latin-america", "", "", noTopics, true},
		{"lang shared", "", "", "ar", gazaPolitics, true},
		{"lang among several", "", "", "en,es", noTopics, true},
		{"lang not shared", "", "", "en", gazaPolitics, false},
		{"all three shared", "mena", "politics", "ar", gazaPolitics, true},
		{"region and topic shared, lang not", "mena", "politics", "en", gazaPolitics, false},
		{"region and lang shared, topic not", "mena", "sports", "ar", gazaPolitics, false},
		{"topic and lang shared, region not", "europe", "politics", "ar", gazaPolitics, false},
		{"regions shared, topic and lang empty", "europe,asia", "", "", euroSport, true},
		{"every dimension many values", "asia,europe", "economy,sports", "ar,en", euroSport, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tx.ParseFilter(tt.regions, tt.topics, tt.langs)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(tt.it); got != tt.want {
				t.Errorf("%+v.Match(%+v) = %v, want %v", f, *tt.it, got, tt.want)
			}
		})
	}
}

func TestFilterKey(t *testing.T) {
	tx := news.DefaultTaxonomy()
	parse := func(r, tp, l string) news.Filter {
		t.Helper()
		f, err := tx.ParseFilter(r, tp, l)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	equal := []struct {
		name string
		a, b news.Filter
	}{
		{"order", parse("mena,europe", "sports,politics", "en,ar"), parse("europe,mena", "politics,sports", "ar,en")},
		{"case", parse("MENA", "Politics", "AR"), parse("mena", "politics", "ar")},
		{"repeats and spaces", parse("mena, mena ,europe", "", ""), parse("europe,mena", "", "")},
		{"empty", parse("", "", ""), news.Filter{}},
	}
	for _, tt := range equal {
		if ka, kb := tt.a.Key(), tt.b.Key(); ka != kb {
			t.Errorf("%s: keys differ: %q and %q", tt.name, ka, kb)
		}
	}
	if got, want := parse("mena,europe", "sports", "ar,en").Key(), "europe,mena|sports|ar,en"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	// Different filters have different keys, even when the same slug moves
	// from one dimension to another or a value is dropped.
	distinct := []news.Filter{
		parse("", "", ""),
		parse("mena", "", ""),
		parse("europe", "", ""),
		parse("europe,mena", "", ""),
		parse("", "politics", ""),
		parse("", "", "en"),
		parse("mena", "politics", ""),
		parse("mena", "", "en"),
		parse("", "politics", "en"),
		parse("mena", "politics", "en"),
	}
	seen := map[string]int{}
	for i, f := range distinct {
		k := f.Key()
		if j, dup := seen[k]; dup {
			t.Errorf("filters %+v and %+v share key %q", distinct[j], f, k)
		}
		seen[k] = i
	}
}

func TestFilterDelivery(t *testing.T) {
	f := news.Filter{Regions: []string{"mena"}}
	in := &news.Item{Regions: []string{"mena"}}
	out := &news.Item{Regions: []string{"europe"}}
	cases := []struct {
		name      string
		typ       string
		it, prev  *news.Item
		wantKind  string
		wantReach bool
	}{
		{"new item that matches", news.EventItem, in, nil, news.EventItem, true},
		{"new item elsewhere", news.EventItem, out, nil, news.EventItem, false},
		{"correction that still matches", news.EventUpdate, in, in, news.EventUpdate, true},
		{"correction that moves in", news.EventUpdate, in, out, news.EventUpdate, true},
		{"correction that moves out", news.EventUpdate, out, in, news.EventRetract, true},
		{"correction elsewhere", news.EventUpdate, out, out, news.EventRetract, false},
		{"correction of an unknown earlier version", news.EventUpdate, out, nil, news.EventRetract, false},
		{"retraction that matches", news.EventRetract, in, in, news.EventRetract, true},
		{"retraction of one that had moved out", news.EventRetract, out, in, news.EventRetract, true},
		{"retraction elsewhere", news.EventRetract, out, out, news.EventRetract, false},
		{"unknown event", "bogus", in, nil, "", false},
	}
	for _, tc := range cases {
		kind, ok := f.Delivery(tc.typ, tc.it, tc.prev)
		if ok != tc.wantReach || (ok && kind != tc.wantKind) {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, kind, ok, tc.wantKind, tc.wantReach)
		}
	}
}
