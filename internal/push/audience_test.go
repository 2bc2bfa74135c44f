package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

func filterOf(regions, topics, langs []string) FilterJSON {
	return FilterJSON{Regions: regions, Topics: topics, Langs: langs}
}

func testSub(id string, f FilterJSON) *Subscription {
	return &Subscription{ID: id, Endpoint: "https://push.example/" + id, Filter: f}
}

// delivered counts, the way delivery matches (the decider on the alert
// event over every subscription of every partition), the subscriptions an
// alert of the item targets, less those whose min_priority holds it back.
func delivered(ix *index, it news.Item) int { return deliveredWith(ix, it, nil) }

func deliveredWith(ix *index, it news.Item, stories news.Stories) int {
	e := &history.Entry{Event: news.Event{Type: news.EventItem, Alert: true, Item: it}}
	n := 0
	for p := range ix.parts {
		for _, t := range ix.match(p, testDecider(e, stories)) {
			if t.skip != SkipPriority {
				n++
			}
		}
	}
	return n
}

// testDecider is a decider of a service with an empty history and the
// stories given (nil: none).
func testDecider(e *history.Entry, stories news.Stories) *decider {
	s := &Service{cfg: config{Deps: Deps{Log: history.New(history.Options{}), Stories: stories}}}
	return s.newDecider(e)
}

// TestAudienceIsExact: after puts, replacements (a changed filter) and
// removals, the count per item equals what delivery would match, and the
// expected figure.
func TestAudienceIsExact(t *testing.T) {
	ix := newIndex(4)
	mena := news.Item{Status: news.StatusLive, Lang: "en", Regions: []string{"mena"}, Topics: []string{"politics"}}
	arabicSports := news.Item{Status: news.StatusLive, Lang: "ar", Regions: []string{"europe", "africa"}, Topics: []string{"sports"}}
	spanish := news.Item{Status: news.StatusLive, Lang: "es", Regions: []string{"latin-america"}}
	retracted := mena
	retracted.Status = news.StatusRetracted

	ix.put(testSub("all", filterOf(nil, nil, nil)))
	ix.put(testSub("mena", filterOf([]string{"mena"}, nil, nil)))
	ix.put(testSub("mena2", filterOf([]string{"mena"}, nil, nil)))
	ix.put(testSub("mena-en-politics", filterOf([]string{"mena"}, []string{"politics"}, []string{"en"})))
	ix.put(testSub("arabic", filterOf(nil, nil, []string{"ar"})))
	ix.put(testSub("sports", filterOf(nil, []string{"sports"}, nil)))
	ix.put(testSub("africa-europe", filterOf([]string{"africa", "europe"}, nil, nil)))
	ix.put(testSub("es-or-en", filterOf(nil, nil, []string{"en", "es"})))

	steps := []struct {
		name   string
		change func()
		want   map[string]int // item → audience
	}{
		{"after puts", func() {}, map[string]int{"mena": 5, "arabicSports": 4, "spanish": 2, "retracted": 0}},
		{"put again, same filter", func() { ix.put(testSub("mena2", filterOf([]string{"mena"}, nil, nil))) },
			map[string]int{"mena": 5, "arabicSports": 4, "spanish": 2, "retracted": 0}},
		{"put again, other filter", func() { ix.put(testSub("mena2", filterOf(nil, nil, []string{"es"}))) },
			map[string]int{"mena": 4, "arabicSports": 4, "spanish": 3, "retracted": 0}},
		{"replace changes filter", func() { ix.replace(testSub("sports", filterOf([]string{"mena"}, nil, nil))) },
			map[string]int{"mena": 5, "arabicSports": 3, "spanish": 3, "retracted": 0}},
		{"replace of an unknown id adds nothing", func() { ix.replace(testSub("ghost", filterOf(nil, nil, nil))) },
			map[string]int{"mena": 5, "arabicSports": 3, "spanish": 3, "retracted": 0}},
		{"remove", func() { ix.remove("all"); ix.remove("mena") },
			map[string]int{"mena": 3, "arabicSports": 2, "spanish": 2, "retracted": 0}},
		{"remove twice and unknown", func() { ix.remove("all"); ix.remove("nobody") },
			map[string]int{"mena": 3, "arabicSports": 2, "spanish": 2, "retracted": 0}},
		{"remove the rest", func() {
			for _, id := range []string{"mena2", "mena-en-politics", "arabic", "sports", "africa-europe", "es-or-en"} {
				ix.remove(id)
			}
		}, map[string]int{"mena": 0, "arabicSports": 0, "spanish": 0, "retracted": 0}},
	}
	items := map[string]news.Item{"mena": mena, "arabicSports": arabicSports, "spanish": spanish, "retracted": retracted}
	for _, st := range steps {
		st.change()
		for name, it := range items {
			got := ix.audience(&it, platformWeb, nil)
			if got != st.want[name] {
				t.Errorf("%s: audience of %s = %d, want %d", st.name, name, got, st.want[name])
			}
			if d := delivered(ix, it); got != d {
				t.Errorf("%s: audience of %s = %d, delivery matches %d", st.name, name, got, d)
			}
		}
	}
	if len(ix.filters) != 0 {
		t.Errorf("no subscriptions left, %d filter counts kept", len(ix.filters))
	}
}

