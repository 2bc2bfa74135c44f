package stream

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
)

// StoriesBucket holds the running stories (internal/story), one key per
// story slug.
func (l Layout) StoriesBucket() string { return l.NewsStream() + "_stories" }

// StoriesKVStream is the stream JetStream keeps StoriesBucket in. It is a
// source of the audit stream: every story change is an audit record.
func (l Layout) StoriesKVStream() string { return "KV_" + l.StoriesBucket() }

// StoryFromSubject is the story slug of a subject of StoriesKVStream (as
// its copies in the audit stream keep it), and false for any other
// subject.
func (l Layout) StoryFromSubject(subj string) (string, bool) {
	slug, ok := strings.CutPrefix(subj, "$KV."+l.StoriesBucket()+".")
	if !ok || !news.ValidStory(slug) {
		return "", false
	}
	return slug, true
}

// storiesConfig is the bucket of stories: one key per slug, kept until it
// is deleted by hand. As for the editor accounts, it keeps some history
// per key so the audit stream's copy does not miss a change replaced at
// once (a change, then a close) (a closed story stays, so its slug is never reused
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
