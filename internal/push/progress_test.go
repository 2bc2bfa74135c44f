package push

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

// longHost is a distinct DNS name of 242 bytes.
func longHost(i int) string {
	return fmt.Sprintf("h%05d", i) + strings.Repeat("a", 55) + "." + strings.Repeat("b", 60) + "." +
		strings.Repeat("c", 60) + "." + strings.Repeat("d", 50) + ".example"
}

// TestProgressRecordBounded: whatever the number of hosts and of sends
// waiting for a retry, the saved record fits the progress bucket, and it
// never says more is done than is: a send it skips after a restart is
// finished and not waiting for a retry; a send waiting for a retry that it
// does not list is sent again (its host's checkpoint stays below it).
func TestProgressRecordBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomID := func() string { return fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()) }
	for _, tc := range []struct {
		name           string
		hosts, perHost int
		pendingShare   float64 // of the finished sends
	}{
		{"few hosts", 3, 200, 0.01},
		{"many long hosts", 3000, 2, 0},
		{"many long hosts, many pending", 2000, 3, 0.5},
		{"one host, all pending", 1, 20000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := progress{Sent: 7, Failed: 3, Removed: 1, Hosts: map[string]string{}, Pending: map[string]int{}}
			weight := map[string]int{}
			targets := map[string][]string{} // host → ids, sorted
			for h := range tc.hosts {
				host := longHost(h)
				if tc.hosts <= 3 {
					host = fmt.Sprintf("push%d.example", h)
				}
				var ids []string
				for range tc.perHost + h%5 {
					ids = append(ids, randomID())
				}
				slices.Sort(ids)
				targets[host], weight[host] = ids, len(ids)
				done := len(ids) / 2
				if h%3 == 0 {
					done = len(ids)
				}
				if done == 0 {
					continue
				}
				full.Hosts[host] = ids[done-1]
				for _, id := range ids[:done] {
					if rng.Float64() < tc.pendingShare {
						full.Pending[id] = 1 + rng.IntN(3)
					}
				}
			}
			full.Done = false
			rec := full.record(weight)
			b, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > progressValueMax {
				t.Fatalf("record of %d bytes, limit %d", len(b), progressValueMax)
			}
			if rec.Sent != full.Sent || rec.Failed != full.Failed || rec.Removed != full.Removed {
				t.Fatalf("counts changed: %+v", rec)
			}
			if want := len(full.Pending); max(len(rec.Pending), rec.PendingTotal) != want {
				t.Fatalf("record says %d pending (%d listed), want %d", rec.PendingTotal, len(rec.Pending), want)
			}
			var skipped, resent int
			for host, ids := range targets {
				for _, id := range ids {
					_, listed := rec.Pending[id]
					cp, ok := rec.Hosts[host]
					covered := ok && id <= cp
					_, pending := full.Pending[id]
					fullCP, fullOK := full.Hosts[host]
					finished := fullOK && id <= fullCP
					switch {
					case listed && !pending:
						t.Fatalf("%s listed as pending but is not", id)
					case covered && !listed && (!finished || pending):
						t.Fatalf("host %s: %s skipped after a restart but not done (pending %v)", host[:10], id, pending)
					case pending && !listed && covered:
						t.Fatalf("%s waits for a retry but would be lost", id)
					case covered && !listed:
						skipped++
					case finished && !pending:
						resent++
					}
				}
			}
			t.Logf("record %d bytes: %d hosts of %d, %d pending of %d listed; after a restart %d skipped, %d finished sent again",
				len(b), len(rec.Hosts), len(full.Hosts), len(rec.Pending), len(full.Pending), skipped, resent)
			if tc.hosts <= 3 && tc.pendingShare < 0.1 && resent != 0 {
				t.Errorf("a record with room for everything sends %d again", resent)
			}
		})
	}
}

// TestJobWithManyHostsFinishes: a job whose subscriptions are on more
// distinct push-service hosts than one checkpoint each fits in the
// progress bucket's value limit still saves its progress and finishes.
// (The hosts are no longer allowed by the policy, so the sends are refused
// before any dial.)
func TestJobWithManyHostsFinishes(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	ps, err := env.sink.Subscribe(env.url)
	if err != nil {
		t.Fatal(err)
	}
	const hosts = 300
	for i := range hosts {
		ep := "https://" + longHost(i) + "/push/" + fmt.Sprint(i)
		env.store(t, Subscription{ID: IDFor(ep), Endpoint: ep, P256dh: ps.Keys.P256dh, Auth: ps.Keys.Auth})
	}
	env.store(t, Subscription{ID: IDFor(ps.Endpoint), Endpoint: ps.Endpoint, P256dh: ps.Keys.P256dh, Auth: ps.Keys.Auth})
	prog := env.deliverAll(t, env.post("To many hosts", news.PriorityFlash))[0]
	if !prog.Done || prog.Sent != 1 || prog.Failed != hosts {
		t.Fatalf("progress done %v, sent %d, failed %d; want done, 1 and %d", prog.Done, prog.Sent, prog.Failed, hosts)
	}
	if m := env.sink.Messages(ps.ID()); len(m) != 1 || m[0].Status != http.StatusCreated {
		t.Fatalf("the allowed subscription got %d messages", len(m))
	}
}
