// Package apns sends notifications to iOS devices through the Apple Push
// Notification service (APNs) provider API: HTTP/2 over TLS, authenticated
// with a provider token (an ES256 JSON Web Token signed with the team's .p8
// key). It knows nothing of JetStream or the push pipeline: the pipeline
// hands it one Message per device and sorts the Result (sent, retry,
// remove the device, failed).
//
// Connections: Apple treats connection churn as abuse, so a Client keeps a
// few long-lived HTTP/2 connections (Options.Conns, one per transport,
// requests spread over them in turn); each transport honours the server's
// stream limit instead of opening more connections, closes none for being
// idle, and pings a connection that has been silent to notice a dead one.
//
// Provider token: made on first use, reused by every request and connection,
// renewed once it is RenewAfter old (Apple refuses a token older than an
// hour and answers TooManyProviderTokenUpdates to one renewed within 20
// minutes). One renewal runs at a time; a 403 ExpiredProviderToken renews a
// token at least MinRenewal old and retries the send once.
//
// Goroutines: the package starts none of its own. The standard library's
// HTTP/2 transports run a reader goroutine per connection; Close closes the
// connections and so ends them. Send runs on the caller's goroutine and is
// safe for concurrent use.
package apns
