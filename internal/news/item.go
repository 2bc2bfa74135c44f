package news

import (
	"crypto/rand"
	"encoding/base32"
	"time"
)

// Priorities, from the strongest.
const (
	PriorityFlash    = "flash"
	PriorityUrgent   = "urgent"
	PriorityBreaking = "breaking"
)

// Statuses of an item.
const (
	StatusLive      = "live"
	StatusRetracted = "retracted"
	// A scheduled item waits for its publish_at; it is not in the news
	// stream and only editors see it. Cancelled (by an editor) and missed
	// (no instance ran until too late) ones are never published.
	StatusScheduled = "scheduled"
	StatusCancelled = "cancelled"
	StatusMissed    = "missed"
)

// Item is one breaking-news line in one version. Seq is the stream sequence of
// the event that produced this version; PublishedSeq is that of the first
// version (the item's place in the timeline).
type Item struct {
	ID           string    `json:"id"`
	Seq          uint64    `json:"seq"`
	PublishedSeq uint64    `json:"published_seq"`
	Version      int       `json:"version"`
	Status       string    `json:"status"`
	Text         string    `json:"text"`
	Lang         string    `json:"lang"`
	Regions      []string  `json:"regions"`
	Topics       []string  `json:"topics"`
	Source       string    `json:"source,omitempty"`
	URL          string    `json:"url,omitempty"`
	Priority     string    `json:"priority"`
	Editor       string    `json:"editor,omitempty"`
	UpdatedBy    string    `json:"updated_by,omitempty"`
	PublishedAt  time.Time `json:"published_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	// Alert says the item is (or was) also sent as a push notification;
	// without it the item is ticker-only. Once true it stays true: an
	// alert cannot be unsent. AlertedAt is when the alert was sent (null
	// for a ticker-only item).
	Alert     bool       `json:"alert"`
	AlertedAt *time.Time `json:"alerted_at"`

	// PublishAt is when a scheduled item is (or was) due; null for an
	// item posted at once. A published scheduled item keeps it, and its
	// PublishedAt is when it actually went out.
	PublishAt *time.Time `json:"publish_at"`

	// Story is the slug of the running story (internal/story) the item
	// belongs to; empty for none. An item is posted into an open story
	// only.
	Story string `json:"story,omitempty"`
}

// Public returns the item as readers see it: without the names of the
// newsroom staff who wrote or changed it, and, once it is retracted,
// without what it said (Redacted). Editors and the audit trail keep the
// whole item.
func (it Item) Public() Item {
	it.Editor, it.UpdatedBy = "", ""
	if it.Status == StatusRetracted {
		return it.Redacted()
	}
	return it
}

// Redacted returns the public item without its text and url: what readers
// get of an item that is retracted (also in frames of its earlier versions
// that a reader resuming from history is sent).
func (it Item) Redacted() Item {
	it.Editor, it.UpdatedBy = "", ""
	it.Text, it.URL = "", ""
	return it
}

// Pushes reports whether the event goes to push subscriptions at all: the
// alert itself, or a correction or retraction of an item that has alerted.
// Events of ticker-only items are for the ticker (WebSocket, SSE, GET) only.
func (ev *Event) Pushes() bool { return ev.Alert || ev.Item.Alert }

// Event types. An event carries the item in its new version.
const (
	EventItem    = "item"
	EventUpdate  = "update"
	EventRetract = "retract"
)

// Event is one entry of the news stream: a new item, a correction or a
// retraction, with the item as it is after the event. Seq is the stream
// sequence, set when the event is read back from the stream.
//
// Alert marks the event that sends the item's alert: a new item posted
// with alert, or the correction that promoted a ticker-only item to an
// alert. Exactly one event of an alerted item has it, so push delivery
// decides from the event alone (and the same way when it is read again
// after a crash) whether it is the alert or a later change of one.
//
// Client, Before and Confirmed are for the audit trail only: the address of the
// editor's client, and for a correction or retraction the item as it was
// before it. They are stored with the event but never shown to readers
// (public answers are built from Item.Public()), and the live projection
// does not keep them.
type Event struct {
	Type   string `json:"type"`
	Seq    uint64 `json:"seq"`
	Item   Item   `json:"item"`
	Alert  bool   `json:"alert,omitempty"`
	Client string `json:"client,omitempty"`
	Before *Item  `json:"before,omitempty"`
	// Confirmed marks an alert sent with confirm over the flood guard's
	// refusal (for the audit trail).
	Confirmed bool `json:"confirmed,omitempty"`
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a fresh random item id: 20 characters of [a-z2-7], safe in
// URLs, NATS subjects and Web Push Topic headers.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the form NewID produces.
func ValidID(s string) bool {
	if len(s) != 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
