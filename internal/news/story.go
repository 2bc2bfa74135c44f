package news

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
