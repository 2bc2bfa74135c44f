package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrIncompatible: a stream exists with settings that cannot be changed in
// place (storage, retention, subjects). Nothing was changed.
var ErrIncompatible = errors.New("existing stream is incompatible")

// EnsureStream creates a stream, or reconciles an existing one with cfg
// without losing data:
//   - storage, retention and subjects must match, else ErrIncompatible;
//   - limits that would drop stored messages (a shorter MaxAge, fewer MaxMsgs,
//     a smaller MaxBytes) are not applied: the larger existing value is kept
//     and a warning logged;
//   - other differences (replicas, larger limits, the duplicate window, the
//     streams it sources from) are applied.
//
// An unchanged stream is not updated at all: an update on every start races
// in nats-server with consumers being created by other instances.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, log *slog.Logger) (jetstream.Stream, error) {
	str, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return js.CreateStream(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	have := str.CachedInfo().Config
	if have.Storage != cfg.Storage || have.Retention != cfg.Retention || !slices.Equal(have.Subjects, cfg.Subjects) {
		return nil, fmt.Errorf("%w: stream %s has storage %s, retention %s, subjects %v; Newsflash needs %s, %s, %v; migrate it by hand",
			ErrIncompatible, cfg.Name, have.Storage, have.Retention, have.Subjects, cfg.Storage, cfg.Retention, cfg.Subjects)
	}
	keep := func(what string, haveV, wantV int64, set func()) {
		if unlimited(haveV) == -1 && unlimited(wantV) != -1 || unlimited(wantV) != -1 && wantV < haveV {
			log.Warn("not shrinking a stream limit, which would delete stored events; change it by hand if you mean it",
				"stream", cfg.Name, "limit", what, "kept", haveV, "asked", wantV)
			set()
		}
	}
	keep("max_age", int64(have.MaxAge), int64(cfg.MaxAge), func() { cfg.MaxAge = have.MaxAge })
	keep("max_msgs", have.MaxMsgs, cfg.MaxMsgs, func() { cfg.MaxMsgs = have.MaxMsgs })
	keep("max_bytes", have.MaxBytes, cfg.MaxBytes, func() { cfg.MaxBytes = have.MaxBytes })
	if sameStream(have, cfg) {
		return str, nil
	}
	if have.Replicas != max(cfg.Replicas, 1) {
		log.Info("changing stream replicas", "stream", cfg.Name, "from", have.Replicas, "to", cfg.Replicas)
	}
	return js.UpdateStream(ctx, cfg)
}

func sameStream(have, cfg jetstream.StreamConfig) bool {
	return have.Replicas == max(cfg.Replicas, 1) && have.MaxAge == cfg.MaxAge &&
		unlimited(have.MaxMsgs) == unlimited(cfg.MaxMsgs) && unlimited(have.MaxBytes) == unlimited(cfg.MaxBytes) &&
		unlimited(int64(have.MaxMsgSize)) == unlimited(int64(cfg.MaxMsgSize)) &&
		(cfg.Duplicates == 0 || have.Duplicates == cfg.Duplicates) && unlimited(have.MaxMsgsPerSubject) == unlimited(cfg.MaxMsgsPerSubject) &&
		have.Description == cfg.Description && have.DenyDelete == cfg.DenyDelete && have.DenyPurge == cfg.DenyPurge &&
		have.AllowDirect == cfg.AllowDirect && have.AllowRollup == cfg.AllowRollup && have.Discard == cfg.Discard &&
		sameSources(have.Sources, cfg.Sources)
}

// sameSources compares what Newsflash sets of a stream's sources.
func sameSources(have, want []*jetstream.StreamSource) bool {
	if len(have) != len(want) {
		return false
	}
	for i, w := range want {
		h := have[i]
		if h.Name != w.Name || h.FilterSubject != w.FilterSubject || h.OptStartSeq != w.OptStartSeq ||
			len(h.SubjectTransforms) != len(w.SubjectTransforms) || (h.External == nil) != (w.External == nil) {
			return false
		}
	}
	return true
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
