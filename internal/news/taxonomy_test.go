package news_test

import (
	"slices"
	"strings"
	"testing"

	"newsflash/internal/news"
)

func slugsOf(terms []news.Term) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = t.Slug
	}
	return out
}

func TestDefaultTaxonomySlugs(t *testing.T) {
	tx := news.DefaultTaxonomy()
	tests := []struct {
		dim   string
		terms []news.Term
		want  []string
	}{
		{"regions", tx.Regions, []string{"africa", "asia", "asia-pacific", "europe", "latin-america", "mena", "palestine", "us-canada"}},
		{"topics", tx.Topics, []string{"politics", "economy", "sports", "arts-culture", "health", "miscellaneous", "technology", "environment"}},
		{"languages", tx.Languages, []string{"en", "ar", "es"}},
	}
	for _, tt := range tests {
		t.Run(tt.dim, func(t *testing.T) {
			if got := slugsOf(tt.terms); !slices.Equal(got, tt.want) {
				t.Errorf("%s = %q, want %q", tt.dim, got, tt.want)
			}
			for _, term := range tt.terms {
				if strings.TrimSpace(term.Name) == "" {
					t.Errorf("%s %q has no name", tt.dim, term.Slug)
				}
			}
		})
	}
}

func TestDefaultTaxonomyDir(t *testing.T) {
	tx := news.DefaultTaxonomy()
	tests := []struct {
		lang, want string
	}{
		{"ar", "rtl"},
		{"en", "ltr"},
		{"es", "ltr"},
		{"xx", "ltr"}, // unknown languages are left to right
		{"", "ltr"},
	}
	for _, tt := range tests {
		if got := tx.Dir(tt.lang); got != tt.want {
			t.Errorf("Dir(%q) = %q, want %q", tt.lang, got, tt.want)
		}
	}
	for _, l := range tx.Languages {
		wantDir := ""
		if l.Slug == "ar" {
			wantDir = "rtl"
		}
		if l.Dir != wantDir {
			t.Errorf("language %q has Dir %q, want %q", l.Slug, l.Dir, wantDir)
		}
	}
}

// DefaultTaxonomy returns a fresh value each time: changing one must not
// change the next.
func TestDefaultTaxonomyIsFresh(t *testing.T) {
	a := news.DefaultTaxonomy()
	a.Regions[0].Slug = "changed"
	b := news.DefaultTaxonomy()
	if b.Regions[0].Slug != "africa" {
		t.Fatalf("second DefaultTaxonomy sees the first one's change: %q", b.Regions[0].Slug)
	}
}

