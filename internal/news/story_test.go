package news_test

import (
	"reflect"
	"strings"
	"testing"

	"newsflash/internal/news"
)

// stories is a news.Stories of fixed open and closed slugs.
type stories struct{ open, closed []string }

func (s stories) Open(slug string) bool { return has(s.open, slug) }
func (s stories) Known(slug string) bool {
	return has(s.open, slug) || has(s.closed, slug)
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestValidStory(t *testing.T) {
	for s, want := range map[string]bool{
		"gaza": true, "war-on-gaza": true, "a": true, "2024-election": true, strings.Repeat("a", 64): true,
		"": false, "-gaza": false, "gaza-": false, "war--on": false, "War": false, "war on": false, "ü": false,
		strings.Repeat("a", 65): false, "war_on": false,
	} {
		if got := news.ValidStory(s); got != want {
			t.Errorf("ValidStory(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseStories(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"b,a", []string{"a", "b"}},
		{"a, a ,,b", []string{"a", "b"}},
		{strings.TrimSuffix(strings.Repeat("x,", news.MaxFilterValues), ","), []string{"x"}},
	} {
		got, err := news.ParseStories(tt.q)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseStories(%q) = %v, %v; want %v", tt.q, got, err, tt.want)
		}
	}
}

func TestParseStoriesErrors(t *testing.T) {
	for _, tt := range []struct{ name, q, code string }{
		{"upper case", "Gaza", "invalid_story"},
		{"space inside", "war on", "invalid_story"},
		{"double hyphen", "a--b", "invalid_story"},
		{"too long", strings.Repeat("a", 65), "invalid_story"},
		{"too many", strings.Repeat("x,", news.MaxFilterValues), "too_many_stories"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := news.ParseStories(tt.q)
			wantValidation(t, err, tt.code, "stories")
			if got != nil {
				t.Errorf("slugs with the error: %v", got)
			}
		})
	}
}

func TestStoryChecks(t *testing.T) {
	s := stories{open: []string{"gaza"}, closed: []string{"old"}}
	if err := news.KnownStories(s, "stories", []string{"gaza", "old"}); err != nil {
		t.Errorf("known: %v", err)
	}
	wantValidation(t, news.KnownStories(s, "stories", []string{"gaza", "nope"}), "unknown_story", "stories")
	wantValidation(t, news.KnownStories(nil, "stories", []string{"gaza"}), "unknown_story", "stories")
	if err := news.OpenStory(s, "story", "gaza"); err != nil {
		t.Errorf("open: %v", err)
	}
	wantValidation(t, news.OpenStory(s, "story", "old"), "story_closed", "story")
	wantValidation(t, news.OpenStory(s, "story", "nope"), "unknown_story", "story")
	wantValidation(t, news.OpenStory(nil, "story", "gaza"), "unknown_story", "story")
}

func TestItemStory(t *testing.T) {
	tx := news.DefaultTaxonomy()
	d := validDraft()
	d.Story = "war-on-gaza"
	it, err := tx.NewItem(d)
	if err != nil || it.Story != "war-on-gaza" {
		t.Fatalf("NewItem with a story: %+v, %v", it, err)
	}
	d.Story = "War on Gaza"
	_, err = tx.NewItem(d)
	wantValidation(t, err, "invalid_story", "story")

	next, changed, err := tx.ApplyPatch(it, news.Patch{Story: ptr("")})
	if err != nil || !changed || next.Story != "" {
		t.Errorf("removing the story: %+v changed=%v %v", next, changed, err)
	}
	next, changed, err = tx.ApplyPatch(it, news.Patch{Story: ptr("war-on-gaza")})
	if err != nil || changed || next.Story != "war-on-gaza" {
		t.Errorf("the same story again: %+v changed=%v %v", next, changed, err)
	}
	next, changed, err = tx.ApplyPatch(it, news.Patch{Story: ptr("ceasefire")})
	if err != nil || !changed || next.Story != "ceasefire" {
		t.Errorf("another story: %+v changed=%v %v", next, changed, err)
	}
}

func TestStoryTitle(t *testing.T) {
	tx := news.DefaultTaxonomy()
	got, err := tx.StoryTitle(map[string]string{"EN": "  War  on\nGaza ", "ar": "الحرب على غزة"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"en": "War on Gaza", "ar": "الحرب على غزة"}) {
		t.Errorf("StoryTitle = %v, %v", got, err)
	}
	if _, err := tx.StoryTitle(map[string]string{"en": strings.Repeat("ع", news.MaxStoryTitleChars)}); err != nil {
		t.Errorf("a title of the longest length: %v", err)
	}
	for _, tt := range []struct {
		name        string
		in          map[string]string
		code, field string
	}{
		{"none", nil, "missing_title", "title"},
		{"empty map", map[string]string{}, "missing_title", "title"},
		{"unknown language", map[string]string{"xx": "Title"}, "unknown_lang", "title"},
		{"twice in two cases", map[string]string{"en": "a", "EN": "b"}, "unknown_lang", "title"},
		{"blank", map[string]string{"en": "  "}, "empty_title", "title.en"},
		{"too long", map[string]string{"ar": strings.Repeat("ع", news.MaxStoryTitleChars+1)}, "title_too_long", "title.ar"},
		{"control character", map[string]string{"en": "a\x00b"}, "invalid_title", "title.en"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tx.StoryTitle(tt.in)
			wantValidation(t, err, tt.code, tt.field)
			if got != nil {
				t.Errorf("title with the error: %v", got)
			}
		})
	}
}

func TestStoryTerms(t *testing.T) {
	tx := news.DefaultTaxonomy()
	if r, err := tx.StoryRegions(nil); err != nil || len(r) != 0 {
		t.Errorf("no regions: %v, %v", r, err)
	}
	if r, err := tx.StoryRegions([]string{"Palestine", "palestine", "mena"}); err != nil || !reflect.DeepEqual(r, []string{"palestine", "mena"}) {
		t.Errorf("regions: %v, %v", r, err)
	}
	_, err := tx.StoryRegions([]string{"atlantis"})
	wantValidation(t, err, "unknown_region", "regions")
	_, err = tx.StoryTopics([]string{"gossip"})
	wantValidation(t, err, "unknown_topic", "topics")
}
