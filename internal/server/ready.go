package server

import (
	"context"
	"time"
)

// readyTTL is how long /readyz reuses the stream's answer.
const readyTTL = time.Second

// readiness is the stream check behind /readyz, asked at most once per
// readyTTL whatever the number of callers: the check is a JetStream request,
// and /readyz is open to anyone. Callers that come while a check runs wait
// for it and share its answer. An answer is kept for readyTTL from when it
// came, a failure too.
type readiness struct {
	// Set at construction (tests replace them before serving).
	check func(context.Context) error
	now   func() time.Time

	turn chan struct{} // one slot: held while reading or refreshing the answer

	// Guarded by turn.
	at  time.Time // when err came; zero before the first check
	err error
}

func newReadiness(check func(context.Context) error) *readiness {
	return &readiness{check: check, now: time.Now, turn: make(chan struct{}, 1)}
}

// get returns the stream's readiness, asking the stream if the last answer
// is older than readyTTL. A caller whose ctx ends while it waits for another
// caller's check gets ctx's error.
func (r *readiness) get(ctx context.Context) error {
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.turn }()
	if !r.at.IsZero() && r.now().Sub(r.at) < readyTTL {
		return r.err
	}
	// The answer is shared: it must not fail because this caller left.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	r.err = r.check(cctx)
	r.at = r.now()
	return r.err
}
