// Package live is the reader side of Newsflash: the Hub that hands every
// stream event to the readers whose filter matches, and the WebSocket and
// SSE handlers that carry them.
//
// Each reader has a bounded send queue and exactly one writer goroutine (its
// handler). The hub never blocks on a reader: a reader whose queue is full is
// closed as a slow consumer (WebSocket status 1008) and resumes from history
// with since. Readers with equal filters share a group, matched once per
// event, and every frame is encoded once per event, not once per reader.
//
// Lock order: Hub.mu, then history.Log's lock, then reader.mu. Deliver is
// called by the stream follower alone, after history.Log.Append.
package live
