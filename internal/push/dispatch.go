package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/history"
	"newsflash/internal/stream"
)

var errWatchClosed = errors.New("watch closed")

// job is one partition of one event's deliveries.
type job struct {
	Seq  uint64 `json:"seq"`
	Item string `json:"item"`
	P    int    `json:"p"`
}

func (j job) key() string {
	return j.Item + "." + strconv.FormatUint(j.Seq, 10) + "." + strconv.Itoa(j.P)
}

// plan follows the news stream with a durable consumer shared by all
// instances (each event goes to one of them) and turns every event that
// pushes (news.Event.Pushes: an alert, or a change of an alerted item) into
// one job per partition; events of ticker-only items are acked without
// jobs. Job ids are fixed by (seq, partition), so a plan redone after a
// crash is dropped by the work queue's duplicate window, and jobs already
// done are skipped by their progress record; an event acked only after its
// jobs are stored is never lost. An event it cannot decode is planned
// anyway: the jobs decide again (decider.decide) from history.
func (s *Service) plan(ctx context.Context) error {
	cons, err := s.ensureConsumer(ctx, s.cfg.Layout.NewsStream(), s.plannerConfig())
	if err != nil {
		return fmt.Errorf("planner consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(64), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.Term()
			continue
		}
		id, ok := s.cfg.Layout.ItemIDFromSubject(msg.Subject())
		if !ok {
			s.log.Error("push: planner skips a message that is not an item event", "subject", msg.Subject(), "seq", meta.Sequence.Stream)
			_ = msg.Term()
			continue
		}
		j := job{Seq: meta.Sequence.Stream, Item: id}
		if ev, err := stream.DecodeEvent(msg.Data(), j.Seq); err == nil && !ev.Pushes() {
			// A ticker-only item's event: no jobs. The event's bytes
			// decide, so a redelivery after a crash decides the same.
			if err := msg.DoubleAck(ctx); err != nil {
				s.log.Warn("push: planner ack", "seq", j.Seq, "err", err)
			}
			continue
		}
		if err := s.publishJobs(ctx, j); err != nil {
			s.log.Warn("push: planning failed; will retry", "seq", j.Seq, "err", err)
			_ = msg.NakWithDelay(time.Second)
			continue
		}
		if err := msg.DoubleAck(ctx); err != nil {
			s.log.Warn("push: planner ack", "seq", j.Seq, "err", err)
		}
	}
}

// plannerConfig is the planner's durable consumer. It starts with the
// events published after its creation, which New does before the server
// takes any post: so no event is published that it does not see.
func (s *Service) plannerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       s.cfg.Layout.PlannerConsumer(),
		Description:   "Web Push: splits each news event into delivery jobs",
		FilterSubject: s.cfg.Layout.NewsSubjects(),
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 256,
	}
}

func (s *Service) publishJobs(ctx context.Context, j job) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, s.cfg.Partitions)
	for p := 0; p < s.cfg.Partitions; p++ {
		j.P = p
		data, _ := json.Marshal(j)
		f, err := s.cfg.JetStream.PublishAsync(s.cfg.Layout.PushJobsSubject(), data, jetstream.WithMsgID(j.key()))
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ensureConsumer opens a durable consumer, creating it when it is missing;
// one that exists is left as it is (several instances start at once).
func (s *Service) ensureConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := s.cfg.JetStream.Consumer(ctx, stream, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return s.cfg.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
	}
	return c, err
}

// work takes jobs from the shared work queue, a few at a time.
func (s *Service) work(ctx context.Context) error {
	cons, err := s.ensureConsumer(ctx, s.cfg.Layout.PushJobsStream(), jetstream.ConsumerConfig{
		Durable:       s.cfg.Layout.PushWorkersConsumer(),
		Description:   "Web Push: delivery jobs, shared by all instances",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxAckPending: 4096,
	})
	if err != nil {
		return fmt.Errorf("worker consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(min(s.cfg.Jobs, 64)), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	sem := make(chan struct{}, s.cfg.Jobs)
	var running sync.WaitGroup
	defer running.Wait()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		running.Add(1)
		go func() {
			defer running.Done()
			defer func() { <-sem }()
			s.runJob(ctx, msg)
		}()
	}
}

// runJob does one job and acks it, or leaves it for redelivery when this
// instance stops first.
func (s *Service) runJob(ctx context.Context, msg jetstream.Msg) {
	var j job
	if err := json.Unmarshal(msg.Data(), &j); err != nil {
		s.log.Error("push: dropping undecodable job", "err", err)
		_ = msg.Term()
		return
	}
	// Tell the work queue the job is alive while it runs.
	beat := time.NewTicker(20 * time.Second)
	defer beat.Stop()
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		for {
			select {
			case <-jctx.Done():
				return
			case <-beat.C:
				_ = msg.InProgress()
			}
		}
	}()
	defer func() { cancel(); <-beating }()
	done, err := s.deliver(jctx, j)
	switch {
	case ctx.Err() != nil:
		// Stopping: the job comes back to someone after AckWait.
	case errors.Is(err, errProgressNotSaved):
		// Doing it again would send it all again, and fail the same way
		// (a bucket gone or refusing writes): end it, loudly.
		s.log.Error("push: job ended without its progress saved", "job", j.key(), "err", err)
		s.cfg.Metrics.PushJobsFailed.Inc()
		if err := msg.TermWithReason("final progress not saved"); err != nil {
			s.log.Warn("push: job term", "job", j.key(), "err", err)
		}
	case err != nil:
		s.log.Warn("push: job failed; will retry", "job", j.key(), "err", err)
		_ = msg.NakWithDelay(2 * time.Second)
	case !done:
		_ = msg.NakWithDelay(time.Second)
	default:
		if err := msg.DoubleAck(ctx); err != nil {
			s.log.Warn("push: job ack", "job", j.key(), "err", err)
		}
	}
}

// entryFor waits briefly for this instance's history to reach the job's
// event. ok is false when the event is not (or no longer) in history.
func (s *Service) entryFor(ctx context.Context, seq uint64) (e *history.Entry, ok bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.cfg.Log.WaitFor(wctx, seq); err != nil {
		return nil, false, fmt.Errorf("history has not reached seq %d: %w", seq, err)
	}
	e, ok = s.cfg.Log.Entry(seq)
	return e, ok, nil
}
