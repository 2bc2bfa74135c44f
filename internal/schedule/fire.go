package schedule

import (
	"context"
	"errors"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// fire claims a due record and publishes it, or marks it missed. Losing
// the claim to another instance is the normal case and ends here: the
// watch brings the winner's record.
func (s *Scheduler) fire(e entry) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*s.opts.Timeout)
	defer cancel()
	now := s.now().UTC().Truncate(time.Millisecond)
	r := e.rec
	takeover := r.Status == stream.SchedPublishing
	r.Status, r.Action, r.By, r.Client, r.Before = stream.SchedPublishing, stream.ScheduleClaim, "", "", nil
	r.ClaimedAt, r.Instance, r.At = &now, s.instance, now
	rev, err := s.Update(ctx, r, e.rev)
	if errors.Is(err, stream.ErrConflict) {
		return
	}
	if err != nil {
		// NATS is away: the record stays due and is tried again when
		// the watch or the timer comes round (after ClaimTimeout for a
		// record claimed before).
		s.log.Warn("scheduler: could not claim a due item", "id", r.Item.ID, "err", err)
		s.retryLater(e)
		return
	}
	if takeover {
		s.log.Info("scheduler: took over a stale claim", "id", r.Item.ID, "claimed_by", e.rec.Instance)
	}
	s.publish(ctx, r, rev)
}

// retryLater keeps a record whose claim failed from firing at once again
// in a loop: it is due again after ClaimTimeout.
func (s *Scheduler) retryLater(e entry) {
	at := s.now().Add(s.opts.ClaimTimeout - s.opts.ClaimTimeout/4)
	s.mu.Lock()
	if cur, ok := s.recs[e.rec.Item.ID]; ok && cur.rev == e.rev {
		cur.rec.Status, cur.rec.ClaimedAt = stream.SchedPublishing, &at
		s.recs[e.rec.Item.ID] = cur
	}
	s.mu.Unlock()
}

// publish publishes a record this instance has claimed (at rev) and marks
// it published, or missed when it is too late. It looks in the news
// stream first: a claim taken over may have published before its owner
// died.
func (s *Scheduler) publish(ctx context.Context, r stream.Scheduled, rev uint64) {
	id := r.Item.ID
	if cur, err := s.pub.Current(ctx, id); err == nil {
		s.markPublished(ctx, r, rev, cur.PublishedSeq, cur.PublishedAt)
		return
	} else if !errors.Is(err, stream.ErrNotFound) {
		s.log.Warn("scheduler: could not read the news stream; the claim runs out and is tried again", "id", id, "err", err)
		return
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	late := now.Sub(*r.Item.PublishAt)
	if s.opts.MaxLate >= 0 && late > s.opts.MaxLate {
		r.Status, r.Action, r.At = stream.SchedMissed, stream.ScheduleMiss, now
		r.Item.Status = news.StatusMissed
		if _, err := s.Update(ctx, r, rev); err != nil {
			s.log.Warn("scheduler: could not mark a missed item; the claim runs out and is tried again", "id", id, "err", err)
			return
		}
		s.met.ScheduledMissed.Inc()
		s.log.Warn("scheduled item missed: no instance ran at its publish_at; not published",
			"id", id, "publish_at", r.Item.PublishAt.Format(time.RFC3339), "late", late.Round(time.Second), "max_late", s.opts.MaxLate, "editor", r.Item.Editor)
		return
	}
	it := r.Item
	it.Status, it.Version = news.StatusLive, 1
	it.PublishedAt, it.UpdatedAt, it.UpdatedBy = now, now, ""
	it.AlertedAt = nil
	if it.Alert {
		it.AlertedAt = &now
	}
	ev := news.Event{Type: news.EventItem, Item: it, Alert: it.Alert, Client: r.Client, Confirmed: r.Confirmed}
	seq, dup, err := s.pub.Publish(ctx, ev, 0, id)
	if dup || errors.Is(err, stream.ErrConflict) {
		// Published already (by an owner that died before marking it).
		cur, err := s.pub.Current(ctx, id)
		if err != nil {
			s.log.Warn("scheduler: published already but not readable; the claim runs out and is tried again", "id", id, "err", err)
			return
		}
		s.markPublished(ctx, r, rev, cur.PublishedSeq, cur.PublishedAt)
		return
	}
	if err != nil {
		s.log.Warn("scheduler: could not publish a due item; the claim runs out and is tried again", "id", id, "err", err)
		return
	}
	s.met.ScheduledPublished.Inc()
	s.log.Info("scheduled item published", "id", id, "seq", seq, "editor", it.Editor, "alert", it.Alert,
		"publish_at", it.PublishAt.Format(time.RFC3339Nano), "late", late)
	s.markPublished(ctx, r, rev, seq, now)
}

// markPublished records that the item is in the news stream at seq.
func (s *Scheduler) markPublished(ctx context.Context, r stream.Scheduled, rev, seq uint64, at time.Time) {
	r.Status, r.Action, r.Seq, r.At = stream.SchedPublished, stream.SchedulePublish, seq, s.now().UTC().Truncate(time.Millisecond)
	r.Item.PublishedAt = at
	if _, err := s.Update(ctx, r, rev); err != nil {
		// Another instance took the claim over meanwhile; it finds the
		// item in the stream and marks it.
		s.log.Warn("scheduler: published item not marked as published", "id", r.Item.ID, "err", err)
	}
}
