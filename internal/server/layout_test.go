package server_test

import (
	"context"
	"testing"
	"time"

	"newsflash/internal/pushsink"
	"newsflash/internal/server"
)

// TestPushTwoStreamNamesOneNATS: two deployments with different stream
// names on one NATS share nothing: not items, not push subscriptions, not
// push jobs; each pushes its own items to its own subscribers only.
func TestPushTwoStreamNamesOneNATS(t *testing.T) {
	url := runNATS(t)
	envA, envB := newPushEnv(t), newPushEnv(t)
	a := start(t, options{natsURL: url, mutate: withPush(envA)})
	b := start(t, options{natsURL: url, mutate: func(c *server.Options) {
		withPush(envB)(c)
		c.Stream.StreamName = "WIRE"
	}})
	subA, subB := a.subscribe(envA, `{}`), b.subscribe(envB, `{}`)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for a.srv.Push().Subscriptions() != 1 || b.srv.Push().Subscriptions() != 1 {
		if ctx.Err() != nil {
			t.Fatalf("subscriptions known: a %d, b %d; want 1 each (their own)", a.srv.Push().Subscriptions(), b.srv.Push().Subscriptions())
		}
		time.Sleep(10 * time.Millisecond)
	}
	x := a.post(alertItem("on a", "en", []string{"mena"}, nil))
	y := b.post(alertItem("on b", "en", []string{"mena"}, nil))
	if status, _, body := a.do("GET", "/api/v1/items/"+y.ID, "", nil); status != 404 {
		t.Fatalf("a serves b's item: %d %s", status, body)
	}
	endA := a.post(alertItem("end a", "en", []string{"mena"}, nil))
	endB := b.post(alertItem("end b", "en", []string{"mena"}, nil))
	waitPushes(t, envA, 2)
	waitPushes(t, envB, 2)
	for _, c := range []struct {
		name string
		env  *pushEnv
		sub  pushsink.Subscription
		want []string
	}{
		{"a", envA, subA, []string{x.ID, endA.ID}},
		{"b", envB, subB, []string{y.ID, endB.ID}},
	} {
		ps, _ := messages(t, c.env, c.sub)
		got := map[string]int{}
		for _, p := range ps {
			got[p.Item.ID]++
		}
		if len(ps) != len(c.want) || got[c.want[0]] != 1 || got[c.want[1]] != 1 {
			t.Errorf("deployment %s pushed %v, want its own %v", c.name, got, c.want)
		}
	}
	// Each deployment's push state is under its own names.
	js := a.srv.Stream().JetStream()
	for _, name := range []string{"NEWSFLASH_PUSH", "KV_NEWSFLASH_push_subscriptions", "WIRE_PUSH", "KV_WIRE_push_subscriptions", "WIRE_AUDIT"} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}
