package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/history"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
)

// outcome of one send.
type outcome int

const (
	sent outcome = iota
	retry
	deferred // not tried: the host asked us to wait; not an attempt
	failed   // counted; a subscription failing so on 5 items in a row goes
	removed  // 404/410: the subscription is gone
)

var outcomeNames = [...]string{sent: "sent", retry: "retry", deferred: "deferred", failed: "failed", removed: "removed"}

// maxFailures is how many items in a row may fail with 400/401/403/413
// before a subscription is removed.
const maxFailures = 5

// A subscription is removed when maxUnreachable items in a row, over at
// least unreachableSpan, could not reach its push service at all (DNS,
// connection, TLS or timeout errors on every attempt), provided some push
// service answered this instance since the first of them.
const (
	maxUnreachable  = 5
	unreachableSpan = 24 * time.Hour
)

// run is the state of one job while it runs.
type run struct {
	s     *Service
	j     job
	e     *history.Entry
	g     *decider      // decides each subscription's share of the event; the job's goroutine only
	ttl   time.Duration // what is left of the notification's life
	start time.Time

	// Header values of every send, set before the first.
	ttlHeader   []string // TTL: what is left of the notification's life
	topicHeader []string // Topic: the item id, so a newer version replaces it; nil if none

	payloads map[string][]byte               // by kind, encoded once; guarded by mu
	natives  [numPlatforms][3]nativePrepared // app messages by platform and kindIndex
	weight   map[string]int                  // host → the job's sends to it; set before the first send

	dirty chan struct{} // capacity 1: the progress changed since the last save

	mu   sync.Mutex
	prog progress
	rev  uint64 // progress revision, 0 when new
}

// deliver does a job. done is false when it should be tried again later.
func (s *Service) deliver(ctx context.Context, j job) (bool, error) {
	r := &run{s: s, j: j, start: s.cfg.Now(), payloads: map[string][]byte{}}
	if err := r.load(ctx); err != nil {
		return false, err
	}
	if r.prog.Done {
		return true, nil
	}
	e, ok, err := s.entryFor(ctx, j.Seq)
	if err != nil {
		return false, err
	}
	if !ok { // older than history: nothing to send any more
		return true, r.finish(ctx, "expired")
	}
	r.e = e
	r.mu.Lock()
	r.prog.Alert = e.Event.Alert
	r.mu.Unlock()
	if latest, ok := s.cfg.Log.ItemSeq(j.Item); ok && latest > j.Seq {
		// A newer version exists: its own jobs send it instead.
		return true, r.finish(ctx, "superseded")
	}
	life := s.cfg.TTL[e.Event.Item.Priority]
	if life == 0 {
		life = s.cfg.TTL[news.PriorityBreaking]
	}
	r.ttl = life - r.start.Sub(e.Event.Item.UpdatedAt)
	if r.ttl < time.Second {
		return true, r.finish(ctx, "expired")
	}
	r.ttlHeader = []string{strconv.Itoa(max(int(r.ttl/time.Second), 1))}
	if id := e.Event.Item.ID; id != "" {
		r.topicHeader = []string{id}
	}

	r.g = s.newDecider(e)
	targets := s.index.match(j.P, r.g)
	byHost := map[string][]target{}
	r.weight = map[string]int{}
	var disabled [numPlatforms]int
	var targeted [numPlatforms]int
	var skipped [numPlatforms]map[string]int
	for _, t := range targets {
		if s.senders[t.sub.plat] == nil {
			// A platform configured on another instance, not on this
			// one: the instances of a cluster are to share one setup.
			disabled[t.sub.plat]++
			continue
		}
		targeted[t.sub.plat]++
		if t.skip != "" {
			if skipped[t.sub.plat] == nil {
				skipped[t.sub.plat] = map[string]int{}
			}
			skipped[t.sub.plat][t.skip]++
			continue
		}
		r.weight[t.sub.host]++
		if last, ok := r.prog.Hosts[t.sub.host]; ok && t.sub.ID <= last {
			continue // done before a crash
		}
		if _, ok := r.prog.Pending[t.sub.ID]; ok {
			continue // waits for the retry phase
		}
		byHost[t.sub.host] = append(byHost[t.sub.host], t)
	}
	for p, n := range disabled {
		if n > 0 {
			s.log.Warn("push: platform not configured on this instance; its devices get nothing from this job", "platform", platform(p).String(), "devices", n, "job", j.key())
		}
	}
	if e.Event.Alert {
		r.matched(targeted, skipped)
	}
	saveCtx, stopSaving := context.WithCancel(ctx)
	r.dirty = make(chan struct{}, 1)
	savingDone := make(chan struct{})
	go func() { defer close(savingDone); r.saveOnChange(saveCtx) }()
	var wg sync.WaitGroup
	for host, ts := range byHost {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.firstPass(ctx, host, ts)
		}()
	}
	wg.Wait()
	r.retryPhase(ctx)
	stopSaving()
	<-savingDone
	if ctx.Err() != nil {
		_ = r.save(context.WithoutCancel(ctx))
		return false, nil
	}
	return true, r.finish(ctx, "")
}

