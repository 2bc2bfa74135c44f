package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/pushpolicy"
)

// UserAgent is sent with every delivery.
const UserAgent = "Newsflash-Webhooks/1"

// maxErrorChars bounds Last.Error.
const maxErrorChars = 200

// workersConfig is the durable consumer the workers of every instance
// share.
func (s *Service) workersConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       s.cfg.Layout.WebhookWorkersConsumer(),
		Description:   "Webhooks: delivery jobs, shared by all instances",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute, // longer than one delivery (the policy's timeout, 15 s)
		MaxDeliver:    -1,          // jobs end by their age (RetryFor), not by a count
		MaxAckPending: 4096,
	}
}

// work takes jobs from the shared work queue, Workers at a time.
func (s *Service) work(ctx context.Context) error {
	cons := s.workers
	s.workers = nil // after a failure: open it again
	if cons == nil {
		var err error
		if cons, err = s.ensureConsumer(ctx, s.cfg.Layout.WebhookJobsStream(), s.workersConfig()); err != nil {
			return fmt.Errorf("worker consumer: %w", err)
		}
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(min(s.cfg.Workers, 64)), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	sem := make(chan struct{}, s.cfg.Workers)
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

// runJob makes one delivery attempt and acks, retries or ends the job.
func (s *Service) runJob(ctx context.Context, msg jetstream.Msg) {
	var j job
	if err := json.Unmarshal(msg.Data(), &j); err != nil {
		s.log.Error("webhook: dropping undecodable job", "err", err)
		_ = msg.Term()
		return
	}
	ep, _, err := s.Get(ctx, j.Endpoint)
	switch {
	case errors.Is(err, ErrNotFound):
		_ = msg.TermWithReason("endpoint deleted")
		return
	case err != nil:
		if ctx.Err() == nil {
			s.log.Warn("webhook: endpoint not read; will retry", "id", j.Endpoint, "err", err)
			_ = msg.NakWithDelay(2 * time.Second)
		}
		return
	case ep.DisabledAt != nil:
		s.count(ctx, j.Endpoint, func(st *Stats) { st.Dropped++ })
		_ = msg.TermWithReason("endpoint disabled")
		return
	}
	now := s.cfg.Now()
	if now.Sub(j.PlannedAt) > s.cfg.RetryFor {
		s.log.Warn("webhook: delivery given up", "id", j.Endpoint, "seq", j.Seq, "url", pushpolicy.Redact(ep.URL))
		s.count(ctx, j.Endpoint, func(st *Stats) { st.Dropped++ })
		_ = msg.TermWithReason("retry time over")
		return
	}
	status, err := s.send(ctx, &ep, j, now)
	if ctx.Err() != nil {
		return // stopping: the job comes back after the ack wait
	}
	last := &Last{At: now.UTC(), Status: status, OK: err == nil && status/100 == 2}
	if err != nil {
		last.Error = describe(err)
	}
	switch {
	case last.OK:
		s.count(ctx, j.Endpoint, func(st *Stats) { st.Delivered++; st.Last = last })
		if err := msg.DoubleAck(ctx); err != nil {
			s.log.Warn("webhook: job ack", "id", j.Endpoint, "seq", j.Seq, "err", err)
		}
	case status == http.StatusGone:
		s.log.Warn("webhook: endpoint answered 410 Gone; disabled", "id", j.Endpoint, "url", pushpolicy.Redact(ep.URL))
		if err := s.disable(ctx, j.Endpoint); err != nil && !errors.Is(err, ErrNotFound) {
			s.log.Warn("webhook: endpoint not disabled; will retry", "id", j.Endpoint, "err", err)
			_ = msg.NakWithDelay(2 * time.Second)
			return
		}
		s.count(ctx, j.Endpoint, func(st *Stats) { st.Failed++; st.Dropped++; st.Last = last })
		_ = msg.TermWithReason("endpoint gone")
	default:
		n := 1
		if meta, err := msg.Metadata(); err == nil {
			n = int(meta.NumDelivered)
		}
		s.count(ctx, j.Endpoint, func(st *Stats) { st.Failed++; st.Last = last })
		_ = msg.NakWithDelay(s.Backoff(n))
	}
}

// send POSTs the job's body, signed, and returns the answer's status.
func (s *Service) send(ctx context.Context, ep *Endpoint, j job, now time.Time) (int, error) {
	id := MessageID(j.Seq, j.Endpoint)
	ts := now.Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(j.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(ep.signingKeys(now), id, ts, j.Body))
	resp, err := s.cfg.Policy.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// describe is a failed request's error without its URL, whose query may
// hold the partner's own token.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if len(msg) > maxErrorChars {
		msg = strings.ToValidUTF8(msg[:maxErrorChars], "")
	}
	return msg
}
