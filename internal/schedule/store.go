package schedule

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/stream"
)

// Get reads an item's record from the bucket (not from memory): its
// revision is the one to pass to Update. No record: stream.ErrNotFound.
func (s *Scheduler) Get(ctx context.Context, id string) (stream.Scheduled, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return stream.Scheduled{}, 0, stream.ErrNotFound
	}
	if err != nil {
		return stream.Scheduled{}, 0, fmt.Errorf("%w: read scheduled item %s: %v", stream.ErrUnavailable, id, err)
	}
	r, err := stream.DecodeScheduled(e.Value())
	if err != nil {
		return stream.Scheduled{}, 0, err
	}
	return r, e.Revision(), nil
}

// Create stores a new record; stream.ErrExists if the item has one.
func (s *Scheduler) Create(ctx context.Context, r stream.Scheduled) (uint64, error) {
	val, err := stream.EncodeScheduled(r)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	rev, err := s.kv.Create(ctx, r.Item.ID, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, stream.ErrExists
	}
	if err != nil {
		return 0, fmt.Errorf("%w: store scheduled item %s: %v", stream.ErrUnavailable, r.Item.ID, err)
	}
	s.apply(r.Item.ID, &r, rev)
	return rev, nil
}

// Update replaces the record at revision rev with r; if it has changed
// since, nothing is written and the error is stream.ErrConflict.
func (s *Scheduler) Update(ctx context.Context, r stream.Scheduled, rev uint64) (uint64, error) {
	val, err := stream.EncodeScheduled(r)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	next, err := s.kv.Update(ctx, r.Item.ID, val, rev)
	if err != nil {
		var jerr jetstream.JetStreamError
		if errors.As(err, &jerr) && jerr.APIError() != nil && jerr.APIError().ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return 0, stream.ErrConflict
		}
		return 0, fmt.Errorf("%w: update scheduled item %s: %v", stream.ErrUnavailable, r.Item.ID, err)
	}
	s.apply(r.Item.ID, &r, next)
	return next, nil
}
