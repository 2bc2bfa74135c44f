package news

import (
	"sort"
	"strings"
)

// MaxFilterValues bounds each dimension of a reader's filter.
const MaxFilterValues = 64

// Filter is what a reader asked for. An empty dimension means "all"; an item
// matches when every non-empty dimension shares a value with it. Values are
// normalised, sorted and unique, so equal filters have equal Keys.
type Filter struct {
	Regions []string
	Topics  []string
	Langs   []string
	// Stories are story slugs (ValidStory): an item matches when its
	// Story is one of them. Empty: any story or none.
	Stories []string
}

// ParseFilter reads the comma-separated query values regions, topics and
// langs. An unknown slug is a ValidationError naming the parameter.
func (t *Taxonomy) ParseFilter(regions, topics, langs string) (Filter, error) {
	var f Filter
	var err error
	if f.Regions, err = parseList("regions", regions, t.Region, t.Regions); err != nil {
		return Filter{}, err
	}
	if f.Topics, err = parseList("topics", topics, t.Topic, t.Topics); err != nil {
		return Filter{}, err
	}
	if f.Langs, err = parseList("langs", langs, t.Lang, t.Languages); err != nil {
		return Filter{}, err
	}
	return f, nil
}

func parseList(field, q string, known func(string) (string, bool), terms []Term) ([]string, error) {
	if strings.TrimSpace(q) == "" {
		return nil, nil
	}
	parts := strings.Split(q, ",")
	if len(parts) > MaxFilterValues {
		return nil, invalid(field, "too_many_"+field, "at most %d %s are allowed", MaxFilterValues, field)
	}
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		slug, ok := known(p)
		if !ok {
			return nil, invalid(field, "unknown_"+singular(field), "unknown %s %q; allowed: %s", singular(field), p, allowed(terms))
		}
		if !contains(out, slug) {
			out = append(out, slug)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Match reports whether the item is one the reader asked for.
func (f Filter) Match(it *Item) bool {
	return anyOf(f.Regions, it.Regions) && anyOf(f.Topics, it.Topics) &&
		(len(f.Langs) == 0 || contains(f.Langs, it.Lang)) &&
		(len(f.Stories) == 0 || it.Story != "" && contains(f.Stories, it.Story))
}

func anyOf(want, have []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, h := range have {
		if contains(want, h) {
			return true
		}
	}
	return false
}

// Key is a canonical string for the filter: equal filters, equal keys.
func (f Filter) Key() string {
	k := strings.Join(f.Regions, ",") + "|" + strings.Join(f.Topics, ",") + "|" + strings.Join(f.Langs, ",")
	if len(f.Stories) > 0 { // a filter without stories keeps the key it had before stories
		k += "|" + strings.Join(f.Stories, ",")
	}
	return k
}

// IsZero reports whether the filter matches everything.
func (f Filter) IsZero() bool {
	return len(f.Regions) == 0 && len(f.Topics) == 0 && len(f.Langs) == 0 && len(f.Stories) == 0
}

// Delivery says what a reader with this filter gets for an event: the event
// itself when the new version matches, a retract when only the previous
// version did (the item moved out of the filter) or the item was retracted,
// or nothing (ok false). prev is the item before the event, nil if unknown.
func (f *Filter) Delivery(typ string, it, prev *Item) (kind string, ok bool) {
	matchNew := f.Match(it)
	matchOld := prev != nil && f.Match(prev)
	switch typ {
	case EventItem:
		return EventItem, matchNew
	case EventUpdate:
		if matchNew {
			return EventUpdate, true
		}
		return EventRetract, matchOld
	case EventRetract:
		return EventRetract, matchNew || matchOld
	}
	return "", false
}
