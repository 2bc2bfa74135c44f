// Package profile serves Go's runtime profiles (net/http/pprof) for
// operators measuring a running server. It is off unless an address is
// given, and meant for a loopback or otherwise private address: profiles
// show the program's internals, so they never share the public listener.
package profile

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// Handler serves /debug/pprof/ and its profiles. Not /debug/pprof/cmdline:
// the command line may hold secrets passed as flags (the index still lists
// it; it answers 404).
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Server returns an http.Server for Handler with header and idle timeouts;
// writes are not bounded, since a CPU profile or trace streams for as long
// as it was asked to.
func Server() *http.Server {
	return &http.Server{Handler: Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
}
