package news

import (
	"bytes"
	"encoding/json"
	"time"
)

// Given reports whether a raw JSON field was sent with a value: absent and
// null are not.
func Given(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// ParsePublishAt reads a publish_at field: nil when it is absent or null,
// else a time in RFC 3339 after now and at most maxAhead later (maxAhead
// <= 0: no bound), in UTC, to the millisecond. Errors are
// ValidationErrors with code invalid_publish_at, field publish_at.
func ParsePublishAt(raw json.RawMessage, now time.Time, maxAhead time.Duration) (*time.Time, error) {
	if !Given(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid("publish_at", "invalid_publish_at", "publish_at must be a string in RFC 3339, such as 2030-01-02T15:04:05Z")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, invalid("publish_at", "invalid_publish_at", "publish_at %q is not in RFC 3339, such as 2030-01-02T15:04:05Z", s)
	}
	t = t.UTC().Truncate(time.Millisecond)
	if !t.After(now) {
		return nil, invalid("publish_at", "invalid_publish_at", "publish_at %s is not in the future", t.Format(time.RFC3339))
	}
	if maxAhead > 0 && t.Sub(now) > maxAhead {
		return nil, invalid("publish_at", "invalid_publish_at", "publish_at %s is more than %s ahead", t.Format(time.RFC3339), maxAhead)
	}
	return &t, nil
}