// matched records what the alert's match found: the subscriptions of each
// platform it targeted and those it held back, by reason. They are decided
// from the stream (decider), so a job redone decides and records the same:
// the counts are set, not added, and the metric counts only what is new.
func (r *run) matched(targeted [numPlatforms]int, skipped [numPlatforms]map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range platform(numPlatforms) {
		if targeted[p] == 0 && r.prog.Platforms[p.String()] == nil {
			continue
		}
		c := r.prog.of(p)
		for reason, n := range skipped[p] {
			if d := n - c.Skipped[reason]; d > 0 {
				r.s.cfg.Metrics.PushSkipped.WithLabelValues(p.String(), reason).Add(float64(d))
			}
		}
		c.Targeted, c.Skipped = targeted[p], skipped[p]
	}
}

// firstPass sends to one host's subscriptions in id order, PerHost at a
// time, moving the host's checkpoint as a prefix completes.
func (r *run) firstPass(ctx context.Context, host string, ts []target) {
	finished := make([]bool, len(ts))
	next := 0 // first index not known finished
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range ts {
		started := r.goSend(ctx, &wg, host, func() {
			out := r.s.send(ctx, r, ts[i], 0)
			r.mu.Lock()
			defer r.mu.Unlock()
			if ctx.Err() != nil && (out == retry || out == deferred) {
				return // not finished: redone after a restart
			}
			r.count(ts[i], out, 1)
			finished[i] = true
			for next < len(ts) && finished[next] {
				next++
			}
			if next > 0 {
				if r.prog.Hosts == nil {
					r.prog.Hosts = map[string]string{}
				}
				r.prog.Hosts[host] = ts[next-1].sub.ID
			}
		})
		if !started {
			return
		}
	}
}

// goSend runs send in a goroutine once one of the host's slots is free (the
// slots bound the sends in flight to a host over all jobs). It reports
// false, starting nothing, when ctx ends first.
func (r *run) goSend(ctx context.Context, wg *sync.WaitGroup, host string, send func()) bool {
	sem := r.s.hosts.slots(host, r.s.concurrency(host))
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { <-sem }()
		send()
	}()
	return true
}

// count records an outcome and asks for a save; callers hold r.mu.
func (r *run) count(t target, out outcome, attempts int) {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
	m, name := r.s.cfg.Metrics, outcomeNames[out]
	switch {
	case out == removed:
		m.PushRemoved.Inc()
	case out == retry && attempts < r.s.cfg.MaxAttempts:
		m.PushRetries.Inc()
	case out == retry:
		name = outcomeNames[failed] // the last try failed too: given up
	}
	m.PushSends.WithLabelValues(name, t.sub.host).Inc()
	switch out {
	case sent:
		r.prog.Sent++
		c := r.prog.of(t.sub.plat)
		c.Sent++
		r.timeToSent(t.sub.plat, c)
		delete(r.prog.Pending, t.sub.ID)
	case failed:
		r.prog.Failed++
		r.prog.of(t.sub.plat).Failed++
		delete(r.prog.Pending, t.sub.ID)
	case removed:
		r.prog.Removed++
		r.prog.of(t.sub.plat).Removed++
		delete(r.prog.Pending, t.sub.ID)
	case deferred:
		if r.prog.Pending == nil {
			r.prog.Pending = map[string]int{}
		}
		r.prog.Pending[t.sub.ID] = attempts - 1
	case retry:
		if attempts >= r.s.cfg.MaxAttempts {
			r.prog.Failed++
			r.prog.of(t.sub.plat).Failed++
			delete(r.prog.Pending, t.sub.ID)
			return
		}
		if r.prog.Pending == nil {
			r.prog.Pending = map[string]int{}
		}
		r.prog.Pending[t.sub.ID] = attempts
	}
}

