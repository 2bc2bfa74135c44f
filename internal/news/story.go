package news

import (
	"errors"
	"sort"
	"strings"
)

// MaxStorySlug is the longest story slug.
const MaxStorySlug = 64

// ValidStory reports whether s is a story slug: 1 to MaxStorySlug
// characters of lower-case ASCII letters, digits and single hyphens
// between them ("war-on-gaza").
func ValidStory(s string) bool {
	if len(s) == 0 || len(s) > MaxStorySlug || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// Stories tells which stories exist and which of them are open; the story
// store (internal/story) implements it for the packages that check an
// item's story or a reader's (editor, push, live). Safe for concurrent use.
type Stories interface {
	// Open reports whether slug names an open story: items may be posted
	// into it and readers may follow it for alerts.
	Open(slug string) bool
	// Known reports whether slug names a story, open or closed: readers
	// may filter by it.
	Known(slug string) bool
}

// Limits on stories.
const (
	// MaxStoryTitleChars bounds each language's title of a story.
	MaxStoryTitleChars = 120
)

// ParseStories reads the comma-separated query value stories (a reader's
// stories= on WebSocket, SSE and GET /api/v1/items): slugs, sorted and
// unique. A value that is no slug is invalid_story, more than
// MaxFilterValues too_many_stories, both naming the field stories. Whether
// the slugs name stories is the caller's to check (KnownStories).
func ParseStories(q string) ([]string, error) {
	if strings.TrimSpace(q) == "" {
		return nil, nil
	}
	parts := strings.Split(q, ",")
	if len(parts) > MaxFilterValues {
		return nil, invalid("stories", "too_many_stories", "at most %d stories are allowed", MaxFilterValues)
	}
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !ValidStory(p) {
			return nil, invalid("stories", "invalid_story", "%q is not a story slug (1-%d of a-z, 0-9 and single inner hyphens)", p, MaxStorySlug)
		}
		if !contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// KnownStories checks that every slug names a story, open or closed
// (unknown_story naming field otherwise). A nil s knows no story.
func KnownStories(s Stories, field string, slugs []string) error {
	for _, slug := range slugs {
		if s == nil || !s.Known(slug) {
			return invalid(field, "unknown_story", "no story %q", slug)
		}
	}
	return nil
}

// OpenStory checks that slug names an open story: unknown_story when no
// story has it, story_closed when the story is closed, both naming field.
// A nil s knows no story.
func OpenStory(s Stories, field, slug string) error {
	switch {
	case s == nil || !s.Known(slug):
		return invalid(field, "unknown_story", "no story %q", slug)
	case !s.Open(slug):
		return invalid(field, "story_closed", "story %q is closed; no item may be posted into it", slug)
	}
	return nil
}

// cleanStory checks an item's story slug ("" is none).
func cleanStory(s string) (string, error) {
	if s != "" && !ValidStory(s) {
		return "", invalid("story", "invalid_story", "story must be a story slug (1-%d of a-z, 0-9 and single inner hyphens)", MaxStorySlug)
	}
	return s, nil
}

// StoryTitle validates a story's title: a map of taxonomy language to
// plain text of 1 to MaxStoryTitleChars characters, cleaned as item text
// is, with at least one language. Errors name the field title, or
// title.<lang> for one language's text.
func (t *Taxonomy) StoryTitle(in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, invalid("title", "missing_title", "title needs at least one language; allowed: %s", allowed(t.Languages))
	}
	out := make(map[string]string, len(in))
	for lang, text := range in {
		slug, ok := t.Lang(lang)
		if !ok {
			return nil, invalid("title", "unknown_lang", "unknown language %q in title; allowed: %s", lang, allowed(t.Languages))
		}
		if _, dup := out[slug]; dup {
			return nil, invalid("title", "unknown_lang", "language %q appears twice in title", slug)
		}
		clean, err := cleanText("title", text, MaxStoryTitleChars, true)
		if err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Field = "title." + slug
			}
			return nil, err
		}
		out[slug] = clean
	}
	return out, nil
}

// StoryRegions validates a story's regions: taxonomy slugs, possibly none,
// at most MaxRegions, repeats dropped.
func (t *Taxonomy) StoryRegions(in []string) ([]string, error) {
	return t.slugs("regions", in, 0, MaxRegions, t.Region, t.Regions)
}

// StoryTopics validates a story's topics as StoryRegions does regions.
func (t *Taxonomy) StoryTopics(in []string) ([]string, error) {
	return t.slugs("topics", in, 0, MaxTopics, t.Topic, t.Topics)
}
