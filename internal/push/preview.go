package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
)

// ErrUnknownSubscription is SendTest's answer for an id no subscription has.
var ErrUnknownSubscription = errors.New("no push subscription with this id")

// NotDeliveredError is SendTest's answer when the push service refused the
// test notification (Status, its HTTP status) or could not be reached
// (Status 0).
type NotDeliveredError struct {
	Status int
	Err    error // why, when Status is 0
}

func (e *NotDeliveredError) Error() string {
	if e.Status != 0 {
		return "the push service answered " + strconv.Itoa(e.Status)
	}
	return "the push service could not be reached: " + e.Err.Error()
}

func (e *NotDeliveredError) Unwrap() error { return e.Err }

// testTTL is how long a push service keeps a test notification for a
// browser that is offline: it is meant for the editor's screen now.
const testTTL = 5 * time.Minute

// Audience is how many subscriptions an alert of the item would be sent to
// now (as the planner would match them; this instance's view of the
// subscriptions). It walks the distinct filters, not the subscriptions.
func (s *Service) Audience(it *news.Item) int { return s.index.audience(it) }

// SendTest sends the notification an alert of the item would make (type
// item, the same payload, marked "test": true) to one subscription now,
// once, through the same encryption, VAPID and client as delivery. It
// stores nothing and makes no job; a failure is returned, not retried, and
// does not count against the subscription. Its Topic (test-<id>) keeps it
// apart from the item's real notification.
func (s *Service) SendTest(ctx context.Context, subscriptionID string, it news.Item) error {
	sub, ok := s.index.get(subscriptionID)
	if !ok {
		return ErrUnknownSubscription
	}
	if sub.keys == nil {
		return &NotDeliveredError{Err: fmt.Errorf("the subscription's keys are unusable: %w", sub.keysErr)}
	}
	urgency := urgencyNormal
	if loud(it.Priority) {
		urgency = urgencyHigh
	}
	m := message{
		payload: encodeAs(payload{Type: news.EventItem, Test: true}, &it),
		ttl:     []string{strconv.Itoa(int(testTTL / time.Second))},
		urgency: urgency,
	}
	if it.ID != "" {
		m.topic = []string{"test-" + it.ID}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := s.post(ctx, sub, m)
	if err != nil {
		if errors.Is(err, pushpolicy.ErrRefused) {
			return &NotDeliveredError{Err: errors.New("the endpoint is refused by the push policy")}
		}
		var ue *url.Error // names the endpoint, which is not to be shown or logged whole
		if errors.As(err, &ue) {
			ue.URL = pushpolicy.Redact(ue.URL)
		}
		return &NotDeliveredError{Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	s.answered.Store(s.cfg.Now().UnixNano())
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return &NotDeliveredError{Status: res.StatusCode}
	}
	s.log.Info("push: test notification sent", "id", sub.ID, "item", it.ID, "endpoint", pushpolicy.Redact(sub.Endpoint))
	return nil
}
