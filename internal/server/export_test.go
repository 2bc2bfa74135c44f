package server

import (
	"context"
	"time"
)

// SetReadyCheck wraps the stream check behind /readyz and replaces the
// clock of its cache. Call it before the first GET /readyz.
func SetReadyCheck(s *Server, wrap func(check func(context.Context) error) func(context.Context) error, now func() time.Time) {
	s.ready.check = wrap(s.ready.check)
	s.ready.now = now
}
