// Package schedule publishes scheduled items at their publish_at, exactly
// once across every instance on one NATS.
//
// Mechanism: a JetStream key-value bucket (stream.Layout.ScheduledBucket)
// holds one record per scheduled item (stream.Scheduled: the item, its
// publish_at, a status and, through the key's revision, a version to
// compare and set on). Every instance runs a Scheduler: it watches the
// bucket into memory and keeps one timer, for the earliest due record. At
// due time an instance claims the record with a compare-and-set update
// (status publishing, claimed_at, instance): of several instances only one
// wins. The winner publishes the item event exactly as a post does (news
// stream, Nats-Msg-Id = item id, expected last subject sequence 0), so
// neither a retry nor a second publisher can ever store it twice, then
// marks the record published (compare-and-set). A claim older than
// Options.ClaimTimeout whose owner died (or lost NATS) is taken over by
// any instance, which looks in the news stream first and only marks the
// record published when the item is there. A record due more than
// Options.MaxLate ago (no instance ran in time) becomes missed, logged at
// warn, and is not published.
//
// Editors' changes (schedule, edit, cancel: internal/editor) are
// compare-and-set updates that succeed only while the record's status is
// scheduled, so a cancel racing the timer either wins (the item is never
// published) or loses (the item goes live, and a DELETE retracts it as
// usual). The bucket's stream is a source of the audit stream, so every
// change is an audit record.
//
// Why not JetStream message scheduling (Nats-Schedule, nats-server 2.12
// and later): an external NATS may be older, and the server publishes the
// stored message as it is at fire time, so the missed rule, published_at
// (the actual time) and the alert decision could not be applied when it
// fires.
//
// Construction: New(Deps, Options); a zero Options field means its
// default.
//
// Goroutines: Start loads the bucket and starts one goroutine, which
// applies the watch's changes and runs the timer (claims and publishes run
// on it, one record at a time); Stop stops the watch, ends that goroutine
// and waits for it. A publish under way when Stop is called is bounded by
// Options.Timeout.
//
// Concurrency: a *Scheduler is safe for concurrent use. Its one lock (mu)
// guards the in-memory records and is never held while calling NATS.
package schedule
