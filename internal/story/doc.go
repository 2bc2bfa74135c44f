// Package story keeps the running stories: coverage threads such as "War
// on Gaza" that items belong to (news.Item.Story), that readers filter by
// (stories= on WebSocket, SSE and GET /api/v1/items) and follow for alerts.
// It serves /api/v1/stories: the open stories and each story with its
// newest items to everyone, creating, changing and closing them to editors
// (role editor or admin).
//
// Mechanism: a JetStream key-value bucket (stream.Layout.StoriesBucket)
// holds one key per story slug. Every instance watches the bucket into
// memory, so Open and Known (the news.Stories the editor API, the reader
// hub and push delivery check items and readers against) answer from
// memory on any instance once a change reaches it (milliseconds); an
// instance's own changes are applied at once. A slug is created with the
// bucket's create (of two racing instances one wins; the other answers 409
// story_exists), and changes and closing are compare-and-set on the key's
// revision. A closed story stays in the bucket: its slug is never reused
// and readers may still filter by it. The bound on open stories
// (Options.MaxOpen) is checked against what this instance knows, so two
// instances creating at once may pass it by one each.
//
// Construction: New(ctx, Deps, Options); a zero Options field means its
// default.
//
// Goroutines: Start loads the bucket and starts one goroutine, which
// applies the watch's changes; Stop ends the watch and that goroutine and
// waits for it. The server calls Start after New and Stop at shutdown.
// Handlers run on the HTTP server's goroutines.
//
// Concurrency: a *Store is safe for concurrent use. Its one lock (mu)
// guards the in-memory stories and is never held while calling NATS.
package story
