package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// reader is a WebSocket reader that follows the resume rule: on any failure
// it reconnects, to the next instance in its list, with since and epoch.
type reader struct {
	name    string
	targets []string // base URLs, the first preferred

	mu         sync.Mutex
	seen       map[string]int // item id → times received
	lastSeq    uint64
	outOfOrder int
	reloads    int // welcomes with recovered false after the first
	reconnects int
	cursor     uint64
	epoch      string
}

func newReader(name string, targets ...string) *reader {
	return &reader{name: name, targets: targets, seen: map[string]int{}}
}

func (r *reader) run(ctx context.Context, t *testing.T, ready chan<- struct{}) {
	first := true
	for attempt := 0; ctx.Err() == nil; attempt++ {
		base := r.targets[attempt%len(r.targets)]
		q := "backfill=0"
		r.mu.Lock()
		if !first {
			q = fmt.Sprintf("since=%d&epoch=%s", r.cursor, r.epoch)
			r.reconnects++
		}
		r.mu.Unlock()
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws?"+q, nil)
		cancel()
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		conn.SetReadLimit(1 << 20)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				break
			}
			var f struct {
				Type      string
				Seq       uint64
				Epoch     string
				Recovered bool
				Item      struct{ ID string }
			}
			if err := json.Unmarshal(b, &f); err != nil {
				t.Errorf("%s: frame %s", r.name, b)
				continue
			}
			r.mu.Lock()
			switch f.Type {
			case "welcome":
				if !f.Recovered {
					if !first {
						r.reloads++
					}
					r.cursor = f.Seq
				}
				r.epoch = f.Epoch
				if first {
					first = false
					close(ready)
				}
			default:
				r.seen[f.Item.ID]++
				if f.Seq <= r.lastSeq {
					r.outOfOrder++
				}
				r.lastSeq = f.Seq
				r.cursor = f.Seq
			}
			r.mu.Unlock()
		}
		conn.CloseNow()
	}
}

// has reports whether the reader got every id.
func (r *reader) has(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.seen[id] == 0 {
			return false
		}
	}
	return true
}

// poster posts items with one Idempotency-Key each, retrying on 503 and
// network errors (on the other instances too) until it gets a 201.
type poster struct {
	targets []string

	mu        sync.Mutex
	posted    int
	acked     []string
	retries   int
	refusals  map[int]int // status → count of answers that were not 201
	unexpects []string
}

func newPoster(targets ...string) *poster {
	return &poster{targets: targets, refusals: map[int]int{}}
}

func (p *poster) run(ctx context.Context, n int, every time.Duration, region string, afterEach func(i int)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		<-tick.C
		p.mu.Lock()
		p.posted++
		p.mu.Unlock()
		key := fmt.Sprintf("item-%d", i)
		// An alert: pushed to subscriptions as well as shown to readers.
		body := fmt.Sprintf(`{"text":"Fault test item %d","lang":"en","regions":[%q],"alert":true}`, i, region)
		for attempt := 0; ctx.Err() == nil; attempt++ {
			pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			status, id, _, err := post(pctx, p.targets[(i+attempt)%len(p.targets)], key, body)
			cancel()
			if err == nil && status == http.StatusCreated {
				p.mu.Lock()
				p.acked = append(p.acked, id)
				p.mu.Unlock()
				break
			}
			p.mu.Lock()
			p.retries++
			if err == nil {
				p.refusals[status]++
				if status != http.StatusServiceUnavailable {
					p.unexpects = append(p.unexpects, fmt.Sprintf("item %d: status %d", i, status))
				}
			}
			p.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
		if afterEach != nil {
			afterEach(i)
		}
	}
}

func (p *poster) ackedIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.acked...)
}

// summary checks every reader against every acknowledged item and prints
// the case's line: posted, acked, delivered, lost, duplicated.
func summary(t *testing.T, name string, p *poster, readers []*reader) {
	t.Helper()
	acked := p.ackedIDs()
	delivered, lost, dup, order, reloads, reconnects := 0, 0, 0, 0, 0, 0
	for _, r := range readers {
		r.mu.Lock()
		for _, id := range acked {
			switch n := r.seen[id]; {
			case n == 0:
				lost++
			default:
				delivered++
				dup += n - 1
			}
		}
		order += r.outOfOrder
		reloads += r.reloads
		reconnects += r.reconnects
		r.mu.Unlock()
	}
	p.mu.Lock()
	line := fmt.Sprintf("%s: posted=%d acked=%d delivered=%d lost=%d duplicated=%d (readers=%d reconnects=%d reloads=%d out-of-order=%d post-retries=%d refusals=%v)",
		name, p.posted, len(acked), delivered, lost, dup, len(readers), reconnects, reloads, order, p.retries, p.refusals)
	unexpected := append([]string(nil), p.unexpects...)
	p.mu.Unlock()
	t.Log(line)
	fmt.Println("summary " + line)
	if lost != 0 || dup != 0 || order != 0 || reloads != 0 {
		t.Errorf("lost %d, duplicated %d, out of order %d, reloads %d: want 0", lost, dup, order, reloads)
	}
	if len(acked) != p.posted {
		t.Errorf("%d of %d posts never got a 201", p.posted-len(acked), p.posted)
	}
	for _, u := range unexpected {
		t.Errorf("a post answered neither 201 nor 503: %s", u)
	}
}

// waitAll waits until every reader has every acknowledged item.
func waitAll(t *testing.T, p *poster, readers []*reader, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ok := true
		for _, r := range readers {
			if !r.has(p.ackedIDs()) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
