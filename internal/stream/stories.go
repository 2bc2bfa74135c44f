package stream

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// StoriesBucket holds the running stories (internal/story), one key per
// story slug.
func (l Layout) StoriesBucket() string { return l.NewsStream() + "_stories" }

// StoriesKVStream is the stream JetStream keeps StoriesBucket in.
func (l Layout) StoriesKVStream() string { return "KV_" + l.StoriesBucket() }

// storiesConfig is the bucket of stories: one key per slug, kept until it
// is deleted by hand (a closed story stays, so its slug is never reused
// and readers may still filter by it). Each value is one story (its titles
// are bounded), so 8 KiB holds the largest.
func (s *Stream) storiesConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:       s.Layout().StoriesBucket(),
		Description:  "Newsflash stories: running coverage threads that items belong to",
		History:      8,
		MaxValueSize: 8 << 10,
		Storage:      jetstream.FileStorage,
		Replicas:     s.cfg.Replicas,
	}
}

// Stories is the bucket of stories.
func (s *Stream) Stories(ctx context.Context) (jetstream.KeyValue, error) {
	return s.js.KeyValue(ctx, s.Layout().StoriesBucket())
}
