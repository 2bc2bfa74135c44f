package push

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
)

// index mirrors the subscriptions bucket in memory, split into partitions
// by a hash of the id, so a job matches one partition without reading NATS.
// It also counts the subscriptions of each distinct filter, followed
// stories and min_priority, kept as subscriptions come, change and go, so
// an audience is counted over the distinct ones (far fewer than the
// subscriptions), not over every subscription.
type index struct {
	mu      sync.RWMutex
	parts   []map[string]*Subscription
	count   int
	byPlat  [numPlatforms]int       // count by platform
	filters map[string]*filterCount // by audienceKey
	rules   map[string]*ruleCount   // by rule.internKey: one parsed rule for the subscriptions alike
}

// ruleCount is a parsed rule and how many indexed subscriptions share it.
type ruleCount struct {
	rule *rule
	n    int
}

// filterCount is how many subscriptions of each platform have one filter,
// followed stories and min_priority.
type filterCount struct {
	filter news.Filter
	rule   rule // its stories and minRank
	n      [numPlatforms]int
}

// audienceKey is what an audience depends on of a subscription.
func audienceKey(sub *Subscription) string {
	if len(sub.rule.stories) == 0 && sub.rule.minRank == 0 {
		return sub.filter.Key()
	}
	return sub.filter.Key() + "|" + strings.Join(sub.rule.stories, ",") + "|" + strconv.Itoa(sub.rule.minRank)
}

func newIndex(partitions int) *index {
	ix := &index{parts: make([]map[string]*Subscription, partitions), filters: map[string]*filterCount{}, rules: map[string]*ruleCount{}}
	for i := range ix.parts {
		ix.parts[i] = make(map[string]*Subscription)
	}
	return ix
}

func (ix *index) partition(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(len(ix.parts)))
}

func (ix *index) put(sub *Subscription) {
	sub.prepare()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	p := ix.parts[ix.partition(sub.ID)]
	if old, ok := p[sub.ID]; ok {
		ix.uncount(old)
	} else {
		ix.count++
	}
	p[sub.ID] = sub
	ix.countIn(sub)
}

// replace puts sub in place of the subscription with its id, if there is
// one: a subscription removed meanwhile stays removed.
func (ix *index) replace(sub *Subscription) {
	sub.prepare()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	p := ix.parts[ix.partition(sub.ID)]
	if old, ok := p[sub.ID]; ok {
		ix.uncount(old)
		p[sub.ID] = sub
		ix.countIn(sub)
	}
}

func (ix *index) remove(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	p := ix.parts[ix.partition(id)]
	if old, ok := p[id]; ok {
		delete(p, id)
		ix.count--
		ix.uncount(old)
	}
}

// countIn and uncount add and take a subscription from its filter's count;
// callers hold mu for writing.
// A record of an unknown platform is in the index (so that its id is
// known) but counted in no platform.
func (ix *index) countIn(sub *Subscription) {
	// Subscriptions alike share one rule (its key and stories are most of
	// its size), set under the write lock, so before any job sees the
	// subscription.
	rk := sub.rule.internKey()
	if rc, ok := ix.rules[rk]; ok {
		sub.rule = rc.rule
		rc.n++
	} else {
		ix.rules[rk] = &ruleCount{rule: sub.rule, n: 1}
	}
	if sub.plat >= numPlatforms {
		return
	}
	ix.byPlat[sub.plat]++
	k := audienceKey(sub)
	fc, ok := ix.filters[k]
	if !ok {
		fc = &filterCount{filter: sub.filter, rule: rule{stories: sub.rule.stories, minRank: sub.rule.minRank}}
		ix.filters[k] = fc
	}
	fc.n[sub.plat]++
}

func (ix *index) uncount(sub *Subscription) {
	if k := sub.rule.internKey(); ix.rules[k] != nil {
		if rc := ix.rules[k]; rc.rule == sub.rule {
			if rc.n--; rc.n == 0 {
				delete(ix.rules, k)
			}
		}
	}
	if sub.plat >= numPlatforms {
		return
	}
	ix.byPlat[sub.plat]--
	k := audienceKey(sub)
	if fc, ok := ix.filters[k]; ok {
		fc.n[sub.plat]--
		if fc.n == ([numPlatforms]int{}) {
			delete(ix.filters, k)
		}
	}
}

// audience is how many subscriptions of a platform an alert of the item
// would target and whose min_priority allows it: those whose filter
// matches it or that follow its open story (the decider's rule); quiet hours
// and caps depend on the moment and are not counted. None for an item that
// is not live.
func (ix *index) audience(it *news.Item, p platform, stories news.Stories) int {
	if it.Status != news.StatusLive || p >= numPlatforms {
		return 0
	}
	open := it.Story != "" && stories != nil && stories.Open(it.Story)
	r := rank(it.Priority)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	for _, fc := range ix.filters {
		if fc.n[p] > 0 && r >= fc.rule.minRank && (fc.filter.Match(it) || open && fc.rule.follows(it)) {
			n += fc.n[p]
		}
	}
	return n
}

func (ix *index) get(id string) (*Subscription, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	sub, ok := ix.parts[ix.partition(id)][id]
	return sub, ok
}

// Len is the number of subscriptions, of every platform.
func (ix *index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.count
}

// byPlatform is the number of subscriptions of each platform.
func (ix *index) byPlatform() [numPlatforms]int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.byPlat
}

// target is one send a job makes: a subscription and the kind of message;
// or, with skip set (a Skip* reason) and no kind, an alert the subscription
// is targeted by but held back from.
type target struct {
	sub  *Subscription
	kind string // news.EventItem, EventUpdate or EventRetract
	skip string
}

// match returns the targets of partition p for the decider's event, sorted by
// id, as the decider decides: nothing for an item that has not alerted
// (ticker-only); the alert itself, a new item posted with alert or a
// promotion, as kind item to those it targets and does not hold back;
// later corrections and retractions of an alerted item as the filter (or
// a followed story) says, to all but those the alert was held back from.
// Lock order: index.mu, then the history's.
func (ix *index) match(p int, g *decider) []target {
	ix.mu.RLock()
	var out []target
	for _, sub := range ix.parts[p] {
		if sub.plat >= numPlatforms {
			continue
		}
		if kind, skip, ok := g.decide(sub); ok {
			out = append(out, target{sub: sub, kind: kind, skip: skip})
		}
	}
	ix.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].sub.ID < out[j].sub.ID })
	return out
}

// watchSubscriptions loads the bucket and follows its changes.
func (s *Service) watchSubscriptions(ctx context.Context) error {
	return watchBucket(ctx, s.subs, func() {
		select {
		case <-s.started:
		default:
			close(s.started)
			s.log.Info("push subscriptions loaded", "count", s.index.Len())
		}
	}, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			s.index.remove(e.Key())
			return
		}
		var sub Subscription
		if err := json.Unmarshal(e.Value(), &sub); err != nil || sub.ID != e.Key() {
			s.log.Error("push: skipping undecodable subscription", "key", e.Key(), "err", err)
			return
		}
		s.index.put(&sub)
	})
}

// watchBucket replays a bucket and follows it, calling apply for every
// entry (puts and deletes) and loaded once the initial values are in.
func watchBucket(ctx context.Context, kv jetstream.KeyValue, loaded func(), apply func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errWatchClosed
			}
			if e == nil {
				if loaded != nil {
					loaded()
				}
				continue
			}
			apply(e)
		}
	}
}
