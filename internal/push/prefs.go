package push

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // quiet hours name IANA zones: the binary carries them, for machines without /usr/share/zoneinfo

	"newsflash/internal/news"
)

// Bounds of Prefs.
const (
	MaxPerHourLimit = 60 // Prefs.MaxPerHour is 0 (no cap) to this
	MaxPrefsStories = 20 // Prefs.Stories holds at most this many slugs
)

// Prefs are a reader's choices about alerts, posted with a subscription or
// a device (docs/push.md). The zero value is the default: every priority,
// no quiet hours, no cap, no story followed.
type Prefs struct {
	// MinPriority is the weakest priority alerted: "breaking" (all),
	// "urgent" or "flash"; empty for all.
	MinPriority string      `json:"min_priority,omitempty"`
	QuietHours  *QuietHours `json:"quiet_hours,omitempty"`
	// MaxPerHour caps the alerts (flash apart) of any hour; 0: no cap.
	MaxPerHour int `json:"max_per_hour,omitempty"`
	// Stories are followed story slugs: an alert of an open one reaches the
	// subscription whatever its filter says.
	Stories []string `json:"stories,omitempty"`
}

// QuietHours is a daily window, From (inclusive) to To (exclusive), in the
// reader's zone, when only flash alerts are sent; it may cross midnight.
type QuietHours struct {
	From string `json:"from"`
	To   string `json:"to"`
	TZ   string `json:"tz"`
}

// rule is Prefs parsed, derived once when a subscription enters the index.
type rule struct {
	minRank  int // the least priority rank alerted (rank); 0: all
	quiet    bool
	from, to int // quiet minutes of the day, From ≤ m < To (or across midnight)
	zone     *time.Location
	max      int
	stories  []string // sorted
	// key identifies what decides eligibility (filter, stories, priority,
	// quiet hours): subscriptions with one key are eligible for the same
	// alerts, so a job counts their recent alerts once.
	key string
}

// internKey is everything of the rule: its key (what decides
// eligibility) and its cap. Indexed subscriptions with one internKey share
// one rule.
func (r *rule) internKey() string { return r.key + "|max" + strconv.Itoa(r.max) }

// rank orders priorities: flash > urgent > breaking; 0 for anything else.
func rank(priority string) int {
	switch priority {
	case news.PriorityFlash:
		return 3
	case news.PriorityUrgent:
		return 2
	case news.PriorityBreaking:
		return 1
	}
	return 0
}

// parseClock reads "HH:MM" (00:00 to 23:59) as minutes of the day.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[3] == '+' || s[0] == '-' || s[3] == '-' || h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// checkPrefs validates posted prefs and returns them as stored (stories
// sorted, without repeats). Errors name the field as prefs.<field>.
func checkPrefs(p Prefs, stories news.Stories) (Prefs, error) {
	if p.MinPriority != "" && rank(p.MinPriority) == 0 {
		return Prefs{}, invalidField("prefs.min_priority", "invalid_priority", `min_priority must be "flash", "urgent" or "breaking"`)
	}
	if q := p.QuietHours; q != nil {
		from, ok := parseClock(q.From)
		if !ok {
			return Prefs{}, invalidField("prefs.quiet_hours.from", "invalid_time", "quiet_hours.from must be HH:MM, 00:00 to 23:59")
		}
		to, ok := parseClock(q.To)
		if !ok {
			return Prefs{}, invalidField("prefs.quiet_hours.to", "invalid_time", "quiet_hours.to must be HH:MM, 00:00 to 23:59")
		}
		if from == to {
			return Prefs{}, invalidField("prefs.quiet_hours.to", "invalid_time", "quiet_hours.to must differ from from (the window would be empty)")
		}
		if _, err := loadZone(q.TZ); err != nil {
			return Prefs{}, invalidField("prefs.quiet_hours.tz", "unknown_zone", "quiet_hours.tz must be an IANA time zone such as Asia/Beirut")
		}
	}
	if p.MaxPerHour < 0 || p.MaxPerHour > MaxPerHourLimit {
		return Prefs{}, invalidField("prefs.max_per_hour", "invalid_max_per_hour", "max_per_hour must be 0 (no cap) to %d", MaxPerHourLimit)
	}
	if len(p.Stories) > MaxPrefsStories {
		return Prefs{}, invalidField("prefs.stories", "too_many_stories", "at most %d stories may be followed", MaxPrefsStories)
	}
	for _, slug := range p.Stories {
		switch {
		case !news.ValidStory(slug):
			return Prefs{}, invalidField("prefs.stories", "invalid_story", "%q is not a story slug", slug)
		case stories == nil || !stories.Known(slug):
			return Prefs{}, invalidField("prefs.stories", "unknown_story", "no story %q", slug)
		case !stories.Open(slug):
			return Prefs{}, invalidField("prefs.stories", "story_closed", "story %q is closed", slug)
		}
	}
	if len(p.Stories) > 0 {
		p.Stories = slices.Compact(slices.Sorted(slices.Values(p.Stories)))
	} else {
		p.Stories = nil
	}
	return p, nil
}

