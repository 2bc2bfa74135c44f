// Package server assembles one Newsflash instance: it locks the data
// directory (internal/datadir) for as long as it runs, opens the news stream
// (embedded NATS or an external cluster), follows it into the history
// projection and the live hub, builds the Gin engine with its routes and
// middleware, serves HTTP, and stops everything in order on Shutdown.
//
// Concurrency: New starts one goroutine, the stream follower, which Shutdown
// stops; Serve runs the HTTP server on the caller's goroutine.
package server
