package push

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
)

// sender is one channel's way of sending: Web Push (webSender), FCM and
// APNs (nativeSender). A job's steps around a send are shared by all: the
// host's Retry-After (Service.send defers before asking the sender), the
// slots per host, the progress and the retries; a sender makes one request
// and sorts its answer into an outcome, removing or counting against the
// subscription as the answer says.
type sender interface {
	// send sends t's message of run r; attempts is how many were made.
	send(ctx context.Context, r *run, t target, attempts int) outcome
	// test sends a test notification of the item to sub now, once; an
	// answer other than success is a *NotDeliveredError.
	test(ctx context.Context, sub *Subscription, it news.Item) error
}

var (
	_ sender = webSender{}
	_ sender = (*nativeSender)(nil)
)

// send sorts out the host's Retry-After, then asks t's sender.
func (s *Service) send(ctx context.Context, r *run, t target, attempts int) outcome {
	if until := s.hosts.until(t.sub.host); until.After(s.cfg.Now()) {
		return deferred // the host asked us to wait
	}
	return s.senders[t.sub.plat].send(ctx, r, t, attempts)
}

// webSender is Web Push: encrypted (RFC 8291), VAPID-signed (RFC 8292)
// requests to the subscription's push service, through the push policy's
// client.
type webSender struct{ s *Service }

func (w webSender) send(ctx context.Context, r *run, t target, attempts int) outcome {
	s := w.s
	if t.sub.keys == nil { // nothing can be encrypted for it: like a 400
		s.log.Warn("push: subscription keys unusable", "id", t.sub.ID, "endpoint", pushpolicy.Redact(t.sub.Endpoint), "err", t.sub.keysErr)
		return s.subscriptionFailed(ctx, t.sub)
	}
	m := r.message(t.kind)
	m.payload = withReceipt(m.payload, r.receipt(t))
	res, err := s.post(ctx, t.sub, m)
	if err != nil {
		if errors.Is(err, pushpolicy.ErrRefused) {
			s.log.Warn("push: endpoint refused by policy", "endpoint", pushpolicy.Redact(t.sub.Endpoint))
			return s.subscriptionFailed(ctx, t.sub)
		}
		if ctx.Err() != nil {
			return retry
		}
		if s.log.Enabled(ctx, -4) {
			s.log.Debug("push: send failed", "endpoint", pushpolicy.Redact(t.sub.Endpoint), "err", err)
		}
		// No answer: the last attempt counts against the subscription, and
		// one already unreachable on its previous item gets no second try.
		if errors.Is(err, errNoAnswer) && (attempts+1 >= s.cfg.MaxAttempts || t.sub.Unreachable > 0) {
			return s.subscriptionUnreachable(ctx, t.sub)
		}
		return retry
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	s.answered.Store(s.cfg.Now().UnixNano())
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		if t.sub.Failures > 0 || t.sub.Unreachable > 0 {
			s.resetFailures(ctx, t.sub)
		}
		return sent
	case code == http.StatusNotFound || code == http.StatusGone:
		s.removeSubscription(ctx, t.sub.ID)
		return removed
	case code == http.StatusTooManyRequests || code >= 500:
		if ra := retryAfter(res.Header.Get("Retry-After"), s.cfg.Now()); ra > 0 {
			s.hosts.wait(t.sub.host, s.cfg.Now().Add(ra))
		}
		if t.sub.Unreachable > 0 { // it answered: the streak ends
			_, _ = s.updateSubscription(ctx, t.sub.ID, func(cur *Subscription) bool {
				changed := cur.Unreachable > 0
				cur.Unreachable, cur.UnreachableSince = 0, time.Time{}
				return changed
			})
		}
		return retry
	default: // 400, 401, 403, 413, and anything else
		s.log.Warn("push: send refused", "status", code, "endpoint", pushpolicy.Redact(t.sub.Endpoint))
		return s.subscriptionFailed(ctx, t.sub)
	}
}

