package push

import (
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"newsflash/internal/news"
)

// Subscription is one browser's push subscription, or one app's device
// (Platform android or ios, with its Token), and what it asked for. Both
// are kept in one bucket and one index, so a job's targets are the web
// subscriptions and the devices of its partition.
type Subscription struct {
	ID string `json:"id"`
	// Platform is PlatformAndroid or PlatformIOS for a device; empty for a
	// web subscription (records stored before devices existed have none).
	Platform string `json:"platform,omitempty"`
	// Token is a device's FCM registration token or APNs device token
	// (lower-case hex); never logged whole (tokenPrefix).
	Token     string     `json:"token,omitempty"`
	Endpoint  string     `json:"endpoint,omitempty"`
	P256dh    string     `json:"p256dh,omitempty"`
	Auth      string     `json:"auth,omitempty"`
	Filter    FilterJSON `json:"filter"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// Failures counts consecutive items that failed with 400/401/403/413.
	Failures int `json:"failures,omitempty"`
	// Unreachable counts consecutive items whose sends all failed without
	// an answer from the push service (DNS, connection, TLS, timeout), and
	// UnreachableSince is when the first of them failed.
	Unreachable      int       `json:"unreachable,omitempty"`
	UnreachableSince time.Time `json:"unreachable_since,omitzero"`
	// Prefs are the reader's alert preferences (prefs.go). PrefsAt is when
	// the filter or the prefs last changed (set when the record is made):
	// the cap counts alerts from there.
	Prefs   Prefs     `json:"prefs,omitzero"`
	PrefsAt time.Time `json:"prefs_at,omitzero"`

	// Derived when the subscription enters the index (prepare), then never
	// modified: sends read them without a lock.
	filter  news.Filter // parsed Filter
	rule    *rule       // parsed Prefs; shared by the indexed subscriptions with its key (index.rules)
	plat    platform    // Platform as an index
	host    string      // endpoint host, lower case; a device's provider (hostFCM, hostAPNs)
	origin  string      // endpoint scheme://host, the VAPID audience
	keys    *subKeys    // decoded P256dh and Auth; nil when keysErr
	keysErr error       // why P256dh or Auth cannot be used
}

// FilterJSON is a filter as posted and stored.
type FilterJSON struct {
	Regions []string `json:"regions"`
	Topics  []string `json:"topics"`
	Langs   []string `json:"langs"`
}

// SubscribeRequest is the body of POST /api/v1/push/subscriptions.
type SubscribeRequest struct {
	Subscription struct {
		Endpoint       string `json:"endpoint"`
		ExpirationTime *int64 `json:"expirationTime"`
		Keys           struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	} `json:"subscription"`
	Filter FilterJSON `json:"filter"`
	Prefs  Prefs      `json:"prefs"`
}

// UnsubscribeRequest is the body of DELETE /api/v1/push/subscriptions.
type UnsubscribeRequest struct {
	Endpoint string `json:"endpoint"`
	Auth     string `json:"auth"`
}

// IDFor is the subscription id of an endpoint: the same endpoint is always
// the same subscription.
func IDFor(endpoint string) string {
	sum := sha256.Sum256([]byte(endpoint))
	return hex.EncodeToString(sum[:16])
}

func invalidField(field, code, format string, args ...any) error {
	return &news.ValidationError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// validate checks a subscribe request and returns the subscription it
// describes (without times).
func (s *Service) validate(req SubscribeRequest) (Subscription, error) {
	ep := strings.TrimSpace(req.Subscription.Endpoint)
	if ep == "" {
		return Subscription{}, invalidField("subscription.endpoint", "invalid_endpoint", "subscription.endpoint is required")
	}
	if err := s.policy.CheckEndpoint(ep); err != nil {
		return Subscription{}, err
	}
	p, err := decodeB64(req.Subscription.Keys.P256dh)
	if err != nil || len(p) != 65 || p[0] != 4 {
		return Subscription{}, invalidField("subscription.keys.p256dh", "invalid_p256dh", "keys.p256dh must be base64url of a 65-byte uncompressed P-256 point")
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return Subscription{}, invalidField("subscription.keys.p256dh", "invalid_p256dh", "keys.p256dh is not a point on P-256")
	}
	a, err := decodeB64(req.Subscription.Keys.Auth)
	if err != nil || len(a) != 16 {
		return Subscription{}, invalidField("subscription.keys.auth", "invalid_auth", "keys.auth must be base64url of 16 bytes")
	}
	f, err := s.parseFilter(req.Filter)
	if err != nil {
		return Subscription{}, err
	}
	prefs, err := checkPrefs(req.Prefs, s.cfg.Stories)
	if err != nil {
		return Subscription{}, err
	}
	return Subscription{
		Prefs:    prefs,
		ID:       IDFor(ep),
		Endpoint: ep,
		P256dh:   encodeB64(p),
		Auth:     encodeB64(a),
		Filter:   FilterJSON{Regions: f.Regions, Topics: f.Topics, Langs: f.Langs},
	}, nil
}

// parseFilter checks the slugs as the WebSocket does; fields are reported
// as filter.<dimension>.
func (s *Service) parseFilter(fj FilterJSON) (news.Filter, error) {
	for _, list := range [][]string{fj.Regions, fj.Topics, fj.Langs} {
		if len(list) > news.MaxFilterValues {
			return news.Filter{}, invalidField("filter", "too_many_values", "at most %d values per filter dimension", news.MaxFilterValues)
		}
		for _, v := range list {
			if strings.Contains(v, ",") {
				return news.Filter{}, invalidField("filter", "invalid_filter", "filter values are single slugs")
			}
		}
	}
	f, err := s.cfg.Taxonomy.ParseFilter(strings.Join(fj.Regions, ","), strings.Join(fj.Topics, ","), strings.Join(fj.Langs, ","))
	if err != nil {
		if ve, ok := err.(*news.ValidationError); ok {
			ve.Field = "filter." + ve.Field
		}
		return news.Filter{}, err
	}
	return f, nil
}

// prepare fills the derived fields of a stored subscription: the keys are
// decoded here once, not on every send.
func (sub *Subscription) prepare() {
	sub.filter = news.Filter{Regions: sub.Filter.Regions, Topics: sub.Filter.Topics, Langs: sub.Filter.Langs}
	r := sub.Prefs.rule(&sub.filter)
	sub.rule = &r
	sub.plat = platformOf(sub.Platform)
	if sub.plat != platformWeb {
		sub.host = sub.plat.host()
		return
	}
	if u, err := url.Parse(sub.Endpoint); err == nil {
		sub.host = strings.ToLower(u.Host)
		sub.origin = u.Scheme + "://" + u.Host
	}
	sub.keys, sub.keysErr = parseSubKeys(sub.P256dh, sub.Auth)
}