func TestTaxonomyLookup(t *testing.T) {
	tx := news.DefaultTaxonomy()
	type lookupFn func(string) (string, bool)
	tests := []struct {
		name   string
		fn     lookupFn
		in     string
		want   string
		wantOK bool
	}{
		{"region exact", tx.Region, "mena", "mena", true},
		{"region upper case", tx.Region, "MENA", "mena", true},
		{"region mixed case and spaces", tx.Region, "  Latin-America ", "latin-america", true},
		{"region unknown", tx.Region, "atlantis", "atlantis", false},
		{"region empty", tx.Region, "", "", false},
		{"region is not a topic", tx.Region, "politics", "politics", false},
		{"topic upper case", tx.Topic, "ECONOMY", "economy", true},
		{"topic with dash", tx.Topic, "Arts-Culture", "arts-culture", true},
		{"topic unknown", tx.Topic, "weather", "weather", false},
		{"topic is not a region", tx.Topic, "europe", "europe", false},
		{"lang upper case", tx.Lang, "AR", "ar", true},
		{"lang spaces", tx.Lang, " es\t", "es", true},
		{"lang unknown", tx.Lang, "fr", "fr", false},
		{"lang region code is not a lang", tx.Lang, "en-GB", "en-gb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.fn(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("lookup(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseTaxonomy(t *testing.T) {
	data := `{
		"regions": [{"slug": "North", "name": "The North"}, {"slug": " south-2 "}],
		"topics": [{"slug": "weather", "name": "Weather"}],
		"languages": [{"slug": "he", "name": "עברית", "dir": "rtl"}, {"slug": "fr", "name": "Français", "dir": "ltr"}, {"slug": "de", "name": "Deutsch"}]
	}`
	tx, err := news.ParseTaxonomy([]byte(data))
	if err != nil {
		t.Fatalf("ParseTaxonomy: %v", err)
	}
	if got, want := slugsOf(tx.Regions), []string{"north", "south-2"}; !slices.Equal(got, want) {
		t.Errorf("regions = %q, want %q (lower-cased and trimmed)", got, want)
	}
	if got := tx.Regions[1].Name; got != "south-2" {
		t.Errorf("a term without a name is named %q, want its slug", got)
	}
	if got := tx.Regions[0].Name; got != "The North" {
		t.Errorf("region name = %q, want %q", got, "The North")
	}
	if got, want := slugsOf(tx.Topics), []string{"weather"}; !slices.Equal(got, want) {
		t.Errorf("topics = %q, want %q", got, want)
	}
	if got, want := slugsOf(tx.Languages), []string{"he", "fr", "de"}; !slices.Equal(got, want) {
		t.Errorf("languages = %q, want %q", got, want)
	}
	for lang, want := range map[string]string{"he": "rtl", "fr": "ltr", "de": "ltr"} {
		if got := tx.Dir(lang); got != want {
			t.Errorf("Dir(%q) = %q, want %q", lang, got, want)
		}
	}
	if got, ok := tx.Region("NORTH"); !ok || got != "north" {
		t.Errorf("Region(NORTH) = %q, %v; want north, true", got, ok)
	}
	if _, ok := tx.Region("mena"); ok {
		t.Error("a parsed taxonomy still knows the default region mena")
	}
	if got, ok := tx.Lang("HE"); !ok || got != "he" {
		t.Errorf("Lang(HE) = %q, %v; want he, true", got, ok)
	}
}

func TestParseTaxonomyErrors(t *testing.T) {
	const (
		regions = `"regions":[{"slug":"north"}]`
		topics  = `"topics":[{"slug":"weather"}]`
		langs   = `"languages":[{"slug":"en"}]`
	)
	many := make([]string, 65)
	for i := range many {
		many[i] = `{"slug":"r` + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `"}`
	}
	tests := []struct {
		name    string
		data    string
		wantSub string // a part of the error message
	}{
		{"not JSON", `regions: [north]`, "taxonomy"},
		{"empty input", ``, "taxonomy"},
		{"unknown top-level field", `{` + regions + `,` + topics + `,` + langs + `,"colours":[]}`, `unknown field "colours"`},
		{"unknown term field", `{"regions":[{"slug":"north","flag":"x"}],` + topics + `,` + langs + `}`, `unknown field "flag"`},
		{"missing regions", `{` + topics + `,` + langs + `}`, "regions: at least one entry"},
		{"empty regions", `{"regions":[],` + topics + `,` + langs + `}`, "regions: at least one entry"},
		{"empty topics", `{` + regions + `,"topics":[],` + langs + `}`, "topics: at least one entry"},
		{"empty languages", `{` + regions + `,` + topics + `,"languages":[]}`, "languages: at least one entry"},
		{"null", `null`, "regions: at least one entry"},
		{"duplicate slug", `{"regions":[{"slug":"north"},{"slug":"north"}],` + topics + `,` + langs + `}`, `slug "north" appears twice`},
		{"duplicate slug after case folding", `{` + regions + `,"topics":[{"slug":"Weather"},{"slug":"WEATHER"}],` + langs + `}`, `topics: slug "weather" appears twice`},
		{"duplicate language", `{` + regions + `,` + topics + `,"languages":[{"slug":"en"},{"slug":" en"}]}`, `languages: slug "en" appears twice`},
		{"empty slug", `{"regions":[{"slug":""}],` + topics + `,` + langs + `}`, `slug ""`},
		{"slug with space", `{"regions":[{"slug":"north east"}],` + topics + `,` + langs + `}`, `slug "north east"`},
		{"slug with underscore", `{` + regions + `,"topics":[{"slug":"arts_culture"}],` + langs + `}`, `slug "arts_culture"`},
		{"slug starting with dash", `{"regions":[{"slug":"-north"}],` + topics + `,` + langs + `}`, `slug "-north"`},
		{"slug too long", `{"regions":[{"slug":"` + strings.Repeat("a", 33) + `"}],` + topics + `,` + langs + `}`, "1-32 characters"},
		{"slug not ASCII", `{` + regions + `,` + topics + `,"languages":[{"slug":"español"}]}`, `slug "español"`},
		{"bad dir", `{` + regions + `,` + topics + `,"languages":[{"slug":"en","dir":"up"}]}`, `dir must be`},
		{"dir in upper case", `{` + regions + `,` + topics + `,"languages":[{"slug":"ar","dir":"RTL"}]}`, `dir must be`},
		{"too many regions", `{"regions":[` + strings.Join(many, ",") + `],` + topics + `,` + langs + `}`, "at most 64"},
		{"wrong type", `{"regions":"north",` + topics + `,` + langs + `}`, "taxonomy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := news.ParseTaxonomy([]byte(tt.data))
			if err == nil {
				t.Fatalf("ParseTaxonomy succeeded with regions %q, want an error", slugsOf(tx.Regions))
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not contain %q", err, tt.wantSub)
			}
			if tx != nil {
				t.Errorf("ParseTaxonomy returned a taxonomy with its error")
			}
		})
	}
}

// The slug limits are inclusive: 32 characters and 64 terms are fine.
func TestParseTaxonomyLimits(t *testing.T) {
	terms := make([]string, 64)
	for i := range terms {
		terms[i] = `{"slug":"r-` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `"}`
	}
	long := strings.Repeat("b", 32)
	data := `{"regions":[` + strings.Join(terms, ",") + `],"topics":[{"slug":"` + long + `"}],"languages":[{"slug":"0"}]}`
	tx, err := news.ParseTaxonomy([]byte(data))
	if err != nil {
		t.Fatalf("ParseTaxonomy at the limits: %v", err)
	}
	if len(tx.Regions) != 64 {
		t.Errorf("%d regions, want 64", len(tx.Regions))
	}
	if got, ok := tx.Topic(strings.ToUpper(long)); !ok || got != long {
		t.Errorf("Topic(32 characters) = %q, %v", got, ok)
	}
}
