// Package pushsink is a local Web Push service: it plays the part that FCM
// or Mozilla autopush play in production, for Newsflash's end-to-end tests
// and its bench load tool.
//
// A Sink hands out subscriptions (Subscribe) whose endpoints point at
// itself, and keeps each subscription's private key. Every push it receives
// is checked the way a push service and a browser together would check it:
// the RFC 8030 headers (Content-Encoding: aes128gcm, TTL, Topic, Urgency),
// the VAPID Authorization header (RFC 8292: an ES256 JWT verified against
// k=, with aud, exp and sub checked), and the RFC 8291 encrypted body, which
// is really decrypted with the subscription's keys. Each request is recorded
// as a Message, accepted or refused with the reason; tests read them back
// with Messages, Count and Wait, and script answers with Respond and Gone.
//
// Concurrency: a Sink is safe for use by any number of goroutines; ServeHTTP
// runs concurrently for concurrent requests. One mutex (Sink.mu) guards the
// subscriptions, messages and counts; crypto and Response delays run outside
// it, so a delayed answer to one subscription never holds up another. The
// cache of verified VAPID tokens has a lock of its own, never held with
// Sink.mu. Wait blocks on a
// channel, not a timer, and returns when its context ends.
package pushsink
