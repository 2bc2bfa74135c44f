package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
)

// DefaultScheduleMaxAhead is how far ahead an item may be scheduled
// (Options.ScheduleMaxAhead, --schedule-max-ahead).
const DefaultScheduleMaxAhead = 30 * 24 * time.Hour

// ErrExists: a scheduled item's record exists already (its id is taken).
var ErrExists = errors.New("scheduled item exists")

// scheduledKeep is how long a scheduled item's record outlives the
// schedule horizon: the bucket's records age out this long after their
// last change beyond the horizon, so a pending record never does, and a
// cancelled, missed or published one is listed for a while, then goes.
const scheduledKeep = 48 * time.Hour

// ScheduledBucket holds one record per scheduled item (Scheduled), keyed
// by the item id. Its stream, ScheduledKVStream, is a source of the audit
// stream: every schedule, edit, cancel, miss and publication is an audit
// record.
func (l Layout) ScheduledBucket() string { return l.NewsStream() + "_scheduled" }

// ScheduledKVStream is the stream JetStream keeps ScheduledBucket in.
func (l Layout) ScheduledKVStream() string { return "KV_" + l.ScheduledBucket() }

// ScheduledSubject is the subject of an item's record in
// ScheduledKVStream (and of its copies in the audit stream).
func (l Layout) ScheduledSubject(id string) string { return "$KV." + l.ScheduledBucket() + "." + id }

// ScheduledIDFromSubject is the item id of a subject of ScheduledKVStream
// (as its copies in the audit stream keep it), and false for any other
// subject.
func (l Layout) ScheduledIDFromSubject(subj string) (string, bool) {
	id, ok := strings.CutPrefix(subj, l.ScheduledSubject(""))
	if !ok || !news.ValidID(id) {
		return "", false
	}
	return id, true
}

// Statuses of a Scheduled record. The item in a record is shown with
// status news.StatusScheduled while the record is SchedScheduled or
// SchedPublishing; a published item is read from the news stream.
const (
	SchedScheduled  = "scheduled"  // waiting for its publish_at
	SchedPublishing = "publishing" // claimed by Instance at ClaimedAt, being published
	SchedPublished  = "published"  // in the news stream at Seq
	SchedCancelled  = "cancelled"  // cancelled by an editor; never published
	SchedMissed     = "missed"     // due while no instance ran, too late to publish
)

// Changes of a Scheduled record, its Action.
const (
	ScheduleCreate  = "schedule"
	ScheduleEdit    = "edit"
	ScheduleCancel  = "cancel"
	ScheduleClaim   = "claim"
	SchedulePublish = "publish"
	ScheduleMiss    = "miss"
)

// Scheduled is the value of a scheduled item's key in ScheduledBucket: the
// item as it will be published, where the record stands, and the change
// that made this revision (who, when, from where). Changes are
// compare-and-set on the key's revision, so of two instances (or an editor
// and an instance) only one moves a record on.
type Scheduled struct {
	Item   news.Item `json:"item"`
	Status string    `json:"status"`
	Action string    `json:"action"`
	// By is the editor who made the change (schedule, edit, cancel); empty
	// for the scheduler's own (claim, publish, miss), which name Instance.
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at"`
	Client string    `json:"client,omitempty"`
	// Before is the item as it was before an edit (for the audit trail).
	Before *news.Item `json:"before,omitempty"`
	// Confirmed: the alert was scheduled with confirm over the flood guard.
	Confirmed bool `json:"confirmed,omitempty"`
	// ClaimedAt and Instance name the claim of a record being published.
	ClaimedAt *time.Time `json:"claimed_at,omitempty"`
	Instance  string     `json:"instance,omitempty"`
	// Seq is the news stream's seq of the published item.
	Seq uint64 `json:"seq,omitempty"`
}

// Pending says whether the record is still to be published.
func (r Scheduled) Pending() bool {
	return r.Status == SchedScheduled || r.Status == SchedPublishing
}

// EncodeScheduled is the bucket value of r.
func EncodeScheduled(r Scheduled) ([]byte, error) { return json.Marshal(r) }

// DecodeScheduled reads a bucket value (or its copy in the audit stream).
func DecodeScheduled(data []byte) (Scheduled, error) {
	var r Scheduled
	if err := json.Unmarshal(data, &r); err != nil {
		return Scheduled{}, fmt.Errorf("decode scheduled item: %w", err)
	}
	if !news.ValidID(r.Item.ID) || r.Status == "" || r.Item.PublishAt == nil {
		return Scheduled{}, fmt.Errorf("decode scheduled item: no id, status or publish_at")
	}
	return r, nil
}

// scheduledConfig is the bucket of scheduled items. Records age out
// scheduledKeep after the schedule horizon from their last change, so a
// pending one never does. As for the editor accounts, the bucket keeps
// some history per key so the audit stream's copy, which reads the bucket
// a moment after each write, does not miss a change replaced at once (a
// claim, then its publication).
func (s *Stream) scheduledConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:       s.Layout().ScheduledBucket(),
		Description:  "Newsflash scheduled items: one record per item until it is published, cancelled or missed",
		History:      16,
		TTL:          s.cfg.ScheduleMaxAhead + scheduledKeep,
		MaxValueSize: 32 << 10,
		Storage:      jetstream.FileStorage,
		Replicas:     s.cfg.Replicas,
	}
}

// Scheduled is the bucket of scheduled items.
func (s *Stream) Scheduled(ctx context.Context) (jetstream.KeyValue, error) {
	return s.js.KeyValue(ctx, s.Layout().ScheduledBucket())
}
