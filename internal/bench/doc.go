// Package bench is Newsflash's load tool: a client of the public API only
// (it imports news for JSON types and pushsink for the local push service,
// and no server package).
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
//     the last send and CPU per send.
//   - soak: not yet (a later issue).
//
// Targets must be loopback addresses (127.0.0.0/8, ::1): the tool refuses
// anything else. Readers are spread over loopback source addresses with
// IP_BIND_ADDRESS_NO_PORT, since one source address has about 28,000
// ephemeral ports towards one server port. The tool measures its own CPU
// (/proc/self/stat) next to the server's, since both share the machine;
// when the server runs in the same process (newsflash bench --spawn) the
// two are one figure and the result says so (Result.Spawned).
//
// Concurrency: Run is synchronous and owns everything it starts. Each
// reader has one goroutine, the only one touching its counters until Run
// has closed the connection and waited for the goroutine to end; the
// latency histogram and the delivery counter they share are atomic. Every
// wait is bounded: dials, reads of the welcome, posts and API calls have
// timeouts, and the drain after posting ends when all is delivered or
// nothing new arrived for Config.Drain. No locks are held across I/O.
package bench
