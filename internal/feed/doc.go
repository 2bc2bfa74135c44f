// Package feed serves the live items as syndication feeds: JSON Feed 1.1
// (GET /feeds/items.json), Atom 1.0 (/feeds/items.atom) and RSS 2.0
// (/feeds/items.rss), each with the readers' filters (regions, topics,
// langs, stories) and a limit.
//
// A feed is read from the in-memory history (history.Log), never from
// JetStream: the newest live items that match, newest first, each in its
// current version and public form; retracted items are left out. Answers
// carry a strong ETag (a hash of the listed versions, the filter, the limit,
// the format and the public URL) and Last-Modified, and conditional
// requests are answered 304 before anything is encoded. Each feed names a
// WebSub hub (<public URL>/websub, served by a later part) and itself in
// Link headers and in the document.
//
// Concurrency: the package starts no goroutine. Handlers run on the HTTP
// server's goroutines and only read the Log (which has its own lock) and
// the Feeds' fields, which are set at construction and never change.
package feed