// test sends the notification an alert of the item would make (type item,
// the same payload, marked "test": true) through the same encryption,
// VAPID and client as delivery. Its Topic (test-<id>) keeps it apart from
// the item's real notification.
func (w webSender) test(ctx context.Context, sub *Subscription, it news.Item) error {
	s := w.s
	if sub.keys == nil {
		return &NotDeliveredError{Err: errors.New("the subscription's keys are unusable: " + sub.keysErr.Error())}
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
	return nil
}

// nativeMessage is what a job asks a provider to send to its devices: the
// fields of fcm.Message and apns.Message but the device token.
type nativeMessage struct {
	Kind  string // news.EventItem, EventUpdate or EventRetract
	Seq   uint64
	Item  *news.Item
	TTL   time.Duration
	Title string
}

// nativeOutcome is a provider's verdict on one send (fcm.Outcome,
// apns.Outcome).
type nativeOutcome int

const (
	nativeSent   nativeOutcome = iota
	nativeRetry                // 429, 5xx, no answer: the existing backoff
	nativeRemove               // the token is dead: remove the device
	nativeFailed               // refused otherwise: counted, removed after maxFailures in a row
)

// nativeResult is a provider's answer (fcm.Result, apns.Result).
type nativeResult struct {
	Outcome    nativeOutcome
	RetryAfter time.Duration
	Status     int    // HTTP status, 0 when there was no answer
	Reason     string // the provider's error code, if any
}

// provider is an app provider's client, adapted (providers.go).
type provider interface {
	// prepare encodes m once for any number of devices (a message that
	// cannot be encoded prepares one whose sends fail).
	prepare(m nativeMessage) prepared
	// send sends a message prepare made to one device, with its receipt
	// ("" for none).
	send(ctx context.Context, token, receipt string, m prepared) nativeResult
}

// prepared is a provider's message made by its prepare (*fcm.Prepared,
// *apns.Notification), shared by the sends of a job.
type prepared any

// nativePrepared is a run's message for one platform and kind, prepared on
// its first send.
type nativePrepared struct {
	once sync.Once
	m    prepared
}

// kindIndex numbers the kinds of event for a run's prepared messages; -1
// for another.
func kindIndex(kind string) int {
	switch kind {
	case news.EventItem:
		return 0
	case news.EventUpdate:
		return 1
	case news.EventRetract:
		return 2
	}
	return -1
}

// native is the run's message for a platform and kind, prepared once by
// the platform's provider: every device of the job gets the same.
func (r *run) native(plat platform, kind string, p provider) prepared {
	message := func() nativeMessage {
		it := &r.e.Event.Item
		return nativeMessage{Kind: kind, Seq: r.e.Event.Seq, Item: it, TTL: r.ttl, Title: Title(it.Lang, it.Priority)}
	}
	k := kindIndex(kind)
	if k < 0 {
		return p.prepare(message()) // the provider refuses it
	}
	np := &r.natives[plat][k]
	np.once.Do(func() { np.m = p.prepare(message()) })
	return np.m
}

// nativeSender sends to the devices of one platform through its provider.
type nativeSender struct {
	s    *Service
	plat platform
	p    provider
}

func (n *nativeSender) send(ctx context.Context, r *run, t target, attempts int) outcome {
	res := n.p.send(ctx, t.sub.Token, r.receipt(t), r.native(n.plat, t.kind, n.p))
	s := n.s
	switch res.Outcome {
	case nativeSent:
		if t.sub.Failures > 0 {
			s.resetFailures(ctx, t.sub)
		}
		return sent
	case nativeRemove:
		s.log.Info("push: device token refused by its provider; removing the device", "id", t.sub.ID, "platform", t.sub.Platform,
			"token", tokenPrefix(t.sub.Token), "status", res.Status, "reason", res.Reason)
		s.removeSubscription(ctx, t.sub.ID)
		return removed
	case nativeRetry:
		if res.RetryAfter > 0 {
			s.hosts.wait(t.sub.host, s.cfg.Now().Add(min(res.RetryAfter, time.Hour)))
		}
		if s.log.Enabled(ctx, -4) {
			s.log.Debug("push: device send to retry", "platform", t.sub.Platform, "status", res.Status, "reason", res.Reason)
		}
		return retry
	case nativeFailed:
		// The provider was not asked (no access token, …) or refused our
		// credentials (401): not the device's fault, so not counted
		// against it; else a wrong key would remove every device.
		if res.Status == 0 || res.Status == http.StatusUnauthorized {
			s.log.Warn("push: device send not made", "id", t.sub.ID, "platform", t.sub.Platform, "reason", res.Reason)
			return failed
		}
		fallthrough
	default:
		s.log.Warn("push: device send refused", "id", t.sub.ID, "platform", t.sub.Platform, "token", tokenPrefix(t.sub.Token),
			"status", res.Status, "reason", res.Reason)
		return s.subscriptionFailed(ctx, t.sub)
	}
}

// test sends the notification an alert of the item would make, with the
// item's id as "test-<id>": its collapse key (FCM tag, APNs collapse id)
// keeps it apart from the item's real notification.
func (n *nativeSender) test(ctx context.Context, sub *Subscription, it news.Item) error {
	if it.ID != "" {
		it.ID = "test-" + it.ID
	}
	seq := it.Seq
	if seq == 0 { // a dry run's new item: the stream's head, as of now
		seq = max(n.s.cfg.Log.Head(), 1)
	}
	m := n.p.prepare(nativeMessage{Kind: news.EventItem, Seq: seq, Item: &it, TTL: testTTL, Title: Title(it.Lang, it.Priority)})
	res := n.p.send(ctx, sub.Token, "", m) // no receipt: a test is no alert
	if res.Outcome == nativeSent {
		return nil
	}
	if res.Status == 0 {
		return &NotDeliveredError{Err: errors.New("the provider could not be reached")}
	}
	return &NotDeliveredError{Status: res.Status, Reason: res.Reason}
}

// tokenPrefix is what the log shows of a device token: its first 8
// characters, enough to tell devices apart, never the token.
func tokenPrefix(token string) string {
	if len(token) <= 8 {
		return "…"
	}
	return token[:8] + "…"
}
