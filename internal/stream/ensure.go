package stream

import (
	"context"
	"errors"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// EnsureStream creates a stream, or updates it only when the settings that
// Newsflash manages differ. Updating an unchanged stream on every start is
// not free: it races in nats-server with consumers being created by other
// instances starting at the same time.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	str, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return js.CreateStream(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	have := str.CachedInfo().Config
	if slices.Equal(have.Subjects, cfg.Subjects) && have.Replicas == max(cfg.Replicas, 1) && have.MaxAge == cfg.MaxAge &&
		unlimited(have.MaxMsgs) == unlimited(cfg.MaxMsgs) && unlimited(have.MaxBytes) == unlimited(cfg.MaxBytes) &&
		unlimited(int64(have.MaxMsgSize)) == unlimited(int64(cfg.MaxMsgSize)) &&
		(cfg.Duplicates == 0 || have.Duplicates == cfg.Duplicates) && unlimited(have.MaxMsgsPerSubject) == unlimited(cfg.MaxMsgsPerSubject) &&
		have.Description == cfg.Description && have.DenyDelete == cfg.DenyDelete && have.DenyPurge == cfg.DenyPurge &&
		have.AllowDirect == cfg.AllowDirect && have.AllowRollup == cfg.AllowRollup {
		return str, nil
	}
	return js.UpdateStream(ctx, cfg)
}

// EnsureKeyValue opens a bucket, creating it, or updating it only when its
// settings differ (see EnsureStream).
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return js.CreateKeyValue(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, err
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if ok && st.TTL() == cfg.TTL && st.History() == int64(max(cfg.History, 1)) {
		sc := bs.StreamInfo().Config
		if sc.Replicas == max(cfg.Replicas, 1) && (cfg.MaxValueSize == 0 || sc.MaxMsgSize == cfg.MaxValueSize) {
			return kv, nil
		}
	}
	return js.UpdateKeyValue(ctx, cfg)
}

// unlimited maps the two spellings of "no limit" (0 in a request, -1 as
// the server reports it) to one.
func unlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}
