package stream

import (
	"encoding/hex"
	"fmt"
	"strings"

	"newsflash/internal/news"
)

// DefaultStreamName is the news stream's name when Options.StreamName is
// empty. Every other name below derives from it.
const DefaultStreamName = "NEWSFLASH"

// Layout names everything Newsflash keeps in NATS: streams, buckets,
// consumers and subjects. Every name derives from the news stream's name,
// so two deployments with different stream names share nothing on one
// NATS. Other packages ask a Layout for names and never spell one.
//
// With DefaultStreamName the names are the ones Newsflash has always used
// (TestDefaultLayoutKeepsNames), so an upgrade finds its data:
//
//	news stream          NEWSFLASH, subjects newsflash.items.<id>
//	audit stream         NEWSFLASH_AUDIT
//	idempotency bucket   NEWSFLASH_idempotency
//	editor accounts      NEWSFLASH_editors (stream KV_NEWSFLASH_editors)
//	scheduled items      NEWSFLASH_scheduled (stream KV_NEWSFLASH_scheduled)
//	stories              NEWSFLASH_stories (stream KV_NEWSFLASH_stories)
//	push subscriptions   NEWSFLASH_push_subscriptions
//	push progress        NEWSFLASH_push_progress
//	push keys            NEWSFLASH_push_keys
//	push receipts        NEWSFLASH_push_receipts
//	push jobs            stream NEWSFLASH_PUSH, subject newsflash.push.jobs
//	push consumers       NEWSFLASH_push_planner (on the news stream),
//	                     NEWSFLASH_push_workers (on the jobs stream)
//	webhook endpoints    NEWSFLASH_webhooks, counts NEWSFLASH_webhook_stats
//	webhook jobs         stream NEWSFLASH_WEBHOOK, subject newsflash.webhook.jobs
//	webhook consumers    NEWSFLASH_webhook_planner (on the news stream),
//	                     NEWSFLASH_webhook_workers (on the jobs stream)
//
// Subjects start with the stream name in lower case: names that differ only
// in case would share subjects, which JetStream refuses (overlapping
// subjects), so such a second deployment fails at start instead of mixing
// its events with the first one's.
//
// The zero Layout is the default one.
type Layout struct {
	name string // "" means DefaultStreamName
}

// NewLayout is the layout of the news stream called name (empty: the
// default). CheckStreamName says whether name is usable.
func NewLayout(name string) Layout { return Layout{name: name} }

// CheckStreamName reports why name cannot name the news stream. It names
// key-value buckets too, whose names JetStream restricts to letters,
// digits, '_' and '-', and, lower-cased, it is the first token of every
// subject. Empty is the default name.
func CheckStreamName(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("stream name %q: longer than 64 characters", name)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("stream name %q: only letters, digits, '_' and '-' are allowed", name)
		}
	}
	return nil
}

// NewsStream is the news stream: every event, one subject per item.
func (l Layout) NewsStream() string {
	if l.name == "" {
		return DefaultStreamName
	}
	return l.name
}

// root is the first token of every subject.
func (l Layout) root() string { return strings.ToLower(l.NewsStream()) }

func (l Layout) itemPrefix() string { return l.root() + ".items." }

// NewsSubjects is the filter matching every item subject of the news stream.
func (l Layout) NewsSubjects() string { return l.itemPrefix() + "*" }

// ItemSubject is the subject of an item's events, in the news stream and
// in the audit stream alike (copies keep their subjects). The last message
// on it is the item's current version.
func (l Layout) ItemSubject(id string) string { return l.itemPrefix() + id }

// ItemIDFromSubject is the item id of an item subject of this layout, and
// false for any other subject.
func (l Layout) ItemIDFromSubject(subj string) (string, bool) {
	id, ok := strings.CutPrefix(subj, l.itemPrefix())
	if !ok || !news.ValidID(id) {
		return "", false
	}
	return id, true
}

// AuditStream is the audit trail: a copy of the news stream, kept longer.
func (l Layout) AuditStream() string { return l.NewsStream() + "_AUDIT" }

