package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// job is one event's delivery to one endpoint. Body is the exact request
// body, the same on every attempt.
type job struct {
	Seq       uint64          `json:"seq"`
	Endpoint  string          `json:"endpoint"`
	PlannedAt time.Time       `json:"planned_at"`
	Body      json.RawMessage `json:"body"`
}

// message is a delivery's body.
type message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      news.Item `json:"data"`
}

// plannerConfig is the planner's durable consumer (stream.Open makes it
// before the server takes any post).
func (s *Service) plannerConfig() jetstream.ConsumerConfig {
	return stream.WebhookPlannerConfig(s.cfg.Layout)
}

// plan follows the news stream with a durable consumer shared by all
// instances and turns every event into a job per endpoint that wants it.
// Job ids are (seq, endpoint), so a plan redone after a crash is dropped
// by the work queue's duplicate window; an event is acked only once its
// jobs are stored.
func (s *Service) plan(ctx context.Context) error {
	cons := s.planner
	s.planner = nil // after a failure: open it again
	if cons == nil {
		var err error
		if cons, err = s.ensureConsumer(ctx, s.cfg.Layout.NewsStream(), s.plannerConfig()); err != nil {
			return fmt.Errorf("planner consumer: %w", err)
		}
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
		ev, err := stream.DecodeEvent(msg.Data(), meta.Sequence.Stream)
		if err != nil {
			s.log.Error("webhook: planner skips an undecodable event", "seq", meta.Sequence.Stream, "err", err)
			_ = msg.Term()
			continue
		}
		if err := s.publishJobs(ctx, s.jobsFor(&ev)); err != nil {
			s.log.Warn("webhook: planning failed; will retry", "seq", ev.Seq, "err", err)
			_ = msg.NakWithDelay(time.Second)
			continue
		}
		if err := msg.DoubleAck(ctx); err != nil {
			s.log.Warn("webhook: planner ack", "seq", ev.Seq, "err", err)
		}
	}
}

// jobsFor are the event's jobs, one per endpoint that wants it. What an
// endpoint gets follows news.Filter.Delivery: a correction that moves the
// item out of its filter is item.retracted for it.
func (s *Service) jobsFor(ev *news.Event) []job {
	bodies := map[string]json.RawMessage{}
	now := s.cfg.Now().UTC()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var jobs []job
	for id, ep := range s.known {
		f := ep.Filter.news()
		kind, ok := f.Delivery(ev.Type, &ev.Item, ev.Before)
		if !ok || !ep.wants(typeOf[kind], ev.Pushes()) {
			continue
		}
		body, ok := bodies[kind]
		if !ok {
			body, _ = json.Marshal(message{Type: typeOf[kind], Timestamp: ev.Item.UpdatedAt.UTC(), Data: ev.Item.Public()})
			bodies[kind] = body
		}
		jobs = append(jobs, job{Seq: ev.Seq, Endpoint: id, PlannedAt: now, Body: body})
	}
	return jobs
}

// publishJobs stores the jobs and counts those the queue had not seen.
func (s *Service) publishJobs(ctx context.Context, jobs []job) error {
	if len(jobs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(jobs))
	for _, j := range jobs {
		data, err := json.Marshal(j)
		if err != nil {
			return err
		}
		f, err := s.cfg.JetStream.PublishAsync(s.cfg.Layout.WebhookJobsSubject(), data, jetstream.WithMsgID(MessageID(j.Seq, j.Endpoint)))
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if !ack.Duplicate {
				s.count(ctx, jobs[i].Endpoint, func(st *Stats) { st.Planned++ })
			}
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
