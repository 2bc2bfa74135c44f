package push

import (
	"context"
	"errors"
	"strconv"
	"time"

	"newsflash/internal/news"
)

// ErrUnknownSubscription is SendTest's answer for an id no subscription has.
var ErrUnknownSubscription = errors.New("no push subscription with this id")

// NotDeliveredError is SendTest's answer when the push service refused the
// test notification (Status, its HTTP status) or could not be reached
// (Status 0).
type NotDeliveredError struct {
	Status int
	Reason string // an app provider's error code, if any
	Err    error  // why, when Status is 0
}

func (e *NotDeliveredError) Error() string {
	if e.Status != 0 && e.Reason != "" {
		return "the push service answered " + strconv.Itoa(e.Status) + " " + e.Reason
	}
	if e.Status != 0 {
		return "the push service answered " + strconv.Itoa(e.Status)
	}
	return "the push service could not be reached: " + e.Err.Error()
}

func (e *NotDeliveredError) Unwrap() error { return e.Err }

// testTTL is how long a push service keeps a test notification for a
// browser that is offline: it is meant for the editor's screen now.
const testTTL = 5 * time.Minute

// Audience is how many subscriptions of a platform (PlatformWeb, …) an
// alert of the item would target now and whose min_priority allows it (as
// the planner would match them, quiet hours and caps apart: they depend on
// the moment; this instance's view of the subscriptions). It walks the
// distinct filters, followed stories and min_priorities, not the
// subscriptions.
func (s *Service) Audience(it *news.Item, platform string) int {
	return s.index.audience(it, platformOf(platform), s.cfg.Stories)
}

// SendTest sends the notification an alert of the item would make, marked
// as a test, to one subscription or device of the platform now, once,
// through the same sender as delivery. It stores nothing and makes no job;
// a failure is returned, not retried, and does not count against the
// subscription. ErrUnknownSubscription when the platform has no
// subscription with the id (or is not enabled).
func (s *Service) SendTest(ctx context.Context, platform, subscriptionID string, it news.Item) error {
	sub, ok := s.index.get(subscriptionID)
	if !ok || sub.plat != platformOf(platform) || sub.plat >= numPlatforms || s.senders[sub.plat] == nil {
		return ErrUnknownSubscription
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.senders[sub.plat].test(ctx, sub, it); err != nil {
		return err
	}
	s.log.Info("push: test notification sent", "id", sub.ID, "platform", sub.plat.String(), "item", it.ID)
	return nil
}
