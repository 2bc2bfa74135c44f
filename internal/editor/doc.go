// Package editor is the newsroom's HTTP API on Gin: posting items,
// correcting and retracting them, the public item reads, the taxonomy, and
// the editors' bearer-token authentication.
//
// Writes go to the stream package and are answered only after JetStream has
// stored them; corrections use optimistic concurrency on the item's last
// seq, so concurrent editors on any instance never overwrite each other.
// Every event also carries, for the audit trail only, the editor's client
// address and, for a correction or retraction, the item as it was before.
// Lists are read from the history projection. The public reads take an
// optional editor token: editors read whole items, the public gets
// news.Item.Public (no staff names; a retracted item without its text and
// url). An Idempotency-Key publishes at most once, ever: its claim records
// the publication, so a retry after the item has left the stream is
// refused. The API reaches the stream through the Store interface
// (*stream.Stream), so its answers can be tested against a fake.
//
// Concurrency: the package starts no goroutine; handlers run on the HTTP
// server's. An *API is safe for concurrent use; it holds no lock of its own.
package editor
