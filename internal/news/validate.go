package news

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on editor input.
const (
	MaxTextChars   = 600
	MaxSourceChars = 120
	MaxURLBytes    = 2048
	MaxRegions     = 8
	MaxTopics      = 8
)

// ValidationError says which input was wrong and why. Code is a stable
// snake_case identifier, Message a sentence for people, Field the JSON field
// or query parameter at fault.
type ValidationError struct {
	Code    string
	Message string
	Field   string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, code, format string, args ...any) *ValidationError {
	return &ValidationError{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Draft is an editor's new item as posted.
type Draft struct {
	Text     string   `json:"text"`
	Lang     string   `json:"lang"`
	Regions  []string `json:"regions"`
	Topics   []string `json:"topics"`
	Source   string   `json:"source"`
	URL      string   `json:"url"`
	Priority string   `json:"priority"`
	// Alert also sends the item as a push notification; false (the
	// default) keeps it to the ticker.
	Alert bool `json:"alert"`
	// PublishAt schedules the item (RFC 3339; ParsePublishAt checks it).
	// Absent or null: published at once.
	PublishAt json.RawMessage `json:"publish_at"`
	// Confirm sends the alert although the flood guard would refuse it
	// (too soon after the previous alert, or the same text). It is not
	// stored on the item; the event records the override.
	Confirm bool `json:"confirm"`
	// Story is the slug of the open story the item belongs to; empty for
	// none. NewItem checks its form (invalid_story); whether it names an
	// open story is the caller's to check (OpenStory).
	Story string `json:"story"`
}

// Patch is an editor's correction: nil fields stay as they are; an empty
// source or url removes it.
type Patch struct {
	Text     *string   `json:"text"`
	Regions  *[]string `json:"regions"`
	Topics   *[]string `json:"topics"`
	Source   *string   `json:"source"`
	URL      *string   `json:"url"`
	Priority *string   `json:"priority"`
	// Alert true promotes a ticker-only item to an alert (sent once);
	// false changes nothing on a ticker-only item. Unsending an alert is
	// the caller's to refuse (ErrAlertSent from ApplyPatch).
	Alert *bool `json:"alert"`
	// PublishAt reschedules a scheduled item (ParsePublishAt); on any
	// other item it is the caller's to refuse.
	PublishAt json.RawMessage `json:"publish_at"`
	// Confirm overrides the flood guard for a promotion, as Draft.Confirm.
	// It changes nothing on its own.
	Confirm bool `json:"confirm"`
	// Story moves the item into a story (its form is checked here, that it
	// is open by the caller); "" takes it out of its story.
	Story *string `json:"story"`
}

// ErrAlertSent is ApplyPatch's answer to {"alert": false} on an item that
// has alerted: an alert cannot be unsent (retracting the item closes it).
var ErrAlertSent = errors.New("the item's alert was already sent; an alert cannot be unsent (retract the item to close it)")

// AlertKey is an alert's text as the flood guard compares it: case folded,
// runs of white space made one space, trimmed.
func AlertKey(text string) string {
	return strings.ToLower(strings.Join(strings.Fields(text), " "))
}

// NewItem validates a draft and returns the first version of the item with
// normalised values. Identity, editor and times are the caller's to fill in.
func (t *Taxonomy) NewItem(d Draft) (Item, error) {
	it := Item{Version: 1, Status: StatusLive}
	var err error
	if it.Text, err = cleanText("text", d.Text, MaxTextChars, true); err != nil {
		return Item{}, err
	}
	if strings.TrimSpace(d.Lang) == "" {
		return Item{}, invalid("lang", "missing_lang", "lang is required; allowed: %s", allowed(t.Languages))
	}
	lang, ok := t.Lang(d.Lang)
	if !ok {
		return Item{}, invalid("lang", "unknown_lang", "unknown language %q; allowed: %s", d.Lang, allowed(t.Languages))
	}
	it.Lang = lang
	if it.Regions, err = t.slugs("regions", d.Regions, 1, MaxRegions, t.Region, t.Regions); err != nil {
		return Item{}, err
	}
	if it.Topics, err = t.slugs("topics", d.Topics, 0, MaxTopics, t.Topic, t.Topics); err != nil {
		return Item{}, err
	}
	if it.Source, err = cleanText("source", d.Source, MaxSourceChars, false); err != nil {
		return Item{}, err
	}
	if it.URL, err = cleanURL(d.URL); err != nil {
		return Item{}, err
	}
	if it.Priority, err = cleanPriority(d.Priority); err != nil {
		return Item{}, err
	}
	if it.Story, err = cleanStory(d.Story); err != nil {
		return Item{}, err
	}
	it.Alert = d.Alert
	return it, nil
}

// ApplyPatch validates a correction against the current version and returns
// the corrected item and whether anything changed. Version, times, editor
// and AlertedAt are the caller's to update: a promotion is next.Alert set
// where cur.Alert was not. {"alert": false} on an alerted item is
// ErrAlertSent.
func (t *Taxonomy) ApplyPatch(cur Item, p Patch) (Item, bool, error) {
	if p.Text == nil && p.Regions == nil && p.Topics == nil && p.Source == nil && p.URL == nil && p.Priority == nil && p.Alert == nil && p.Story == nil && !Given(p.PublishAt) {
		return Item{}, false, invalid("", "empty_patch", "a correction needs at least one of text, regions, topics, source, url, priority, alert, story (or publish_at, for a scheduled item)")
	}
	next := cur
	var err error
	if p.Alert != nil {
		if !*p.Alert && cur.Alert {
			return Item{}, false, ErrAlertSent
		}
		next.Alert = cur.Alert || *p.Alert
	}
	if p.Text != nil {
		if next.Text, err = cleanText("text", *p.Text, MaxTextChars, true); err != nil {
			return Item{}, false, err
		}
	}
	if p.Regions != nil {
		if next.Regions, err = t.slugs("regions", *p.Regions, 1, MaxRegions, t.Region, t.Regions); err != nil {
			return Item{}, false, err
		}
	}
	if p.Topics != nil {
		if next.Topics, err = t.slugs("topics", *p.Topics, 0, MaxTopics, t.Topic, t.Topics); err != nil {
			return Item{}, false, err
		}
	}
	if p.Source != nil {
		if next.Source, err = cleanText("source", *p.Source, MaxSourceChars, false); err != nil {
			return Item{}, false, err
		}
	}
	if p.URL != nil {
		if next.URL, err = cleanURL(*p.URL); err != nil {
			return Item{}, false, err
		}
	}
	if p.Priority != nil {
		if next.Priority, err = cleanPriority(*p.Priority); err != nil {
			return Item{}, false, err
		}
	}
	if p.Story != nil {
		if next.Story, err = cleanStory(*p.Story); err != nil {
			return Item{}, false, err
		}
	}
	changed := next.Alert != cur.Alert || next.Text != cur.Text || next.Source != cur.Source || next.URL != cur.URL || next.Story != cur.Story ||
		next.Priority != cur.Priority || !equal(next.Regions, cur.Regions) || !equal(next.Topics, cur.Topics)
	return next, changed, nil
}

// cleanText trims the text, folds every run of white space (line breaks
// included) into one space, refuses other control characters and checks the
// length in characters. Markup is kept as it is: it is text.
func cleanText(field, s string, max int, required bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid(field, "invalid_"+field, "%s must be valid UTF-8", field)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r):
			return "", invalid(field, "invalid_"+field, "%s must not contain control characters (found U+%04X)", field, r)
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	n := utf8.RuneCountInString(out)
	if n == 0 && required {
		return "", invalid(field, "empty_"+field, "%s is required and must not be blank", field)
	}
	if n > max {
		return "", invalid(field, field+"_too_long", "%s is %d characters long; the limit is %d", field, n, max)
	}
	return out, nil
}

func cleanURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxURLBytes {
		return "", invalid("url", "invalid_url", "url is longer than %d bytes", MaxURLBytes)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", invalid("url", "invalid_url", "url must be an absolute http or https URL")
	}
	if u.User != nil {
		return "", invalid("url", "invalid_url", "url must not contain a user name or password")
	}
	if !utf8.ValidString(s) {
		return "", invalid("url", "invalid_url", "url must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", invalid("url", "invalid_url", "url must not contain spaces or control characters")
		}
	}
	return s, nil
}