// TestAudienceMatchesDeliveryRandomly compares the count with delivery's
// matching over many random filters, items and changes.
func TestAudienceMatchesDeliveryRandomly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ix := newIndex(8)
	for i := range 3000 {
		ix.put(testSub(fmt.Sprint(i), randomFilter(rng)))
	}
	for i := range 1000 { // change or drop a third of them
		id := fmt.Sprint(rng.IntN(3000))
		switch i % 3 {
		case 0:
			ix.replace(testSub(id, randomFilter(rng)))
		case 1:
			ix.put(testSub(id, randomFilter(rng)))
		default:
			ix.remove(id)
		}
	}
	for range 200 {
		it := randomItem(rng)
		if got, want := ix.audience(&it, platformWeb, nil), delivered(ix, it); got != want {
			t.Fatalf("audience of %+v = %d, delivery matches %d", it, got, want)
		}
	}
}

// TestSendTest: a test notification reaches one subscription, decrypted,
// with the item payload marked test and its own Topic; an unknown id is
// ErrUnknownSubscription; a refusal is a NotDeliveredError with the status.
// Nothing is recorded against the subscription.
func TestSendTest(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	ps, sub := env.subscribe(t)
	other, _ := env.subscribe(t)
	it := news.Item{ID: news.NewID(), Version: 1, Status: news.StatusLive, Text: "Test me", Lang: "en", Regions: []string{"mena"}, Priority: news.PriorityFlash}
	ctx := context.Background()
	if err := env.s.SendTest(ctx, PlatformWeb, sub.ID, it); err != nil {
		t.Fatal(err)
	}
	msgs := env.sink.Messages(ps.ID())
	if len(msgs) != 1 || msgs[0].Err != nil {
		t.Fatalf("sink got %+v", msgs)
	}
	var p struct {
		Type string `json:"type"`
		Test bool   `json:"test"`
		Item struct {
			ID, Text, Priority string
		} `json:"item"`
	}
	if err := json.Unmarshal(msgs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "item" || !p.Test || p.Item.ID != it.ID || p.Item.Text != "Test me" || p.Item.Priority != "flash" {
		t.Errorf("payload %s", msgs[0].Payload)
	}
	if msgs[0].Topic != "test-"+it.ID || msgs[0].Urgency != "high" || msgs[0].TTL != "300" {
		t.Errorf("topic %q urgency %q ttl %q", msgs[0].Topic, msgs[0].Urgency, msgs[0].TTL)
	}
	if n := len(env.sink.Messages(other.ID())); n != 0 {
		t.Errorf("another subscription got %d messages", n)
	}

	if err := env.s.SendTest(ctx, PlatformWeb, "0123456789abcdef0123456789abcdef", it); !errors.Is(err, ErrUnknownSubscription) {
		t.Errorf("unknown id: %v", err)
	}
	env.sink.Gone(ps.ID())
	err := env.s.SendTest(ctx, PlatformWeb, sub.ID, it)
	var nd *NotDeliveredError
	if !errors.As(err, &nd) || nd.Status != 410 {
		t.Fatalf("gone: %v", err)
	}
	if got, ok := env.s.index.get(sub.ID); !ok || got.Failures != 0 {
		t.Errorf("the failed test changed the subscription: %+v %v", got, ok)
	}
}

var (
	regionSlugs = []string{"africa", "asia", "asia-pacific", "europe", "latin-america", "mena", "palestine", "us-canada"}
	topicSlugs  = []string{"politics", "economy", "sports", "arts-culture", "health", "miscellaneous", "technology", "environment"}
	langSlugs   = []string{"en", "ar", "es"}
)

// pick returns up to max distinct values of all, sorted as a parsed filter
// is, fewer more often than many.
func pick(rng *rand.Rand, all []string, max int) []string {
	n := rng.IntN(max+1) * rng.IntN(max+1) / max // skewed towards none or few
	var out []string
	for _, i := range rng.Perm(len(all))[:n] {
		out = append(out, all[i])
	}
	slices.Sort(out)
	return out
}

// randomFilter is a filter as readers choose them: mostly a region or two,
// sometimes topics, now and then a language.
func randomFilter(rng *rand.Rand) FilterJSON {
	return filterOf(pick(rng, regionSlugs, 3), pick(rng, topicSlugs, 3), pick(rng, langSlugs, 2))
}

func randomItem(rng *rand.Rand) news.Item {
	regions := pick(rng, regionSlugs, 2)
	if len(regions) == 0 {
		regions = []string{regionSlugs[rng.IntN(len(regionSlugs))]}
	}
	return news.Item{Status: news.StatusLive, Lang: langSlugs[rng.IntN(len(langSlugs))], Regions: regions, Topics: pick(rng, topicSlugs, 2)}
}

// BenchmarkAudience1M counts the audience of an alert over 1,000,000
// subscriptions with varied filters (the dry run's audience.web).
func BenchmarkAudience1M(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	ix := newIndex(DefaultPartitions)
	for i := range 1_000_000 {
		ix.put(testSub(fmt.Sprintf("%032x", i), randomFilter(rng)))
	}
	items := make([]news.Item, 64)
	for i := range items {
		items[i] = randomItem(rng)
	}
	i, total := 0, 0
	for b.Loop() {
		total += ix.audience(&items[i%len(items)], platformWeb, nil)
		i++
	}
	if total == 0 {
		b.Fatal("no audience at all")
	}
	b.ReportMetric(float64(len(ix.filters)), "filters")
}

// TestAudienceWithPrefs: followed open stories add to the audience,
// closed ones do not, and min_priority takes away; quiet hours and caps
// are not counted (they depend on the moment). Counted as delivery
// matches, over distinct (filter, stories, min_priority).
func TestAudienceWithPrefs(t *testing.T) {
	stories := storyStates{"gaza": true, "ended": false}
	ix := newIndex(4)
	put := func(id string, f FilterJSON, p Prefs) {
		sub := testSub(id, f)
		sub.Prefs = p
		ix.put(sub)
	}
	europe := filterOf([]string{"europe"}, nil, nil)
	put("all", filterOf(nil, nil, nil), Prefs{})
	put("flash-only", filterOf(nil, nil, nil), Prefs{MinPriority: news.PriorityFlash})
	put("urgent-up", filterOf(nil, nil, nil), Prefs{MinPriority: news.PriorityUrgent, QuietHours: &QuietHours{From: "00:00", To: "23:59", TZ: "UTC"}, MaxPerHour: 1})
	put("europe", europe, Prefs{})
	put("europe+gaza", europe, Prefs{Stories: []string{"gaza"}})
	put("europe+gaza2", europe, Prefs{Stories: []string{"gaza"}})
	put("europe+ended", europe, Prefs{Stories: []string{"ended"}})
	put("europe+gaza urgent", europe, Prefs{Stories: []string{"gaza"}, MinPriority: news.PriorityUrgent})
	item := func(priority, story string) news.Item {
		return news.Item{Status: news.StatusLive, Lang: "en", Regions: []string{"mena"}, Priority: priority, Story: story}
	}
	for _, tc := range []struct {
		it   news.Item
		want int
	}{
		{item(news.PriorityBreaking, ""), 1},
		{item(news.PriorityUrgent, ""), 2},
		{item(news.PriorityFlash, ""), 3},
		{item(news.PriorityBreaking, "gaza"), 3},
		{item(news.PriorityUrgent, "gaza"), 5},
		{item(news.PriorityBreaking, "ended"), 1},
	} {
		if got, d := ix.audience(&tc.it, platformWeb, stories), deliveredWith(ix, tc.it, stories); got != tc.want || d != tc.want {
			t.Errorf("%s in %q: audience %d, delivery %d, want %d", tc.it.Priority, tc.it.Story, got, d, tc.want)
		}
	}
	if n := len(ix.filters); n != 7 {
		t.Errorf("%d distinct counts, want 7 (the two europe+gaza share one; quiet hours and caps are not in the key)", n)
	}
}
