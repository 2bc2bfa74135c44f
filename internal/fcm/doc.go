// Package fcm sends notifications to Android apps through Firebase Cloud
// Messaging's HTTP v1 API: one message per device token, authorised by an
// OAuth 2.0 access token that a Google service account obtains with a signed
// JWT (RFC 7523). It knows nothing of JetStream or the push pipeline: the
// pipeline builds a Message, calls Send and acts on the Result (send, retry
// later, remove the device, or count a failure).
//
// Construction: LoadCredentials reads the service-account JSON; New(Deps,
// Options) checks the endpoint and defaults the options (a zero field means
// its default, exported as Default*). It starts no goroutine.
//
// Goroutines: none of its own. Send runs on the caller's goroutine; the
// HTTP client's transport keeps its connections (and, for HTTP/2, a reader
// goroutine per connection) until they idle out, or until Close for the
// client's own HTTP client (an injected one is closed by its owner).
//
// Concurrency: a *Client is safe for concurrent use. The access token is
// shared: reading it takes no lock (an atomic pointer); when it is missing
// or due, one caller fetches a new one while the others wait for that fetch
// (tokenCache.mu guards only who fetches). A 401 drops the token that was
// refused, so the next caller fetches a new one, and Send tries once more.
//
// Secrets: access tokens and the private key are never logged, and
// Credentials prints without its key.
package fcm