func cleanPriority(s string) (string, error) {
	switch p := strings.ToLower(strings.TrimSpace(s)); p {
	case "":
		return PriorityBreaking, nil
	case PriorityFlash, PriorityUrgent, PriorityBreaking:
		return p, nil
	}
	return "", invalid("priority", "invalid_priority", "unknown priority %q; allowed: flash, urgent, breaking", s)
}

// slugs normalises a list of slugs of one dimension, dropping repeats and
// keeping the order given.
func (t *Taxonomy) slugs(field string, in []string, min, max int, known func(string) (string, bool), terms []Term) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		slug, ok := known(s)
		if !ok {
			return nil, invalid(field, "unknown_"+singular(field), "unknown %s %q; allowed: %s", singular(field), s, allowed(terms))
		}
		if !contains(out, slug) {
			out = append(out, slug)
		}
	}
	if len(out) < min {
		return nil, invalid(field, "missing_"+field, "at least %d of %s is required; allowed: %s", min, field, allowed(terms))
	}
	if len(out) > max {
		return nil, invalid(field, "too_many_"+field, "at most %d %s are allowed", max, field)
	}
	return out, nil
}

func singular(field string) string {
	switch field {
	case "langs":
		return "lang"
	}
	return strings.TrimSuffix(field, "s")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
