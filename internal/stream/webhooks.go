package stream

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of the webhook records and jobs.
const (
	webhookValueMax      = 16 << 10 // a URL of 1 KiB, 4×64 filter slugs, two secrets
	webhookStatsValueMax = 1 << 10
	webhookJobMax        = 64 << 10 // an item in its longest
	// WebhookJobsMaxAge is how long a webhook job may wait in its queue:
	// longer than any retry schedule (internal/webhook tries for 25 h).
	WebhookJobsMaxAge = 7 * 24 * time.Hour
)

// WebhookConfigs are the webhook endpoints' bucket, their counts' bucket
// and the webhook work queue. Open makes them, before the audit stream,
// so that no stream is created beside a running audit copy at start; the
// webhook package ensures the same configs.
func WebhookConfigs(l Layout, replicas int) (hooks, stats jetstream.KeyValueConfig, jobs jetstream.StreamConfig) {
	hooks = jetstream.KeyValueConfig{
		Bucket: l.WebhooksBucket(), Description: "Webhook endpoints of partners, with their signing secrets",
		History: 1, MaxValueSize: webhookValueMax, Storage: jetstream.FileStorage, Replicas: replicas,
	}
	stats = jetstream.KeyValueConfig{
		Bucket: l.WebhookStatsBucket(), Description: "Webhook delivery counts per endpoint",
		History: 1, MaxValueSize: webhookStatsValueMax, Storage: jetstream.FileStorage, Replicas: replicas,
	}
	jobs = jetstream.StreamConfig{
		Name: l.WebhookJobsStream(), Description: "Webhook deliveries: one job per event and endpoint",
		Subjects: []string{l.WebhookJobsSubject()}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
		Replicas: replicas, MaxAge: WebhookJobsMaxAge, Duplicates: time.Hour, MaxMsgSize: webhookJobMax,
	}
	return hooks, stats, jobs
}

// WebhookPlannerConfig is the webhook planner's durable consumer on the
// news stream. Open makes it, after the news stream and before the audit
// stream that copies it, so that it exists before any post (it starts with
// the events published after its creation) and no consumer is added to the
// news stream while the audit copy runs at start.
func WebhookPlannerConfig(l Layout) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       l.WebhookPlannerConsumer(),
		Description:   "Webhooks: turns each news event into one delivery job per endpoint",
		FilterSubject: l.NewsSubjects(),
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 256,
	}
}
