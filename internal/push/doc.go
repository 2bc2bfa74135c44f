// Package push delivers breaking news as Web Push notifications: the VAPID
// identity, the subscriptions (a JetStream key-value bucket shared by every
// instance, mirrored in memory for matching), and the dispatcher that turns
// each stream event into partitioned delivery jobs on a JetStream work queue,
// so that every instance takes a share and a crashed instance's unfinished
// jobs are completed by another. Each message is encrypted here (RFC 8291,
// encrypt.go) with a fresh key pair, and sent with a VAPID header signed once
// per push-service origin.
//
// Concurrency: a *Service is safe for concurrent use. Start runs its
// goroutines (subscription watcher, planner, job workers); Stop ends them and
// waits. The subscription index has its own lock (index.mu); a Subscription
// in it is never modified (a change replaces it), so jobs read it, its
// decoded keys included, without a lock, and hold no lock while sending.
// Sends run with bounded concurrency per push-service host, so one slow
// service does not hold back the others.
package push
