// Package push delivers breaking news as Web Push notifications: the VAPID
// identity, the subscriptions (a JetStream key-value bucket shared by every
// instance, mirrored in memory for matching), and the dispatcher that turns
// each stream event into partitioned delivery jobs on a JetStream work queue,
// so that every instance takes a share and a crashed instance's unfinished
// jobs are completed by another. Each message is encrypted here (RFC 8291,
// encrypt.go) with a fresh key pair, and sent with a VAPID header signed once
// per push-service origin.
//
// Names: the buckets, the work queue, its subject and the consumers are
// named by the stream layout (Deps.Layout, from internal/stream), after the
// news stream, so two deployments with different stream names on one NATS
// keep apart; this package spells no NATS name.
//
// Construction: New(ctx, Deps, Options) checks its dependencies, defaults
// the options (a zero field means its default, exported as Default*) and
// creates or updates the buckets, the work queue and the planner's durable
// consumer; it starts no goroutine.
//
// Goroutines: Start runs five long-lived goroutines (the subscription
// watcher, the progress watcher, the receipts watcher, the planner and the
// job workers), each
// restarted after a failure; Stop cancels them and waits for them and for
// everything they started. The workers run one goroutine per job in hand
// (at most Options.Jobs) with a heartbeat goroutine each; a job runs one
// goroutine per push-service host it sends to, one per send in flight (at
// most Options.PerHost per host over all jobs) and one that saves its
// progress; a job waits for its sends and its saver, and the workers wait
// for their jobs, before returning. Nothing runs before Start or after
// Stop.
//
// Receipts (receipt.go, receipts.go): every alert payload carries a token
// MACed under a key all instances share (its own bucket); POST
// /api/v1/push/receipts counts each (receipt, event) once in the receipts
// bucket, and every instance's receipts watcher adds them up per item for
// the stats. Only counts are kept.
//
// Concurrency: a *Service is safe for concurrent use. The subscription
// index has its own lock (index.mu), which also guards its count of
// subscriptions per distinct filter (Audience); SendTest sends on the
// caller's goroutine. A Subscription in it is never
// modified (a change replaces it), so jobs read it, its decoded keys
// included, without a lock, and hold no lock while sending.
// Sends run with bounded concurrency per push-service host, so one slow
// service does not hold back the others.
//
// Preferences (prefs.go, decider.go): each job's decider says, from the
// event, the subscription and the alerts of the past day in history alone,
// whether an alert is sent or held back (min_priority, quiet hours, the
// cap), so every instance and a job redone decide the same without I/O per
// send. A decider belongs to its job's goroutine. Lock order: index.mu,
// then the history's (match asks the decider under index.mu).
package push
