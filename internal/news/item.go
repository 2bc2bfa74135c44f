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
// Client and Before are for the audit trail only: the address of the
// editor's client, and for a correction or retraction the item as it was
// before it. They are stored with the event but never shown to readers
// (public answers are built from Item.Public()), and the live projection
// does not keep them.
type Event struct {
	Type   string `json:"type"`
	Seq    uint64 `json:"seq"`
	Item   Item   `json:"item"`
	Client string `json:"client,omitempty"`
	Before *Item  `json:"before,omitempty"`
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
