package stream

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
)

// Follow reads the whole stream from its first retained event and then every
// new one, calling fn for each in stream order, once, on this goroutine. It
// calls caughtUp once, when it has handed over every event that was in the
// stream when it started. It returns when ctx ends.
//
// One ordered consumer serves the whole instance; it recovers by itself from
// NATS reconnects and leader changes, restarting after the last seq seen.
func (s *Stream) Follow(ctx context.Context, fn func(news.Event), caughtUp func()) error {
	var last uint64
	target, err := s.waitLastSeq(ctx)
	if err != nil {
		return err
	}
	signalled := false
	check := func() {
		if !signalled && last >= target {
			signalled = true
			caughtUp()
		}
	}
	check()
	for ctx.Err() == nil {
		cfg := jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{s.Layout().NewsSubjects()},
			DeliverPolicy:  jetstream.DeliverAllPolicy,
		}
		if last > 0 {
			cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			cfg.OptStartSeq = last + 1
		}
		cons, err := s.js.OrderedConsumer(ctx, s.Layout().NewsStream(), cfg)
		if err != nil {
			s.log.Warn("follow: create consumer", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(512), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
		if err != nil {
			s.log.Warn("follow: start consumer", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, it.Stop)
		s.followed.Store(last)
		wctx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			s.watchFollow(wctx, it)
		}()
		for {
			msg, err := it.Next()
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
					s.log.Warn("follow: consumer failed; restarting", "after_seq", last, "err", err)
				}
				break
			}
			meta, err := msg.Metadata()
			if err != nil {
				s.log.Error("follow: message without metadata", "subject", msg.Subject(), "err", err)
				continue
			}
			seq := meta.Sequence.Stream
			if seq <= last {
				continue
			}
			ev, err := decode(msg.Data(), seq)
			last = seq
			s.followed.Store(last)
			if err != nil {
				s.log.Error("follow: skipping undecodable event", "seq", seq, "err", err)
			} else {
				// What only the audit needs stays out of the live projection.
				ev.Client, ev.Before = "", nil
				fn(ev)
			}
			if !signalled && meta.NumPending == 0 {
				target = min(target, last)
			}
			check()
		}
		stopWatch()
		<-watched // Follow owns its watchdog: none outlives it
		it.Stop()
		stop()
	}
	return ctx.Err()
}

// watchFollow restarts the consumer when it has stopped delivering while
// the stream has moved on: after a NATS server is killed, an ordered
// consumer can wait for it to come back instead of moving to another one.
// While it lags like this the instance is not ready.
func (s *Stream) watchFollow(ctx context.Context, it jetstream.MessagesContext) {
	const every, patience = 2 * time.Second, 3
	t := time.NewTicker(every)
	defer t.Stop()
	prev, behind := s.followed.Load(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.followed.Load()
		head, err := s.LastSeq(ctx)
		if err == nil && head > cur && cur == prev {
			behind++
		} else {
			behind = 0
			s.stalled.Store(false)
		}
		prev = cur
		if behind >= 2 {
			s.stalled.Store(true)
		}
		if behind >= patience {
			s.log.Warn("follow: the consumer stopped delivering; starting a new one", "after_seq", cur, "stream_seq", head)
			it.Stop()
			return
		}
	}
}

// waitLastSeq asks for the stream's last seq until it answers or ctx ends.
func (s *Stream) waitLastSeq(ctx context.Context) (uint64, error) {
	for {
		seq, err := s.LastSeq(ctx)
		if err == nil {
			return seq, nil
		}
		s.log.Warn("follow: stream not reachable yet", "err", err)
		if !sleep(ctx, time.Second) {
			return 0, ctx.Err()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
