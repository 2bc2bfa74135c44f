package push

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
)

// progressValueMax is the value size limit of the progress bucket. A saved
// record lists per-host checkpoints in at most hostsBudget bytes of JSON
// and sends waiting for a retry in at most pendingBudget; the counts and
// field names take the rest.
const (
	progressValueMax = 64 << 10
	hostsBudget      = 36 << 10
	pendingBudget    = 20 << 10
)

// progress is a job's checkpoint and counts, kept in the progress bucket so
// that another instance can finish a job this one did not.
type progress struct {
	Done bool `json:"done"`
	// Alert says the job is one of the alert event's (news.Event.Alert),
	// whose counts make the item's funnel; set when the run starts.
	Alert bool `json:"alert,omitempty"`
	// Hosts holds, per push-service host, the highest subscription id up to
	// which every send of the first pass has finished (ids are sent in order).
	Hosts map[string]string `json:"hosts,omitempty"`
	// Pending are sends to retry: subscription id → attempts made.
	Pending map[string]int `json:"pending,omitempty"`
	// PendingTotal, in a saved record, is how many sends wait for a retry
	// when Pending lists only some of them (see record).
	PendingTotal int `json:"pending_total,omitempty"`
	Sent         int `json:"sent"`
	Failed       int `json:"failed"`
	Removed      int `json:"removed"`
	// Skipped says why a job sent nothing: "superseded" or "expired".
	Skipped string `json:"skipped,omitempty"`
	// Platforms splits Sent, Failed and Removed by platform (web, android,
	// ios); records of jobs before devices existed have none (all web).
	Platforms map[string]*counts `json:"platforms,omitempty"`
}

// counts are a job's finished sends of one platform; for the alert event,
// also the subscriptions it targeted and those held back, by reason.
type counts struct {
	Sent     int            `json:"sent"`
	Failed   int            `json:"failed"`
	Removed  int            `json:"removed"`
	Targeted int            `json:"targeted,omitempty"`
	Skipped  map[string]int `json:"skipped,omitempty"`
	// TimeToSent counts, for an alert's job, the time from the alert to
	// each send that succeeded (histogram.go); nil before the first.
	TimeToSent *hist `json:"time_to_sent,omitempty"`
}

// of is the counts of a platform, made when missing; callers hold the
// run's mu (or own p).
func (p *progress) of(pl platform) *counts {
	if p.Platforms == nil {
		p.Platforms = map[string]*counts{}
	}
	c := p.Platforms[pl.String()]
	if c == nil {
		c = &counts{}
		p.Platforms[pl.String()] = c
	}
	return c
}

// record is p as saved: its JSON fits progressValueMax whatever the
// number of hosts and of sends waiting for a retry, and it never says more
// is done than is, so a job redone from it may send again, never skip.
//
//   - Pending lists the lowest subscription ids that fit pendingBudget; the
//     first one left out is the cut, and PendingTotal says how many wait.
//   - Hosts keeps the checkpoints of the hosts with the most of the job's
//     sends (weight) that fit hostsBudget: a host left out is sent again
//     from its start after a crash, which costs little for a host with few
//     subscriptions (as the many hosts of junk subscriptions have). A
//     checkpoint at or past the cut is moved just below it, so a send
//     waiting for a retry that is not listed is sent again, not lost.
//
// Callers hold the run's mu (or own p).
func (p *progress) record(weight map[string]int) progress {
	out := *p
	out.Hosts, out.Pending, out.PendingTotal = nil, nil, 0
	if p.Platforms != nil { // copied: the record is encoded without the run's lock
		out.Platforms = make(map[string]*counts, len(p.Platforms))
		for k, c := range p.Platforms {
			cc := *c
			cc.Skipped = maps.Clone(c.Skipped)
			if c.TimeToSent != nil {
				h := *c.TimeToSent
				cc.TimeToSent = &h
			}
			out.Platforms[k] = &cc
		}
	}
	cut := ""
	if len(p.Pending) > 0 {
		ids := make([]string, 0, len(p.Pending))
		for id := range p.Pending {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		out.Pending = make(map[string]int, len(ids))
		size := 0
		for _, id := range ids {
			a := p.Pending[id]
			size += jsonLen(id) + len(strconv.Itoa(a)) + 2 // "id":a,
			if size > pendingBudget {
				cut = id
				out.PendingTotal = len(ids)
				break
			}
			out.Pending[id] = a
		}
	}
	if len(p.Hosts) > 0 {
		hosts := make([]string, 0, len(p.Hosts))
		for h := range p.Hosts {
			hosts = append(hosts, h)
		}
		slices.SortFunc(hosts, func(a, b string) int {
			return cmp.Or(cmp.Compare(weight[b], weight[a]), cmp.Compare(a, b))
		})
		out.Hosts = make(map[string]string, min(len(hosts), 256))
		size := 0
		for _, h := range hosts {
			cp := p.Hosts[h]
			if cut != "" && cp >= cut {
				if cp = idBefore(cut); cp == "" {
					continue
				}
			}
			n := jsonLen(h) + jsonLen(cp) + 2 // "host":"id",
			if size+n > hostsBudget {
				continue
			}
			size += n
			out.Hosts[h] = cp
		}
	}
	return out
}

// jsonLen bounds the length of s as a JSON string: escapes and invalid
// UTF-8 (written as \ufffd) counted at their longest.
func jsonLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '<' || c == '>' || c == '&' || c >= 0x80:
			n += 6
		case c == '"' || c == '\\':
			n += 2
		default:
			n++
		}
	}
	return n
}

// idBefore is the greatest subscription id (32 lower-case hex digits, see
// IDFor) below id, or "" when there is none or id is not such an id: then
// no checkpoint can be kept below it.
func idBefore(id string) string {
	if len(id) != 32 {
		return ""
	}
	b := []byte(id)
	for i := len(b) - 1; i >= 0; i-- {
		switch c := b[i]; {
		case c == '0':
			b[i] = 'f' // borrow
			continue
		case c == 'a':
			b[i] = '9'
		case c > 'a' && c <= 'f' || c > '0' && c <= '9':
			b[i] = c - 1
		default:
			return ""
		}
		for _, c := range b[:i] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return ""
			}
		}
		return string(b)
	}
	return "" // all zeros
}
