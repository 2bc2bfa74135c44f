// Package history keeps an in-memory projection of the news stream: the
// recent events in stream order (for readers resuming with since), and every
// item in its current version (for backfill and the public item list).
//
// Concurrency: the package starts no goroutine of its own. One goroutine, the stream follower, calls Append in stream
// order; any number of goroutines read; WaitFor returns when its context
// ends. A Log has one lock (mu); callers
// that hold their own lock while reading the Log (the live hub does) take
// theirs first, and Append is never called while holding a lock a reader
// might wait for.
package history
