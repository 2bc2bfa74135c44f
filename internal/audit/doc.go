// Package audit reads Newsflash's audit trail and serves it to editors at
// GET /api/v1/audit.
//
// The trail is not written here: it is the audit stream the stream package
// sets up, a JetStream-sourced copy of the news stream kept for its own
// period (--audit-max-age). Every event the news stream stores is copied
// there by the NATS server itself, with what the editor API put in it for
// the audit only: the client address and, for corrections and retractions,
// the item as it was before. Copies keep their subjects, so reading one
// item's trail is a subject filter. The buckets of editor accounts,
// scheduled items and stories are copied the same way, so each change of
// one is a record (editor_*, schedule*, story_*).
//
// A query reads oldest first, from an RFC 3339 time (since) or from a
// cursor, with an ordered consumer on the audit stream, and stops after a
// page of records or a bounded number of events read (Options.MaxScan),
// whichever comes first; the answer carries the cursor to go on from.
//
// The audit stream's name and the item subjects come from the stream
// layout (Deps.Layout); this package spells no NATS name.
//
// Construction: New(Deps, Options); a zero Options field means its default.
//
// Goroutines: none. A query runs on its caller's goroutine and deletes its
// consumer before it returns.
//
// Concurrency: a *Trail keeps no state beyond its configuration and is
// safe for concurrent use; each query uses its own consumer.
package audit
