// Package bench is Newsflash's load tool: a client of the public API only
// (it imports news for JSON types, pushsink for the local push service and
// the FCM and APNs stand-ins fcmtest and apnstest, and no server package; it reads the server's GET /metrics as text). The
// command cmd/newsflash-bench runs it; the server never links it.
//
// Run plays one scenario against a server on this machine:
//
//   - idle: N WebSocket readers connect at a set rate and stay; it reports
//     the connect rate, handshake percentiles (dial to welcome frame), the
//     server's RSS per reader from /proc/<pid>/status and its CPU per
//     connect from /proc/<pid>/stat.
//   - fanout: N readers, then M items posted at R per second, each carrying
//     its send time in its text ("bench <unix-nano> <n> <run>"); it reports
//     delivered, missing and duplicated deliveries, latency percentiles,
//     deliveries per second and CPU per delivery.
//   - push: K Web Push subscriptions pointing at a local push service
//     (pushsink, decrypting a sample) registered over the API, then items
//     posted; it reports sends per second, the time from the first post to
//     the last send and CPU per send. With Config.Platforms android and ios
//     it also registers devices on the FCM and APNs stand-ins (StandIns,
//     started in this process) and reports each platform's sends and the
//     time from the 201 until 90 % and all of them were received.
//   - soak: for a set time, N WebSocket readers (no filter, backfill=0),
//     of which C a second close normally and reconnect at once with
//     since=<last seq>&epoch=<epoch>; posts at R per second, a share of them
//     corrected (PATCH, 1 s after) and retracted (DELETE, 2 s after), a
//     share in the filter of K push subscriptions of the local push
//     service. Each reader is a lineage across its connections: it must
//     receive every seq from its first welcome's to the stream's last, each
//     once, with the type of frame the tool's write made (see account). The
//     push service must get the final version of every pushed item once per
//     subscription (earlier versions at most once: the server skips a
//     version a newer one superseded). The server's goroutines, heap, RSS,
//     descriptors and WebSocket readers come from its GET /metrics (parsed
//     here, no client library) at the start, once the readers are
//     connected, at the end and after they left. The verdict (SoakFigures.OK)
//     asks for nothing lost or repeated and no growth of goroutines or
//     descriptors beyond the readers still connected (their cost measured
//     in the run) plus a small fixed allowance (see judge).
//
// Targets must be loopback addresses (127.0.0.0/8, ::1): the tool refuses
// anything else. Readers are spread over loopback source addresses with
// IP_BIND_ADDRESS_NO_PORT (on Linux), since one source address has about
// 28,000 ephemeral ports towards one server port. The tool measures its own
// CPU (/proc/self/stat) next to the server's, since both share the machine;
// /proc is Linux's: elsewhere (and with the newsflash_portable build tag)
// the figures of processes are left out.
// when the server runs in the same process (newsflash-bench --spawn) the
// two are one figure and the result says so (Result.Spawned).
//
// A server refuses load from a few addresses with its per-address limits
// (429) or its reader limit (503 server_full): the tool then stops at once
// with an error naming the serve flag to change (see limitFlags).
//
// Concurrency: Run is synchronous and owns everything it starts. Each
// reader has one goroutine, the only one touching its counters until Run
// has closed the connection and waited for the goroutine to end; the
// latency histogram and the delivery counter they share are atomic. A soak
// lineage likewise owns its account; its current connection is guarded by
// lineage.mu, which the churner takes to pick the connection it closes
// (the close handshake then runs outside the lock), and the cursor the
// drain reads is atomic. The push log's counts have their own mutex, never
// held while the sink works. Every wait is bounded: dials, reads of the
// welcome, posts and API calls have timeouts, reconnects give up after a
// few attempts, the churner's close handshakes in flight are bounded, and
// the drain after posting ends when all is delivered or nothing new
// arrived for Config.Drain. No locks are held across I/O.
package bench