// IdempotencyBucket holds the editors' Idempotency-Key claims.
func (l Layout) IdempotencyBucket() string { return l.NewsStream() + "_idempotency" }

// PushSubscriptionsBucket holds the Web Push subscriptions.
func (l Layout) PushSubscriptionsBucket() string { return l.NewsStream() + "_push_subscriptions" }

// PushProgressBucket holds the progress and counts of push delivery jobs.
func (l Layout) PushProgressBucket() string { return l.NewsStream() + "_push_progress" }

// PushKeysBucket holds the push service's keys shared by every instance
// (the receipts' MAC key).
func (l Layout) PushKeysBucket() string { return l.NewsStream() + "_push_keys" }

// PushReceiptsBucket holds the alerts' receipts, one key per (receipt,
// event), counted once over all instances.
func (l Layout) PushReceiptsBucket() string { return l.NewsStream() + "_push_receipts" }

// PushJobsStream is the work queue of push delivery jobs.
func (l Layout) PushJobsStream() string { return l.NewsStream() + "_PUSH" }

// PushJobsSubject is the one subject of PushJobsStream.
func (l Layout) PushJobsSubject() string { return l.root() + ".push.jobs" }

// PlannerConsumer is the durable consumer, on the news stream, that turns
// each event into push delivery jobs (one delivery per event for all
// instances).
func (l Layout) PlannerConsumer() string { return l.NewsStream() + "_push_planner" }

// PushWorkersConsumer is the durable consumer, on PushJobsStream, that the
// push workers of every instance share.
func (l Layout) PushWorkersConsumer() string { return l.NewsStream() + "_push_workers" }

// EditorsBucket holds the editor accounts made at runtime (the editors API),
// one key per editor (EditorKey). Its stream, EditorsKVStream, is a source
// of the audit stream: every account change is an audit record.
func (l Layout) EditorsBucket() string { return l.NewsStream() + "_editors" }

// EditorsKVStream is the stream JetStream keeps EditorsBucket in.
func (l Layout) EditorsKVStream() string { return "KV_" + l.EditorsBucket() }

// EditorKey is the key of an editor's account in EditorsBucket: the name
// in hex, since editor names may hold '@', which keys may not.
func (l Layout) EditorKey(name string) string { return hex.EncodeToString([]byte(name)) }

// EditorFromSubject is the editor name of a subject of EditorsKVStream (as
// its copies in the audit stream keep it), and false for any other subject.
func (l Layout) EditorFromSubject(subj string) (string, bool) {
	key, ok := strings.CutPrefix(subj, "$KV."+l.EditorsBucket()+".")
	if !ok {
		return "", false
	}
	name, err := hex.DecodeString(key)
	if err != nil || len(name) == 0 {
		return "", false
	}
	return string(name), true
}

// WebhooksBucket holds the partners' webhook endpoints, one key per
// endpoint id, with their secrets.
func (l Layout) WebhooksBucket() string { return l.NewsStream() + "_webhooks" }

// WebhookStatsBucket holds each webhook endpoint's delivery counts and last
// delivery, one small record per endpoint id.
func (l Layout) WebhookStatsBucket() string { return l.NewsStream() + "_webhook_stats" }

// WebhookJobsStream is the work queue of webhook deliveries: one job per
// event and endpoint.
func (l Layout) WebhookJobsStream() string { return l.NewsStream() + "_WEBHOOK" }

// WebhookJobsSubject is the one subject of WebhookJobsStream.
func (l Layout) WebhookJobsSubject() string { return l.root() + ".webhook.jobs" }

// WebhookPlannerConsumer is the durable consumer, on the news stream, that
// turns each event into webhook jobs (one planning per event for all
// instances).
func (l Layout) WebhookPlannerConsumer() string { return l.NewsStream() + "_webhook_planner" }

// WebhookWorkersConsumer is the durable consumer, on WebhookJobsStream,
// that the webhook workers of every instance share.
func (l Layout) WebhookWorkersConsumer() string { return l.NewsStream() + "_webhook_workers" }
