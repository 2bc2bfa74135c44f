// Package server assembles one Newsflash instance: it locks the data
// directory (internal/datadir) for as long as it runs, opens the news stream
// (embedded NATS or an external cluster), follows it into the history
// projection and the live hub, builds the Gin engine with its routes and
// middleware, serves HTTP, and stops everything in order on Shutdown.
//
// Goroutines: New starts the stream follower (stopped by Shutdown; if it
// stops on its own, it logs why at error level) and, through the packages
// it wires, the embedded NATS server and connection (stream), the watch of
// the editor accounts (editor.Accounts), the hub's writer workers (live)
// and, with Web Push on, the push service's workers (push); Shutdown stops
// each in turn. When a step of New fails, New stops
// what the earlier steps started and unlocks the data directory before it
// returns. Serve runs the HTTP server on the caller's goroutine; net/http
// starts one goroutine per connection, which end when the connection
// closes or Shutdown closes it. A connection over the per-address cap is
// closed on the accepting goroutine (conns.go).
package server
