package push

import (
	"context"

	"newsflash/internal/apns"
	"newsflash/internal/fcm"
)

// addProviders makes the senders of the app platforms whose clients Deps
// has: Android through FCM, iOS through APNs.
func (s *Service) addProviders() {
	if s.cfg.FCM != nil {
		s.senders[platformAndroid] = &nativeSender{s: s, plat: platformAndroid, p: fcmProvider{s.cfg.FCM}}
	}
	if s.cfg.APNs != nil {
		s.senders[platformIOS] = &nativeSender{s: s, plat: platformIOS, p: apnsProvider{s.cfg.APNs}}
	}
}

// fcmProvider adapts an FCM client to the pipeline's provider.
type fcmProvider struct{ c *fcm.Client }

var fcmOutcomes = map[fcm.Outcome]nativeOutcome{fcm.Sent: nativeSent, fcm.Retry: nativeRetry, fcm.Remove: nativeRemove, fcm.Failed: nativeFailed}

func (p fcmProvider) prepare(m nativeMessage) prepared {
	return fcm.Prepare(fcm.Message{Kind: m.Kind, Seq: m.Seq, Item: m.Item, TTL: m.TTL, Title: m.Title})
}

func (p fcmProvider) send(ctx context.Context, token, receipt string, m prepared) nativeResult {
	r := p.c.SendPrepared(ctx, token, receipt, m.(*fcm.Prepared))
	return nativeResult{Outcome: outcomeOr(fcmOutcomes, r.Outcome), RetryAfter: r.RetryAfter, Status: r.Status, Reason: r.Reason}
}

// apnsProvider adapts an APNs client to the pipeline's provider.
type apnsProvider struct{ c *apns.Client }

var apnsOutcomes = map[apns.Outcome]nativeOutcome{apns.Sent: nativeSent, apns.Retry: nativeRetry, apns.Remove: nativeRemove, apns.Failed: nativeFailed}

func (p apnsProvider) prepare(m nativeMessage) prepared {
	return p.c.Prepare(apns.Message{Kind: m.Kind, Seq: m.Seq, Item: m.Item, TTL: m.TTL, Title: m.Title})
}

func (p apnsProvider) send(ctx context.Context, token, receipt string, m prepared) nativeResult {
	r := p.c.SendNotification(ctx, token, receipt, m.(*apns.Notification))
	return nativeResult{Outcome: outcomeOr(apnsOutcomes, r.Outcome), RetryAfter: r.RetryAfter, Status: r.Status, Reason: r.Reason}
}

// outcomeOr maps a provider's outcome; one it does not list is a failure.
func outcomeOr[K comparable](m map[K]nativeOutcome, k K) nativeOutcome {
	if o, ok := m[k]; ok {
		return o
	}
	return nativeFailed
}
