// Package stream is Newsflash's connection to NATS JetStream: it runs the
// embedded nats-server (the default; a client port it opens requires a user
// and password, generated once into a 0600 file when none is given) or
// connects to an external cluster,
// sets up the news stream, the idempotency key-value bucket and the audit
// stream (a server-side copy of the news stream, kept longer), publishes
// events with optimistic concurrency, reads items back, and follows the
// stream with one ordered consumer per instance, handing every event, in
// stream order, to a single callback.
//
// Concurrency: a *Stream is safe for concurrent use. Follow runs the callback
// on one goroutine, in order; the callback must not block for long, since
// nothing else moves while it runs.
package stream
