package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// Event types an endpoint may ask for, as the deliveries name them.
const (
	TypeCreated   = "item.created"
	TypeUpdated   = "item.updated"
	TypeRetracted = "item.retracted"
)

// Types are the event types, in the order the API lists them.
var Types = []string{TypeCreated, TypeUpdated, TypeRetracted}

// typeOf is the webhook type of a news event kind (news.EventItem, …).
var typeOf = map[string]string{news.EventItem: TypeCreated, news.EventUpdate: TypeUpdated, news.EventRetract: TypeRetracted}

// SecretPrefix starts every signing secret; the rest is the base64 of
// SecretBytes random bytes.
const (
	SecretPrefix = "whsec_"
	SecretBytes  = 24
)

// RotationGrace is how long the secret replaced by a rotation still signs,
// beside the new one.
const RotationGrace = 24 * time.Hour

// Filter is what an endpoint wants, as the API reads and writes it: an
// empty dimension means all (news.Filter).
type Filter struct {
	Regions []string `json:"regions"`
	Topics  []string `json:"topics"`
	Langs   []string `json:"langs"`
	Stories []string `json:"stories"`
}

func (f Filter) news() news.Filter {
	return news.Filter{Regions: f.Regions, Topics: f.Topics, Langs: f.Langs, Stories: f.Stories}
}

// secret is one signing secret; Until is when a replaced one stops
// signing (nil: the current one).
type secret struct {
	Key   string     `json:"key"`
	Until *time.Time `json:"until,omitempty"`
}

// Endpoint is a partner's registered URL as the bucket keeps it.
type Endpoint struct {
	ID         string     `json:"id"`
	URL        string     `json:"url"`
	Filter     Filter     `json:"filter"`
	Events     []string   `json:"events"`
	AlertsOnly bool       `json:"alerts_only"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by,omitempty"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// Secrets sign deliveries, the current one first; never answered by
	// GET nor logged.
	Secrets []secret `json:"secrets"`
}

// wants reports whether the endpoint takes an event of this webhook type.
func (e *Endpoint) wants(typ string, pushes bool) bool {
	return e.DisabledAt == nil && (!e.AlertsOnly || pushes) && slices.Contains(e.Events, typ)
}

// signingKeys are the decoded secrets that sign at now.
func (e *Endpoint) signingKeys(now time.Time) [][]byte {
	var keys [][]byte
	for _, s := range e.Secrets {
		if s.Until != nil && !now.Before(*s.Until) {
			continue
		}
		if k, err := decodeSecret(s.Key); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// rotate makes a new current secret; the old current one signs for
// RotationGrace more, and any older one is dropped.
func (e *Endpoint) rotate(now time.Time) string {
	key := newSecret()
	next := []secret{{Key: key}}
	if len(e.Secrets) > 0 {
		until := now.Add(RotationGrace)
		next = append(next, secret{Key: e.Secrets[0].Key, Until: &until})
	}
	e.Secrets = next
	return key
}

func newSecret() string {
	b := make([]byte, SecretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

func decodeSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("secret without prefix")
	}
	return base64.StdEncoding.DecodeString(rest)
}

// Sign is the webhook-signature header value for a message: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" for each key, space-separated.
func Sign(keys [][]byte, id string, timestamp int64, body []byte) string {
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		fmt.Fprintf(m, "%s.%d.", id, timestamp)
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// MessageID is the webhook-id of one event's delivery to one endpoint: the
// same on every retry, so a receiver drops repeats by it.
func MessageID(seq uint64, endpoint string) string {
	return fmt.Sprintf("msg_%d_%s", seq, endpoint)
}

// Input is what POST /api/v1/webhooks takes.
type Input struct {
	URL        string   `json:"url"`
	Filter     Filter   `json:"filter"`
	Events     []string `json:"events"`
	AlertsOnly bool     `json:"alerts_only"`
}

// Error codes of bad input (all 400, naming the field).
const (
	CodeInvalidURL   = "invalid_url"
	CodeNoEvents     = "events_required"
	CodeUnknownEvent = "unknown_event"
)

// check validates an input and returns it normalised: the filter's slugs
// canonical, sorted and unique, the events in Types order.
func (s *Service) check(in Input) (Input, error) {
	if err := s.cfg.Policy.CheckEndpoint(in.URL); err != nil {
		msg := err.Error()
		var ve *news.ValidationError
		if errors.As(err, &ve) {
			msg = strings.Replace(ve.Message, "endpoint", "url", 1)
		}
		return Input{}, httperr.Field(http.StatusBadRequest, CodeInvalidURL, "url", msg)
	}
	if len(in.Events) == 0 {
		return Input{}, httperr.Field(http.StatusBadRequest, CodeNoEvents, "events", "events must name at least one of "+strings.Join(Types, ", "))
	}
	var events []string
	for _, e := range in.Events {
		if !slices.Contains(Types, e) {
			return Input{}, httperr.Field(http.StatusBadRequest, CodeUnknownEvent, "events", fmt.Sprintf("unknown event type %q; allowed: %s", e, strings.Join(Types, ", ")))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	sort.Slice(events, func(i, j int) bool { return slices.Index(Types, events[i]) < slices.Index(Types, events[j]) })
	in.Events = events
	t := s.cfg.Taxonomy
	var err error
	if in.Filter.Regions, err = slugs("filter.regions", "region", "regions", in.Filter.Regions, t.Region); err != nil {
		return Input{}, err
	}
	if in.Filter.Topics, err = slugs("filter.topics", "topic", "topics", in.Filter.Topics, t.Topic); err != nil {
		return Input{}, err
	}
	if in.Filter.Langs, err = slugs("filter.langs", "lang", "langs", in.Filter.Langs, t.Lang); err != nil {
		return Input{}, err
	}
	known := func(slug string) (string, bool) {
		return slug, news.ValidStory(slug) && s.cfg.Stories != nil && s.cfg.Stories.Known(slug)
	}
	if in.Filter.Stories, err = slugs("filter.stories", "story", "stories", in.Filter.Stories, known); err != nil {
		return Input{}, err
	}
	return in, nil
}

// slugs canonicalises one filter dimension: unknown_<what> or
// too_many_<plural> naming field.
func slugs(field, what, plural string, in []string, known func(string) (string, bool)) ([]string, error) {
	if len(in) > news.MaxFilterValues {
		return nil, httperr.Field(http.StatusBadRequest, "too_many_"+plural, field, fmt.Sprintf("at most %d %s are allowed", news.MaxFilterValues, plural))
	}
	var out []string
	for _, v := range in {
		slug, ok := known(v)
		if !ok {
			return nil, httperr.Field(http.StatusBadRequest, "unknown_"+what, field, fmt.Sprintf("unknown %s %q", what, v))
		}
		if !slices.Contains(out, slug) {
			out = append(out, slug)
		}
	}
	sort.Strings(out)
	return out, nil
}
