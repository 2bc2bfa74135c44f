package push

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/pushsink"
	"newsflash/internal/stream"
)

// TestPushStateFollowsStreamName: the push service keeps its buckets, work
// queue and consumers under the names its stream layout gives. With the
// default layout they are the names of earlier versions, so an upgrade
// keeps the subscriptions; with another stream name they are apart, so two
// deployments on one NATS neither plan nor queue each other's events.
func TestPushStateFollowsStreamName(t *testing.T) {
	js := runJetStream(t)
	def, wire := stream.NewLayout(""), stream.NewLayout("WIRE")
	createNewsStream(t, js, def)
	createNewsStream(t, js, wire)
	newTestEnvOn(t, js, def, 2, pushsink.Options{})
	envWire := newTestEnvOn(t, js, wire, 3, pushsink.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The default names, spelled out: what a deployment made before
	// the names came from the stream layout.
	for _, name := range []string{"KV_NEWSFLASH_push_subscriptions", "KV_NEWSFLASH_push_progress", "NEWSFLASH_PUSH",
		"KV_WIRE_push_subscriptions", "KV_WIRE_push_progress", "WIRE_PUSH"} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	jobs, err := js.Stream(ctx, "NEWSFLASH_PUSH")
	if err != nil {
		t.Fatal(err)
	}
	if subj := jobs.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != "newsflash.push.jobs" {
		t.Errorf("default jobs subjects %v", subj)
	}
	if c, err := js.Consumer(ctx, "NEWSFLASH", "NEWSFLASH_push_planner"); err != nil {
		t.Errorf("default planner consumer: %v", err)
	} else if f := c.CachedInfo().Config.FilterSubject; f != "newsflash.items.*" {
		t.Errorf("default planner filter %q", f)
	}
	if _, err := js.Consumer(ctx, "WIRE", "WIRE_push_planner"); err != nil {
		t.Errorf("WIRE planner consumer: %v", err)
	}

	// An event on WIRE's news stream reaches WIRE's planner only, and its
	// jobs go to WIRE's work queue only.
	id := "abcdefghijklmnopqrst"
	ack, err := js.Publish(ctx, wire.ItemSubject(id), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	planned := func(l stream.Layout) []string {
		t.Helper()
		cons, err := js.Consumer(ctx, l.NewsStream(), l.PlannerConsumer())
		if err != nil {
			t.Fatal(err)
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for m := range batch.Messages() {
			got = append(got, m.Subject())
			_ = m.Nak()
		}
		return got
	}
	if got := planned(wire); len(got) != 1 || got[0] != wire.ItemSubject(id) {
		t.Errorf("WIRE's planner got %v", got)
	}
	if got := planned(def); len(got) != 0 {
		t.Errorf("the default planner got WIRE's event: %v", got)
	}
	if err := envWire.s.publishJobs(ctx, job{Seq: ack.Sequence, Item: id}); err != nil {
		t.Fatal(err)
	}
	queued := func(name string) uint64 {
		t.Helper()
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.Msgs
	}
	if n := queued(wire.PushJobsStream()); n != 3 {
		t.Errorf("WIRE's work queue holds %d jobs, want 3 (one per partition)", n)
	}
	if n := queued(def.PushJobsStream()); n != 0 {
		t.Errorf("the default work queue holds %d jobs of WIRE's event", n)
	}
}
