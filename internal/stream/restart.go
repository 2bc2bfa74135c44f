package stream

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Supervise runs fn in a goroutine counted in wg, restarting it a second
// after each failure, until ctx ends; what names the service in the log
// ("push", "webhook") and part the goroutine. Callers wait on wg to stop.
func Supervise(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger, what, part string, fn func(context.Context) error) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Warn(what+": restarting after failure", "part", part, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
}
