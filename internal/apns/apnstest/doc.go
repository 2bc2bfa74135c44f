// Package apnstest is a local stand-in for the APNs provider API, for tests
// and the bench tool: HTTP/2 over TLS only, with its own certificate
// authority, checking the provider token (ES256, verified with the public
// half of Key, by golang-jwt: an implementation independent of the
// client's) and every header and body field Newsflash sends, and answering
// in APNs' own words. Tests script answers per device token (FailNext,
// Always, Queue) and read what was accepted (Notifications).
//
// Goroutines: Start runs the HTTP/2 server (its accept loop, and the
// standard library's goroutines per connection and stream); Close stops
// them and waits for the accept loop. A *Server is safe for concurrent use.
package apnstest