// loadZone loads an IANA zone by name; "" and "Local" (this machine's zone,
// which differs between instances) are not zones a reader can name. Each
// zone is loaded once and shared: a Location holds all the zone's
// transitions (kilobytes), and a million subscriptions name a few hundred
// zones at most (only names the zone database knows are kept).
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errUnknownZone
	}
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location), nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	actual, _ := zones.LoadOrStore(name, z)
	return actual.(*time.Location), nil
}

// zones are the zones loaded so far, by name.
var zones sync.Map

var errUnknownZone = &news.ValidationError{Code: "unknown_zone", Message: "not a time zone"}

// rule parses stored prefs for the filter f. A stored record that no longer
// parses (a zone the binary no longer knows) has no quiet hours.
func (p *Prefs) rule(f *news.Filter) rule {
	r := rule{minRank: rank(p.MinPriority), max: p.MaxPerHour, stories: p.Stories}
	if q := p.QuietHours; q != nil {
		from, ok1 := parseClock(q.From)
		to, ok2 := parseClock(q.To)
		zone, err := loadZone(q.TZ)
		if ok1 && ok2 && err == nil && from != to {
			r.quiet, r.from, r.to, r.zone = true, from, to, zone
		}
	}
	var b strings.Builder
	b.WriteString(f.Key())
	b.WriteString("|")
	b.WriteString(strings.Join(r.stories, ","))
	b.WriteString("|")
	b.WriteString(strconv.Itoa(r.minRank))
	if r.quiet {
		b.WriteString("|" + strconv.Itoa(r.from) + "-" + strconv.Itoa(r.to) + "@" + r.zone.String())
	}
	r.key = b.String()
	return r
}

// quietAt reports whether t falls in the quiet hours, in the reader's zone
// at that moment (so daylight saving time counts).
func (r *rule) quietAt(t time.Time) bool {
	if !r.quiet {
		return false
	}
	lt := t.In(r.zone)
	m := lt.Hour()*60 + lt.Minute()
	if r.from < r.to {
		return r.from <= m && m < r.to
	}
	return m >= r.from || m < r.to // across midnight
}

// follows reports whether the reader follows the item's story (open or
// not: the decider asks for an open one where it must).
func (r *rule) follows(it *news.Item) bool {
	if it.Story == "" || len(r.stories) == 0 {
		return false
	}
	_, found := slices.BinarySearch(r.stories, it.Story)
	return found
}

// samePrefs reports whether a posted subscription decides like the stored
// one: same filter and prefs. When it does not, its PrefsAt moves (the cap
// counts from there, and corrections of earlier alerts are sent as their
// filter says).
func samePrefs(a, b *Subscription) bool {
	eq := func(x, y []string) bool { return slices.Equal(x, y) || len(x) == 0 && len(y) == 0 }
	fa, fb := a.Filter, b.Filter
	pa, pb := a.Prefs, b.Prefs
	qa, qb := pa.QuietHours, pb.QuietHours
	return eq(fa.Regions, fb.Regions) && eq(fa.Topics, fb.Topics) && eq(fa.Langs, fb.Langs) &&
		pa.MinPriority == pb.MinPriority && pa.MaxPerHour == pb.MaxPerHour && eq(pa.Stories, pb.Stories) &&
		(qa == nil) == (qb == nil) && (qa == nil || *qa == *qb)
}
