package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
)

func types(ds []delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.msg.Type)
	}
	return out
}

// TestDeliveryEndToEnd: created, updated and retracted events reach a local
// receiver signed (checked with the reference library), with the public
// item and its seq; filters, event types and alerts_only are respected.
func TestDeliveryEndToEnd(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, 1, Options{}, r.hostPort())
	_, allKey := e.create(t, Input{URL: r.url("/all"), Events: Types})
	e.create(t, Input{URL: r.url("/europe-created"), Events: []string{TypeCreated}, Filter: Filter{Regions: []string{"europe"}}})
	e.create(t, Input{URL: r.url("/alerts"), Events: Types, AlertsOnly: true})

	a := e.publish(t, news.EventItem, item("asia"), nil, false, 0)
	a2 := a
	a2.Text = "Corrected text"
	a2 = e.publish(t, news.EventUpdate, a2, &a, false, a.Seq)
	a3 := e.publish(t, news.EventRetract, a2, &a2, false, a2.Seq)
	b := e.publish(t, news.EventItem, item("europe"), nil, true, 0)

	r.waitFor(t, "four events at /all", func([]delivery) bool { return len(r.deliveries("/all")) >= 4 })
	got := r.deliveries("/all")
	if want := []string{TypeCreated, TypeUpdated, TypeRetracted, TypeCreated}; !sameSet(types(got), want) {
		t.Errorf("/all got %v, want %v", types(got), want)
	}
	seqs := map[uint64]delivery{}
	for _, d := range got {
		verify(t, d, allKey)
		seqs[d.msg.Data.Seq] = d
		if d.header.Get("webhook-id") == "" || d.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", d.header)
		}
		if d.msg.Data.Editor != "" {
			t.Errorf("delivery names the editor: %+v", d.msg.Data)
		}
	}
	for _, it := range []news.Item{a, a2, a3, b} {
		d, ok := seqs[it.Seq]
		if !ok {
			t.Fatalf("no delivery of seq %d", it.Seq)
		}
		if want := MessageID(it.Seq, d.header.Get("webhook-id")[strings.LastIndexByte(d.header.Get("webhook-id"), '_')+1:]); d.header.Get("webhook-id") != want {
			t.Errorf("webhook-id %q", d.header.Get("webhook-id"))
		}
		if d.msg.Data.ID != it.ID || !d.msg.Timestamp.Equal(it.UpdatedAt) {
			t.Errorf("seq %d: delivered %+v at %v, want item %s at %v", it.Seq, d.msg.Data, d.msg.Timestamp, it.ID, it.UpdatedAt)
		}
	}
	if d := seqs[a2.Seq]; d.msg.Data.Text != "Corrected text" {
		t.Errorf("update delivered text %q", d.msg.Data.Text)
	}
	if d := seqs[a3.Seq]; d.msg.Data.Text != "" || d.msg.Data.Status != news.StatusRetracted {
		t.Errorf("retraction delivered %+v, want the redacted item", d.msg.Data)
	}

	r.waitFor(t, "the alert at /alerts and /europe-created", func([]delivery) bool {
		return len(r.deliveries("/alerts")) >= 1 && len(r.deliveries("/europe-created")) >= 1
	})
	// Give the planner time to have planned everything; then nothing else
	// may have arrived at the filtered endpoints.
	waitIdle(t, e)
	if got := r.deliveries("/europe-created"); len(got) != 1 || got[0].msg.Data.ID != b.ID {
		t.Errorf("/europe-created got %v", types(got))
	}
	if got := r.deliveries("/alerts"); len(got) != 1 || got[0].msg.Data.ID != b.ID || got[0].msg.Type != TypeCreated {
		t.Errorf("/alerts got %v", types(got))
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// waitIdle waits until the planner has acked every event and the work
// queue is empty.
func waitIdle(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	l := e.st.Layout()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		pc, err1 := e.st.JetStream().Consumer(ctx, l.NewsStream(), l.WebhookPlannerConsumer())
		js, err2 := e.st.JetStream().Stream(ctx, l.WebhookJobsStream())
		if err1 == nil && err2 == nil {
			pi, err1 := pc.Info(ctx)
			si, err2 := js.Info(ctx)
			if err1 == nil && err2 == nil && pi.NumPending == 0 && pi.NumAckPending == 0 && si.State.Msgs == 0 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("webhook planner and queue did not become idle")
}

// TestRetrySameID: a receiver that fails twice, then answers 200, gets the
// same webhook-id and body three times, each signed anew; the counts say
// one delivered, two failed, none pending.
func TestRetrySameID(t *testing.T) {
	r := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	e := newEnv(t, 1, Options{RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}, r.hostPort())
	id, key := e.create(t, Input{URL: r.url("/flaky"), Events: Types})
	it := e.publish(t, news.EventItem, item("asia"), nil, false, 0)
	r.waitFor(t, "three attempts", func(ds []delivery) bool { return len(ds) >= 3 })
	waitIdle(t, e)
	got := r.deliveries("/flaky")
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 3", len(got))
	}
	for _, d := range got {
		if d.header.Get("webhook-id") != MessageID(it.Seq, id) || string(d.body) != string(got[0].body) {
			t.Errorf("attempt with id %q body %s, want id %q and the first body", d.header.Get("webhook-id"), d.body, MessageID(it.Seq, id))
		}
		verify(t, d, key)
	}
	st := waitStats(t, e.svc[0], id, func(st Stats) bool { return st.Delivered == 1 })
	if st.Failed != 2 || st.Pending() != 0 || st.Last == nil || !st.Last.OK || st.Last.Status != 200 {
		t.Errorf("counts %+v (last %+v), want 1 delivered, 2 failed, 0 pending, last ok", st, st.Last)
	}
}

func waitStats(t *testing.T, s *Service, id string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.readStats(context.Background(), id)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts of %s: %+v (%v)", id, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGoneDisables: a 410 disables the endpoint: it is listed disabled and
// gets nothing more.
func TestGoneDisables(t *testing.T) {
	r := newReceiver(t, http.StatusGone)
	e := newEnv(t, 1, Options{}, r.hostPort())
	id, _ := e.create(t, Input{URL: r.url("/gone"), Events: Types})
	e.publish(t, news.EventItem, item("asia"), nil, false, 0)
	r.waitFor(t, "one attempt", func(ds []delivery) bool { return len(ds) >= 1 })
	waitIdle(t, e)
	ep, _, err := e.svc[0].Get(context.Background(), id)
	if err != nil || ep.DisabledAt == nil {
		t.Fatalf("endpoint after 410: %+v, %v; want disabled", ep, err)
	}
	for !func() bool {
		e.svc[0].mu.RLock()
		defer e.svc[0].mu.RUnlock()
		return e.svc[0].known[id].DisabledAt != nil
	}() {
		time.Sleep(5 * time.Millisecond)
	}
	e.publish(t, news.EventItem, item("asia"), nil, false, 0)
	waitIdle(t, e)
	if n := len(r.deliveries("/gone")); n != 1 {
		t.Errorf("%d requests, want only the one answered 410", n)
	}
	l, err := e.svc[0].List(context.Background())
	if err != nil || len(l) != 1 || l[0].DisabledAt == nil || l[0].Failed != 1 || l[0].LastDelivery == nil || l[0].LastDelivery.Status != 410 {
		t.Errorf("listed %+v (%v)", l, err)
	}
}

// TestRotation: after a rotation deliveries carry two signatures, one that
// verifies with the old secret and one with the new; the old one stops
// signing after RotationGrace.
func TestRotation(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, 1, Options{}, r.hostPort())
	id, old := e.create(t, Input{URL: r.url("/rot"), Events: Types})
	fresh, err := e.svc[0].Rotate(context.Background(), id)
	if err != nil || fresh == old || !strings.HasPrefix(fresh, SecretPrefix) {
		t.Fatalf("Rotate = %q, %v", fresh, err)
	}
	e.publish(t, news.EventItem, item("asia"), nil, false, 0)
	got := r.waitFor(t, "one delivery", func(ds []delivery) bool { return len(ds) >= 1 })
	if sigs := strings.Fields(got[0].header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("signature header %q, want two signatures", got[0].header.Get("webhook-signature"))
	}
	verify(t, got[0], old, fresh)

	ep, _, err := e.svc[0].Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if keys := ep.signingKeys(time.Now().Add(RotationGrace + time.Minute)); len(keys) != 1 {
		t.Errorf("%d keys sign after the grace, want 1", len(keys))
	}
	if _, err := e.svc[0].Rotate(context.Background(), "aaaaaaaaaaaaaaaaaaaa"); err != ErrNotFound {
		t.Errorf("Rotate(unknown) = %v, want ErrNotFound", err)
	}
}

// TestTwoInstancesDeliverOnce: two instances on one NATS plan and deliver
// each event once (the receiver always answers 200).
func TestTwoInstancesDeliverOnce(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, 2, Options{}, r.hostPort())
	id, _ := e.create(t, Input{URL: r.url("/two"), Events: Types})
	const n = 20
	for range n {
		e.publish(t, news.EventItem, item("asia"), nil, false, 0)
	}
	r.waitFor(t, "every event", func(ds []delivery) bool { return len(ds) >= n })
	waitIdle(t, e)
	seen := map[string]int{}
	for _, d := range r.deliveries("/two") {
		seen[d.header.Get("webhook-id")]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct webhook-ids, want %d", len(seen), n)
	}
	for wid, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times", wid, c)
		}
	}
	st := waitStats(t, e.svc[1], id, func(st Stats) bool { return st.Delivered == n })
	if st.Planned != n || st.Pending() != 0 {
		t.Errorf("counts %+v", st)
	}
}
