// Package editor is the newsroom's HTTP API on Gin: posting items,
// correcting and retracting them, the public item reads, the taxonomy, and
// the editors' bearer-token authentication with roles (reporter, editor,
// admin), and the editor accounts made at runtime (accounts.go: the
// admin-only /api/v1/editors API over a JetStream key-value bucket).
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
// refused. A dry run (dry_run=true, dryrun.go) checks a POST or PATCH as
// the real one, stores nothing and reports the item, the audience of its
// alert per alert channel (Deps.Channels) and the flood guard's verdict;
// test_to sends a test notification through the channel that knows the
// subscription. The API reaches the stream through the Store interface
// (*stream.Stream), so its answers can be tested against a fake.
//
// Accounts: every instance keeps the runtime accounts in memory, from a
// watch of the bucket, so a revoked or rotated token is refused everywhere
// once the change reaches the instance (milliseconds); its own changes are
// applied at once. Tokens are stored only as SHA-256 hashes. Editors from
// the file, the environment or the bootstrap token (static) are fixed.
//
// Concurrency: OpenAccounts starts one goroutine, which applies the
// bucket's changes; Accounts.Close stops it and waits for it. Otherwise the
// package starts no goroutine; handlers run on the HTTP server's. An *API
// is safe for concurrent use; it holds no lock of its own. An *Accounts is
// safe for concurrent use; its one lock (mu) guards the accounts map and is
// never held while calling out.
package editor
