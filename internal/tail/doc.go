// Package tail follows a Newsflash server's live feed, as a reader does, and
// prints one line per event: `newsflash tail`, for watching the feed from a
// terminal with nothing else installed.
//
// It reads GET /api/v1/sse with the reader's filter, resumes after a drop
// with Last-Event-ID and the welcome's epoch so that nothing is missed or
// printed twice, and reconnects with exponential back-off. Text from the
// server is printed as text: control characters and terminal escape
// sequences are removed (see Clean), so a hostile feed cannot drive the
// terminal.
//
// Concurrency: Run works in its caller's goroutine and returns when its
// context ends or the server refuses the request for good; it starts one
// timer per connection (the idle watchdog), stopped before the connection
// is left. A Printer is not safe for concurrent use.
package tail