// retryPhase retries pending sends with exponential backoff and jitter, no
// sooner than a host's Retry-After, until they succeed, give up, or the
// job's retry time (at most half the notification's life) runs out.
func (r *run) retryPhase(ctx context.Context) {
	deadline := r.start.Add(min(r.s.cfg.MaxRetryTime, r.ttl/2))
	for {
		r.mu.Lock()
		pending := make(map[string]int, len(r.prog.Pending))
		for id, a := range r.prog.Pending {
			pending[id] = a
		}
		r.mu.Unlock()
		if len(pending) == 0 {
			return
		}
		if !r.s.cfg.Now().Before(deadline) {
			r.mu.Lock()
			r.prog.Failed += len(r.prog.Pending)
			for id := range r.prog.Pending {
				if sub, ok := r.s.index.get(id); ok {
					r.prog.of(sub.plat).Failed++
				}
			}
			r.prog.Pending = nil
			r.mu.Unlock()
			return
		}
		// Wait for the earliest attempt due: backoff by attempts made.
		wait := time.Minute
		for id, a := range pending {
			sub, ok := r.s.index.get(id)
			if !ok {
				continue
			}
			d := backoff(a)
			if until := r.s.hosts.until(sub.host); until.After(r.s.cfg.Now().Add(d)) {
				d = until.Sub(r.s.cfg.Now())
			}
			wait = min(wait, d)
		}
		if d := deadline.Sub(r.s.cfg.Now()); d < wait {
			wait = max(d, 0)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		var wg sync.WaitGroup
		for id, a := range pending {
			sub, ok := r.s.index.get(id)
			var kind string
			if ok {
				kind, _, ok = r.g.decide(sub)
				ok = ok && kind != ""
			}
			if !ok { // unsubscribed, or its filter or prefs changed, meanwhile
				r.mu.Lock()
				delete(r.prog.Pending, id)
				r.mu.Unlock()
				continue
			}
			started := r.goSend(ctx, &wg, sub.host, func() {
				out := r.s.send(ctx, r, target{sub: sub, kind: kind}, a)
				if ctx.Err() != nil {
					return
				}
				r.mu.Lock()
				r.count(target{sub: sub}, out, a+1)
				r.mu.Unlock()
			})
			if !started {
				break
			}
		}
		wg.Wait()
	}
}

// backoff after a attempts: 1 s, 2 s, 4 s, … up to 1 min, with jitter.
func backoff(a int) time.Duration {
	d := time.Second << min(a, 6)
	d = min(d, time.Minute)
	return d/2 + rand.N(d/2+1)
}

func (r *run) load(ctx context.Context) error {
	e, err := r.s.prog.Get(ctx, r.j.key())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.rev = e.Revision()
	return json.Unmarshal(e.Value(), &r.prog)
}

func (r *run) save(ctx context.Context) error {
	r.mu.Lock()
	rec := r.prog.record(r.weight)
	r.mu.Unlock()
	b, _ := json.Marshal(rec)
	if len(b) > progressValueMax { // not reached (record's budgets): keep the counts, redo every send
		rec.Hosts, rec.Pending, rec.PendingTotal = nil, nil, len(rec.Pending)+rec.PendingTotal
		b, _ = json.Marshal(rec)
	}
	ctx, cancel := context.WithTimeout(ctx, r.s.cfg.Timeout)
	defer cancel()
	_, err := r.s.prog.Put(ctx, r.j.key(), b)
	return err
}

// saveOnChange records the progress when it changed, one save at a time
// and at most once every CheckpointInterval: under load one save covers
// many sends, and what a crash can make be sent twice is the sends in
// flight and those finished since the last save.
func (r *run) saveOnChange(ctx context.Context) {
	var pause <-chan time.Time // nil: no wait before the next save
	for {
		if pause != nil {
			select {
			case <-ctx.Done():
				return
			case <-pause:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.dirty:
		}
		began, wait := time.Now(), r.s.cfg.CheckpointInterval
		if err := r.save(ctx); err != nil && ctx.Err() == nil {
			r.s.log.Warn("push: saving progress", "job", r.j.key(), "err", err)
			wait = max(wait, 100*time.Millisecond)
		}
		pause = nil
		if d := wait - time.Since(began); d > 0 {
			pause = time.After(d)
		}
	}
}

// errProgressNotSaved is returned by deliver when a job's final progress
// could not be saved: the job is over (its sends are made) and must not be
// done again, but its record says otherwise or is missing.
var errProgressNotSaved = errors.New("final progress not saved")

// finalSaveAttempts bounds the attempts at a job's final save, 0.1 s, then
// 0.2, 0.4 and 0.8 s apart.
const finalSaveAttempts = 5

func (r *run) finish(ctx context.Context, skipped string) error {
	r.mu.Lock()
	r.prog.Done, r.prog.Skipped, r.prog.Pending = true, skipped, nil
	r.mu.Unlock()
	wait := 100 * time.Millisecond
	var err error
	for i := range finalSaveAttempts {
		if err = r.save(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		if i == finalSaveAttempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	return fmt.Errorf("%w after %d attempts: %w", errProgressNotSaved, finalSaveAttempts, err)
}

// Header values every push request shares (RFC 8030, RFC 8188). Requests
// share these slices; nothing writes to them.
var (
	aes128gcm     = []string{"aes128gcm"}
	octetStream   = []string{"application/octet-stream"}
	urgencyHigh   = []string{"high"}
	urgencyNormal = []string{"normal"}
)

// message is one push request's content: the plaintext payload and the
// header values (TTL, Topic, Urgency); topic may be nil.
type message struct {
	payload []byte
	ttl     []string
	topic   []string
	urgency []string
}

// message is what the run sends for a kind: the payload encoded once, and
// the urgency by priority (a retraction is never urgent).
func (r *run) message(kind string) message {
	urgency := urgencyNormal
	if p := r.e.Event.Item.Priority; kind != news.EventRetract && loud(p) {
		urgency = urgencyHigh
	}
	return message{payload: r.payload(kind), ttl: r.ttlHeader, topic: r.topicHeader, urgency: urgency}
}

// loud reports whether a priority's notifications go with Urgency high.
func loud(priority string) bool {
	return priority == news.PriorityFlash || priority == news.PriorityUrgent
}

// post encrypts m's payload for sub (RFC 8291) and POSTs it to the
// endpoint with the VAPID header signed for the endpoint's origin (RFC
// 8292), through the policy's client (no redirects, no proxy, no private
// addresses). sub.keys must not be nil.
func (s *Service) post(ctx context.Context, sub *Subscription, m message) (_ *http.Response, err error) {
	body, err := sub.keys.encrypt(m.payload)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	auth, err := s.cfg.Identity.Header(sub.origin, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && !errors.Is(err, pushpolicy.ErrRefused) {
			err = fmt.Errorf("%w: %w", errNoAnswer, err)
		}
	}()
	// Canonical names set directly: the map Header.Set would build.
	h := req.Header
	h["Ttl"] = m.ttl
	if m.topic != nil {
		h["Topic"] = m.topic
	}
	h["Urgency"] = m.urgency
	h["Content-Encoding"] = aes128gcm
	h["Content-Type"] = octetStream
	h["Authorization"] = []string{auth}
	return s.client.Do(req)
}

// payload is the notification of a kind, encoded once per run.
func (r *run) payload(kind string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.payloads[kind]
	if !ok {
		b = encodePayload(kind, r.e.Event.Seq, &r.e.Event.Item)
		r.payloads[kind] = b
	}
	return b
}

// errNoAnswer wraps the errors of a push request that got no answer: DNS,
// connection, TLS, timeouts.
var errNoAnswer = errors.New("no answer from the push service")

// retryAfter reads seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// subscriptionFailed counts a refused send against the subscription and
// removes it after maxFailures items in a row.
func (s *Service) subscriptionFailed(ctx context.Context, sub *Subscription) outcome {
	n, err := s.updateSubscription(ctx, sub.ID, func(cur *Subscription) bool {
		cur.Failures++
		cur.Unreachable, cur.UnreachableSince = 0, time.Time{}
		return true
	})
	if err == nil && n >= maxFailures {
		s.removeSubscription(ctx, sub.ID)
		return removed
	}
	return failed
}

// subscriptionUnreachable counts an item whose sends to the subscription
// got no answer, and removes the subscription when maxUnreachable items in
// a row did so over at least unreachableSpan, provided a push service
// answered this instance since the first of them: when nothing answers,
// the fault is more likely this instance's network than every push
// service, and removing every subscription would lose them all.
func (s *Service) subscriptionUnreachable(ctx context.Context, sub *Subscription) outcome {
	now := s.cfg.Now()
	var gone bool
	var since time.Time
	var n int
	_, err := s.updateSubscription(ctx, sub.ID, func(cur *Subscription) bool {
		if cur.Unreachable == 0 {
			cur.UnreachableSince = now.UTC()
		}
		cur.Unreachable++
		n, since = cur.Unreachable, cur.UnreachableSince
		gone = n >= maxUnreachable && now.Sub(since) >= unreachableSpan && s.answered.Load() >= since.UnixNano()
		return !gone // removed below: no need to write the count
	})
	if err == nil && gone {
		s.log.Info("push: removing an unreachable subscription", "id", sub.ID, "endpoint", pushpolicy.Redact(sub.Endpoint),
			"items", n, "since", since)
		s.removeSubscription(ctx, sub.ID)
		return removed
	}
	return failed
}

func (s *Service) resetFailures(ctx context.Context, sub *Subscription) {
	_, _ = s.updateSubscription(ctx, sub.ID, func(cur *Subscription) bool {
		if cur.Failures == 0 && cur.Unreachable == 0 {
			return false
		}
		cur.Failures, cur.Unreachable, cur.UnreachableSince = 0, 0, time.Time{}
		return true
	})
}

// updateSubscription changes a stored subscription with compare-and-set and
// returns its failure count after the change.
func (s *Service) updateSubscription(ctx context.Context, id string, change func(*Subscription) bool) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	for try := 0; try < 5; try++ {
		e, err := s.subs.Get(ctx, id)
		if err != nil {
			return 0, err
		}
		var cur Subscription
		if err := json.Unmarshal(e.Value(), &cur); err != nil {
			return 0, err
		}
		if !change(&cur) {
			return cur.Failures, nil
		}
		b, _ := json.Marshal(cur)
		if _, err := s.subs.Update(ctx, id, b, e.Revision()); err == nil {
			// The watcher will bring the same; sends of this instance see
			// the counts at once.
			s.index.replace(&cur)
			return cur.Failures, nil
		}
	}
	return 0, errors.New("subscription changed concurrently")
}

func (s *Service) removeSubscription(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if err := s.subs.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		s.log.Warn("push: removing subscription", "id", id, "err", err)
	}
	s.index.remove(id)
}

// concurrency is how many sends to a host may be in flight from this
// instance: an app provider's own limit, PerHost for a push service.
func (s *Service) concurrency(host string) int {
	switch host {
	case hostFCM:
		return s.cfg.FCMConcurrency
	case hostAPNs:
		return s.cfg.APNsConcurrency
	}
	return s.cfg.PerHost
}

// hostGate remembers push-service hosts that asked us to wait (Retry-After)
// and bounds the sends in flight to each host, over all jobs, so a slow
// service holds only its own slots.
type hostGate struct {
	mu    sync.Mutex
	hosts map[string]time.Time
	sems  map[string]chan struct{}
}

func newHostGate() *hostGate {
	return &hostGate{hosts: map[string]time.Time{}, sems: map[string]chan struct{}{}}
}

// slots is the semaphore of a host's sends in flight.
func (g *hostGate) slots(host string, n int) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.sems[host]
	if !ok {
		s = make(chan struct{}, n)
		g.sems[host] = s
	}
	return s
}

func (g *hostGate) wait(host string, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until.After(g.hosts[host]) {
		g.hosts[host] = until
	}
}

func (g *hostGate) until(host string) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hosts[host]
}
