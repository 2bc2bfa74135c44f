package push

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// progressTTL is how long the progress bucket keeps a job's record.
const progressTTL = 48 * time.Hour

// statsView follows the progress bucket, so any instance can answer for
// the deliveries all instances made.
type statsView struct {
	mu    sync.Mutex
	jobs  map[string]jobStats // job key → its latest progress
	sweep time.Time
}

type jobStats struct {
	progress
	at time.Time // when the record was last written
}

func newStatsView() *statsView { return &statsView{jobs: map[string]jobStats{}} }

func (s *Service) watchProgress(ctx context.Context) error {
	return watchBucket(ctx, s.prog, nil, func(e jetstream.KeyValueEntry) {
		s.stats.mu.Lock()
		defer s.stats.mu.Unlock()
		if e.Operation() != jetstream.KeyValuePut {
			delete(s.stats.jobs, e.Key())
			return
		}
		var p progress
		if json.Unmarshal(e.Value(), &p) == nil {
			s.stats.jobs[e.Key()] = jobStats{progress: p, at: e.Created()}
		}
		s.stats.forgetExpired(s.cfg.Now())
	})
}

// forgetExpired drops the jobs whose record the bucket's TTL has removed:
// JetStream tells a watcher nothing when a record expires, so without this
// the view would grow for the life of the process. At most once a minute;
// callers hold mu.
func (v *statsView) forgetExpired(now time.Time) {
	sweepExpired(v.jobs, func(j jobStats) time.Time { return j.at }, &v.sweep, now)
}

// sweepExpired deletes the entries of m written (at) more than progressTTL
// before now, the lifetime of the progress and receipts buckets' records,
// at most once a minute (last is when it last did); callers hold the lock
// that guards m.
func sweepExpired[V any](m map[string]V, at func(V) time.Time, last *time.Time, now time.Time) {
	if now.Sub(*last) < time.Minute {
		return
	}
	*last = now
	for k, v := range m {
		if now.Sub(at(v)) > progressTTL {
			delete(m, k)
		}
	}
}

// ItemStats are one item's push deliveries over all its events and jobs.
type ItemStats struct {
	ID      string `json:"id"`
	LastSeq uint64 `json:"last_seq"`
	Sent    int    `json:"sent"`
	Failed  int    `json:"failed"`
	Removed int    `json:"removed"`
	Pending int    `json:"pending"`
	// Platforms splits Sent, Failed and Removed by platform ("web",
	// "android", "ios"), for the platforms that had sends.
	Platforms map[string]PlatformStats `json:"platforms"`
	// Jobs is the number of delivery jobs of the item's events seen so far,
	// JobsDone how many of them are finished.
	Jobs     int `json:"jobs"`
	JobsDone int `json:"jobs_done"`
	// Funnel is what the item's alert did (funnel.go); null for an item
	// whose alert event has no job seen yet.
	Funnel *Funnel `json:"funnel"`
}

// PlatformStats are one platform's sends of an item.
type PlatformStats struct {
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Removed int `json:"removed"`
}

// Stats is GET /api/v1/push/stats.
type Stats struct {
	// Subscriptions counts the web subscriptions and the devices, and
	// Platforms counts them by platform ("web", "android", "ios"; every
	// platform, enabled or not).
	Subscriptions int            `json:"subscriptions"`
	Platforms     map[string]int `json:"platforms"`
	Items         []ItemStats    `json:"items"`
}

// stats sums the jobs per item: the newest limit items, or one item.
func (s *Service) statsFor(item string, limit int) Stats {
	s.stats.mu.Lock()
	byItem := map[string]*ItemStats{}
	events := map[string]map[string]bool{} // item → seqs with jobs
	for key, p := range s.stats.jobs {
		parts := strings.Split(key, ".")
		if len(parts) != 3 || (item != "" && parts[0] != item) {
			continue
		}
		st := byItem[parts[0]]
		if st == nil {
			st = &ItemStats{ID: parts[0], Platforms: map[string]PlatformStats{}}
			byItem[parts[0]] = st
		}
		seq, _ := strconv.ParseUint(parts[1], 10, 64)
		st.LastSeq = max(st.LastSeq, seq)
		st.Sent += p.Sent
		st.Failed += p.Failed
		st.Removed += p.Removed
		if p.Platforms == nil && p.Sent+p.Failed+p.Removed > 0 { // a record from before devices: all web
			p.Platforms = map[string]*counts{PlatformWeb: {Sent: p.Sent, Failed: p.Failed, Removed: p.Removed}}
		}
		for name, c := range p.Platforms {
			ps := st.Platforms[name]
			ps.Sent += c.Sent
			ps.Failed += c.Failed
			ps.Removed += c.Removed
			st.Platforms[name] = ps
		}
		st.Pending += max(len(p.Pending), p.PendingTotal)
		if events[parts[0]] == nil {
			events[parts[0]] = map[string]bool{}
		}
		events[parts[0]][parts[1]] = true
		if p.Done {
			st.JobsDone++
		}
		if p.Alert {
			if st.Funnel == nil {
				st.Funnel = newFunnel()
			}
			st.Funnel.add(&p.progress)
		}
	}
	s.stats.mu.Unlock()
	out := Stats{Subscriptions: s.index.Len(), Platforms: map[string]int{}, Items: make([]ItemStats, 0, len(byItem))}
	for p, n := range s.index.byPlatform() {
		out.Platforms[platform(p).String()] = n
	}
	for id, st := range byItem {
		if st.Funnel != nil {
			if it, ok := s.cfg.Log.Item(id); ok && it.AlertedAt != nil {
				st.Funnel.AlertedAt = *it.AlertedAt
			}
		}
		// Every event has one job per partition, recorded once it starts.
		st.Jobs = len(events[id]) * s.cfg.Partitions
		out.Items = append(out.Items, *st)
	}
	s.addReceipts(out.Items) // receipts.go
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].LastSeq > out.Items[j].LastSeq })
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
	}
	return out
}

func newFunnel() *Funnel {
	return &Funnel{FunnelCounts: FunnelCounts{Skipped: skipReasons()}, Platforms: map[string]FunnelCounts{}}
}

// skipReasons is a Skipped map with every reason, at zero.
func skipReasons() map[string]int {
	return map[string]int{SkipPriority: 0, SkipQuietHours: 0, SkipCap: 0}
}

// add counts one job of the alert event in the funnel: per platform and in
// total, the subscriptions it targeted and what came of each; those of a
// job not done that are neither sent, failed, removed nor skipped are
// pending.
func (f *Funnel) add(p *progress) {
	for name, c := range p.Platforms {
		fc, ok := f.Platforms[name]
		if !ok {
			fc.Skipped = skipReasons()
		}
		held := 0
		for reason, n := range c.Skipped {
			fc.Skipped[reason] += n
			f.Skipped[reason] += n
			held += n
		}
		pending := 0
		if !p.Done {
			pending = max(c.Targeted-c.Sent-c.Failed-c.Removed-held, 0)
		}
		fc.Targeted += c.Targeted
		fc.Sent += c.Sent
		fc.Failed += c.Failed
		fc.Removed += c.Removed
		fc.Pending += pending
		f.Platforms[name] = fc
		f.Targeted += c.Targeted
		f.Sent += c.Sent
		f.Failed += c.Failed
		f.Removed += c.Removed
		f.Pending += pending
	}
}
