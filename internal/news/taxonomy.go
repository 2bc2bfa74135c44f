package news

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Term is one entry of a taxonomy dimension: a lower-case slug and the name
// shown to people. Dir is "rtl" for right-to-left languages, else empty.
type Term struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	Dir  string `json:"dir,omitempty"`
}

// Taxonomy lists the regions, topics and languages items may carry and
// readers may ask for. Build one with DefaultTaxonomy or ParseTaxonomy; a
// built Taxonomy is read-only.
type Taxonomy struct {
	Regions   []Term `json:"regions"`
	Topics    []Term `json:"topics"`
	Languages []Term `json:"languages"`

	regions, topics, langs map[string]int
}

// DefaultTaxonomy returns the built-in taxonomy.
func DefaultTaxonomy() *Taxonomy {
	t := &Taxonomy{
		Regions: []Term{
			{Slug: "africa", Name: "Africa"},
			{Slug: "asia", Name: "Asia"},
			{Slug: "asia-pacific", Name: "Asia-Pacific"},
			{Slug: "europe", Name: "Europe"},
			{Slug: "latin-america", Name: "Latin America"},
			{Slug: "mena", Name: "MENA"},
			{Slug: "palestine", Name: "Palestine"},
			{Slug: "us-canada", Name: "US & Canada"},
		},
		Topics: []Term{
			{Slug: "politics", Name: "Politics"},
			{Slug: "economy", Name: "Economy"},
			{Slug: "sports", Name: "Sports"},
			{Slug: "arts-culture", Name: "Arts & Culture"},
			{Slug: "health", Name: "Health"},
			{Slug: "miscellaneous", Name: "Miscellaneous"},
			{Slug: "technology", Name: "Technology"},
			{Slug: "environment", Name: "Environment"},
		},
		Languages: []Term{
			{Slug: "en", Name: "English"},
			{Slug: "ar", Name: "العربية", Dir: "rtl"},
			{Slug: "es", Name: "Español"},
		},
	}
	if err := t.init(); err != nil {
		panic(err) // the defaults are constant
	}
	return t
}

// ParseTaxonomy reads a taxonomy from JSON of the form
// {"regions":[{"slug","name"}],"topics":[...],"languages":[{"slug","name","dir"}]}.
// Slugs are lower-cased; every dimension needs at least one term.
func ParseTaxonomy(data []byte) (*Taxonomy, error) {
	var t Taxonomy
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("taxonomy: %w", err)
	}
	if err := t.init(); err != nil {
		return nil, err
	}
	return &t, nil
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// maxTerms bounds every dimension, so that filters and indexes stay small.
const maxTerms = 64

func (t *Taxonomy) init() error {
	var err error
	if t.regions, err = index("regions", t.Regions); err != nil {
		return err
	}
	if t.topics, err = index("topics", t.Topics); err != nil {
		return err
	}
	if t.langs, err = index("languages", t.Languages); err != nil {
		return err
	}
	for _, l := range t.Languages {
		if l.Dir != "" && l.Dir != "rtl" && l.Dir != "ltr" {
			return fmt.Errorf("taxonomy: languages: %q: dir must be \"rtl\", \"ltr\" or empty", l.Slug)
		}
	}
	return nil
}

func index(dim string, terms []Term) (map[string]int, error) {
	if len(terms) == 0 {
		return nil, fmt.Errorf("taxonomy: %s: at least one entry is required", dim)
	}
	if len(terms) > maxTerms {
		return nil, fmt.Errorf("taxonomy: %s: at most %d entries", dim, maxTerms)
	}
	m := make(map[string]int, len(terms))
	for i := range terms {
		terms[i].Slug = strings.ToLower(strings.TrimSpace(terms[i].Slug))
		s := terms[i].Slug
		if !slugRE.MatchString(s) {
			return nil, fmt.Errorf("taxonomy: %s: slug %q must be 1-32 characters of a-z, 0-9 and -", dim, s)
		}
		if strings.TrimSpace(terms[i].Name) == "" {
			terms[i].Name = s
		}
		if _, dup := m[s]; dup {
			return nil, fmt.Errorf("taxonomy: %s: slug %q appears twice", dim, s)
		}
		m[s] = i
	}
	return m, nil
}

// Region, Topic and Lang normalise a slug given by a user (any case, spaces
// around) and report whether it is known.
func (t *Taxonomy) Region(s string) (string, bool) { return lookup(t.regions, s) }

// Topic: see Region.
func (t *Taxonomy) Topic(s string) (string, bool) { return lookup(t.topics, s) }

// Lang: see Region.
func (t *Taxonomy) Lang(s string) (string, bool) { return lookup(t.langs, s) }

// Dir returns "rtl" for right-to-left languages and "ltr" otherwise.
func (t *Taxonomy) Dir(lang string) string {
	if i, ok := t.langs[lang]; ok && t.Languages[i].Dir == "rtl" {
		return "rtl"
	}
	return "ltr"
}

func lookup(m map[string]int, s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	_, ok := m[s]
	return s, ok
}

// allowed lists a dimension's slugs for error messages.
func allowed(terms []Term) string {
	s := make([]string, len(terms))
	for i, t := range terms {
		s[i] = t.Slug
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
