// Package pushpolicy is the Web Push endpoint policy that keeps Newsflash
// from being used for server-side request forgery (SSRF).
//
// A browser hands us a push subscription whose endpoint is a URL we will
// later POST to. Left unchecked, that URL could point at the cloud metadata
// service, an admin port on localhost or any host on the private network.
// The policy defends in three layers:
//
//   - CheckEndpoint, at subscribe time: the endpoint must be an https URL on
//     port 443 whose parsed host is a DNS name on the allow list of push
//     services (never an IP literal, never user info or a fragment).
//   - The RoundTripper of Client, at send time: every request URL passes the
//     same host, scheme and port rules again before anything is dialled, so
//     a stored endpoint that was never checked, or a redirect, cannot escape.
//   - The dialer of Client, after DNS resolution: a connection to a loopback,
//     private, link-local, CGNAT, multicast or otherwise non-public address is
//     refused before it is made (DNS rebinding defence).
//
// InsecureTestEndpoints opens exact host:port pairs, over http too, for tests
// and local benchmarks only.
//
// Concurrency: a *Policy is immutable after New and safe for concurrent use
// by any number of goroutines. Client returns the same *http.Client on every
// call; it is shared by all sends and must not be modified.
package pushpolicy
