// Package stream is Newsflash's connection to NATS JetStream: it runs the
// embedded nats-server (the default; a client port it opens requires a user
// and password, generated once into a 0600 file when none is given) or
// connects to an external cluster,
// sets up the news stream, the idempotency and editor accounts key-value
// buckets and the audit stream (a server-side copy of the news stream and
// of the accounts bucket, kept longer), publishes
// events with optimistic concurrency, reads items back, and follows the
// stream with one ordered consumer per instance, handing every event, in
// stream order, to a single callback.
//
// It alone knows the NATS layout: Layout names every stream, bucket,
// consumer and subject, all derived from the news stream's name, and
// parses item subjects. Other packages that keep state on the same NATS
// (push, audit) ask it for names instead of spelling them.
//
// Construction: Open(ctx, Deps, Options); a zero Options field means the
// default, exported as a Default* constant.
//
// Goroutines: Open starts the embedded nats-server (its own goroutines)
// unless Options.URL names an external NATS, and the NATS client's; Close
// stops both and waits for the embedded server. Follow runs on its
// caller's goroutine and starts one watchdog goroutine per consumer it
// creates (watchFollow, which restarts a consumer that stopped delivering);
// Follow waits for each watchdog to end before it replaces its consumer or
// returns, and returns when its ctx ends, so whoever cancels that ctx stops
// both.
// Nothing else runs in the background.
//
// Concurrency: a *Stream is safe for concurrent use. Follow runs the callback
// on one goroutine, in order; the callback must not block for long, since
// nothing else moves while it runs.
package stream
