package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// LoadWatch watches every key of a bucket and applies, on the caller's
// goroutine, what the bucket held when the watch began (up to the watch's
// nil marker). The watch lives on after ctx (start-up) ends: the caller
// follows its later updates and stops it. what names the bucket's content
// in errors ("stories").
func LoadWatch(ctx context.Context, kv jetstream.KeyValue, what string, apply func(jetstream.KeyValueEntry)) (jetstream.KeyWatcher, error) {
	w, err := kv.WatchAll(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", what, err)
	}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch %s: %w", what, errors.New("ended while loading"))
			}
			if e == nil {
				return w, nil
			}
			apply(e)
		case <-ctx.Done():
			_ = w.Stop()
			return nil, fmt.Errorf("load %s: %w", what, ctx.Err())
		}
	}
}
