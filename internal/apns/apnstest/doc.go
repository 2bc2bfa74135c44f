// Package apnstest is a local stand-in for the APNs provider API, for tests
// and the bench tool. It speaks the real protocol: HTTP/2 over TLS only (an
// HTTP/1.1 client fails the handshake), with its own certificate authority
// (Client, CertPool, WriteCA for SSL_CERT_FILE), answering in APNs' JSON
// ({"reason": …}, with "timestamp" on a 410) and echoing apns-id.
//
// It checks what APNs checks, in APNs' words: the provider token (ES256,
// verified with the public half of Key by golang-jwt, an implementation
// independent of the client's; kid KeyID, iss TeamID, iat at most
// TokenLifetime old by the stand-in's clock, SetClock), one token per
// connection, moved to a new one no sooner than TokenMinRenewal after the
// current one was first used (429 TooManyProviderTokenUpdates), the device
// token (64 to 200 hex digits), the body size (413 PayloadTooLarge). It
// also checks Newsflash's own conventions for every header and body field
// (issue 14 §3), answering 400 BadPayload or the nearest APNs reason;
// Rejections says what was wrong. Valid requests then get the answers
// scripted for their device token (FailNext, Queue, Always), or 200, and
// are kept for assertions (Notifications, unless SetRecord(false)).
// SetDelay slows every answer to a valid request.
//
// Goroutines: Start runs the HTTP/2 server (its accept loop, and the
// standard library's goroutines per connection and stream); Close stops
// them and waits for the accept loop. A *Server is safe for concurrent use.
package apnstest
