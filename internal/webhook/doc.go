// Package webhook sends partners (newsroom tools, partner sites) each news
// event as a signed Standard Webhooks 1.0 POST.
//
// Admins register endpoints (api.go): a URL, a filter, the event types
// wanted and whether only alerts count. Endpoints live in a JetStream
// key-value bucket shared by every instance, with their signing secrets
// (the current one, and after a rotation the previous one for 24 h).
//
// Delivery is durable and spread over instances, like Web Push: a planner
// (a durable consumer on the news stream, one for all instances) turns
// each event into one job per matching endpoint on a work queue, with a
// message id of (event seq, endpoint) so a plan redone after a crash adds
// no job twice; the workers of every instance take jobs, POST them through
// the pushpolicy client (public https addresses only, no redirects) and
// ack on 2xx, retry other answers and timeouts with exponential back-off
// and jitter (Backoff) for Options.RetryFor, and disable the endpoint on
// 410. Counts per endpoint are kept in a second bucket.
//
// Goroutines: none until Start; Start runs three, each restarted after a
// failure until Stop: the endpoints watch (loads the endpoints, then keeps
// the planner's view of them), the planner (once they are loaded), and the
// workers' loop, which runs each job on a goroutine of its
// own (at most Options.Workers at once). Stop ends them all and waits; jobs
// in flight come back to some instance after the work queue's ack wait.
package webhook
