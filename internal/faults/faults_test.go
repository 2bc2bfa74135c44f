package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"newsflash/internal/pushsink"
)

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests take minutes: run without -short")
	}
}

// startReaders starts readers and waits until each has its welcome.
func startReaders(ctx context.Context, t *testing.T, readers ...*reader) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for _, r := range readers {
		ready := make(chan struct{})
		wg.Add(1)
		go func() { defer wg.Done(); r.run(ctx, t, ready) }()
		select {
		case <-ready:
		case <-time.After(time.Minute):
			t.Fatalf("reader %s never connected", r.name)
		}
	}
	return &wg
}

// flow runs readers while a poster posts n items, waits for them, and
// checks the summary; it returns the poster for further checks.
func flow(t *testing.T, name string, readers []*reader, p *poster, n int, every time.Duration, region string, afterEach func(int), limit time.Duration) *poster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wg := startReaders(ctx, t, readers...)
	p.run(ctx, n, every, region, afterEach)
	waitAll(t, p, readers, limit)
	cancel()
	wg.Wait()
	summary(t, name, p, readers)
	return p
}

func addrs(t *testing.T, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	return out
}

// Case 1: readers spread over both instances get every item posted to
// either, in stream order.
func TestReadersOnTwoInstances(t *testing.T) {
	skipShort(t)
	c := newCluster(t)
	ad := addrs(t, 2)
	a := startProc(t, "a", ad[0], "--nats-url", c.url())
	b := startProc(t, "b", ad[1], "--nats-url", c.url())
	flow(t, "readers on two instances", []*reader{newReader("a1", a.url()), newReader("a2", a.url()), newReader("b1", b.url()), newReader("b2", b.url())}, newPoster(a.url(), b.url()), 100, 20*time.Millisecond, "mena", nil, time.Minute)
}

// Case 2: the stream leader is killed during a steady flow of posts: every
// post that got 201 reaches every reader, none twice; the others answered
// 503 and were retried with the same Idempotency-Key.
func TestStreamLeaderKilled(t *testing.T) {
	skipShort(t)
	c := newCluster(t)
	ad := addrs(t, 2)
	a := startProc(t, "a", ad[0], "--nats-url", c.url())
	b := startProc(t, "b", ad[1], "--nats-url", c.url())
	killed := -1
	flow(t, "stream leader killed", []*reader{newReader("a1", a.url(), b.url()), newReader("b1", b.url(), a.url()), newReader("a2", a.url(), b.url())},
		newPoster(a.url(), b.url()), 150, 50*time.Millisecond, "europe", func(i int) {
			switch i {
			case 40:
				killed = c.leader("NEWSFLASH")
				if killed < 0 {
					t.Error("no stream leader found")
					return
				}
				t.Logf("killing the stream leader %s", c.name(killed))
				c.kill(killed)
			case 110:
				if killed >= 0 {
					c.start(killed)
					c.waitReady(killed)
				}
			}
		}, 2*time.Minute)
}

// Case 2b: the NATS server an instance is connected to is killed. The
// instance knows only that server at start (it learns the others from the
// cluster), so it must move to another and go on following the stream.
func TestConnectedNATSServerKilled(t *testing.T) {
	skipShort(t)
	c := newCluster(t)
	ad := addrs(t, 2)
	a := startProc(t, "a", ad[0], "--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", c.client[0]))
	b := startProc(t, "b", ad[1], "--nats-url", c.url())
	flow(t, "connected NATS server killed", []*reader{newReader("a1", a.url()), newReader("a2", a.url()), newReader("b1", b.url())}, newPoster(b.url(), a.url()), 120, 50*time.Millisecond, "palestine",
		func(i int) {
			switch i {
			case 30:
				t.Logf("killing %s, the NATS server instance a is connected to", c.name(0))
				c.kill(0)
			case 100:
				c.start(0)
				c.waitReady(0)
			}
		}, 2*time.Minute)
}

// Case 3: a Newsflash instance is killed (SIGKILL). Its readers reconnect
// to the other with since and miss nothing; its unfinished push deliveries
// (Web Push, and on Linux FCM and APNs through local stand-ins) are
// completed by the survivor.
func TestInstanceKilled(t *testing.T) {
	skipShort(t)
	// Sends in flight per push host and per app provider, small so that a
	// few are under way at the kill and the repeats they may cause are few.
	const perHost, perProvider = 16, 16
	// Every push service answers this slowly, so that deliveries are under
	// way when the instance dies.
	const slow = 300 * time.Millisecond
	c := newCluster(t)
	sink := pushsink.New(pushsink.Options{})
	ss := httptest.NewServer(sink)
	defer ss.Close()
	host := strings.TrimPrefix(ss.URL, "http://")
	pushFlags := []string{"--nats-url", c.url(), "--vapid-subject", "mailto:ops@newsroom.example",
		"--push-insecure-test-endpoints", host, "--push-subscribe-per-hour", "1000", "--push-per-host", strconv.Itoa(perHost),
		// The test registers its 90 receivers from one address at once.
		"--api-requests-per-second", "0"}
	var apps *appStandIns
	var env []string
	hosts := []string{host}
	if why := appsSupported(); why != "" {
		t.Logf("web push only: %s", why)
	} else {
		apps = startAppStandIns(t, slow)
		pushFlags = append(pushFlags, apps.args...)
		pushFlags = append(pushFlags, "--fcm-concurrency", strconv.Itoa(perProvider), "--apns-concurrency", strconv.Itoa(perProvider))
		env = apps.env
		hosts = append(hosts, "fcm", "apns") // the host label of app sends
	}
	ad := addrs(t, 2)
	a := startProcEnv(t, "a", ad[0], env, pushFlags...)
	b := startProcEnv(t, "b", ad[1], env, pushFlags...)

	// As many receivers on each platform, all for every item.
	const subs = 30
	var sinkSubs []pushsink.Subscription
	var androids, iphones []string
	for i := 0; i < subs; i++ {
		s, err := sink.Subscribe(ss.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"subscription": s, "filter": map[string]any{}})
		res, err := http.Post(b.url()+"/api/v1/push/subscriptions", "application/json", strings.NewReader(string(body)))
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("subscribe: %v %v", res, err)
		}
		res.Body.Close()
		delays := make([]pushsink.Response, 20)
		for j := range delays {
			delays[j] = pushsink.Response{Delay: slow}
		}
		sink.Respond(s.ID(), delays...)
		sinkSubs = append(sinkSubs, s)
		if apps != nil {
			androids, iphones = append(androids, androidToken(i)), append(iphones, iosToken(i))
			registerDevice(t, b.url(), "android", androids[i])
			registerDevice(t, b.url(), "ios", iphones[i])
		}
	}

	p := flow(t, "instance killed (readers)", []*reader{newReader("a1", a.url(), b.url()), newReader("a2", a.url(), b.url()), newReader("b1", b.url(), a.url())}, newPoster(b.url(), a.url()), 20, 100*time.Millisecond, "asia",
		func(i int) {
			if i == 10 {
				// Killed once it is seen delivering on every platform, so
				// that it dies with sends under way.
				if !sendingToAll(a.url(), hosts, 15*time.Second) {
					t.Log("instance a made no sends to some push service yet: killing it anyway")
				}
				t.Log("killing instance a")
				a.kill()
			}
		}, time.Minute)

	// Push: every receiver gets every item. Jobs the dead instance held
	// come back to the survivor after the work queue's ack wait (1 min).
	platforms := []platformCheck{{name: "web", inFlight: perHost, received: func() []map[string]int {
		out := make([]map[string]int, len(sinkSubs))
		for i, s := range sinkSubs {
			out[i] = map[string]int{}
			for _, m := range sink.Messages(s.ID()) {
				var pl struct{ Item struct{ ID string } }
				if m.Err == nil && json.Unmarshal(m.Payload, &pl) == nil {
					out[i][pl.Item.ID]++
				}
			}
		}
		return out
	}}}
	if apps != nil {
		platforms = append(platforms,
			platformCheck{name: "android", inFlight: perProvider, received: func() []map[string]int { return apps.fcmReceived(androids) }},
			platformCheck{name: "ios", inFlight: perProvider, received: func() []map[string]int { return apps.apnsReceived(iphones) }})
	}
	checkPushed(t, "instance killed", p.ackedIDs(), time.Now().Add(4*time.Minute), platforms...)
}

// Case 4: the whole cluster is restarted: history, editors' idempotency
// keys and push subscriptions survive.
func TestWholeClusterRestart(t *testing.T) {
	skipShort(t)
	c := newCluster(t)
	sink := pushsink.New(pushsink.Options{})
	ss := httptest.NewServer(sink)
	defer ss.Close()
	ad := addrs(t, 1)
	a := startProc(t, "a", ad[0], "--nats-url", c.url(), "--vapid-subject", "mailto:ops@newsroom.example",
		"--push-insecure-test-endpoints", strings.TrimPrefix(ss.URL, "http://"))
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		status, id, _, err := post(ctx, a.url(), fmt.Sprintf("restart-%d", i), fmt.Sprintf(`{"text":"Before restart %d","lang":"en","regions":["africa"]}`, i))
		if err != nil || status != 201 {
			t.Fatalf("post: %d %v", status, err)
		}
		ids = append(ids, id)
	}
	s, _ := sink.Subscribe(ss.URL)
	body, _ := json.Marshal(map[string]any{"subscription": s, "filter": map[string]any{"regions": []string{"africa"}}})
	if res, err := http.Post(a.url()+"/api/v1/push/subscriptions", "application/json", strings.NewReader(string(body))); err != nil || res.StatusCode != 201 {
		t.Fatalf("subscribe: %v %v", res, err)
	}

	a.kill()
	for i := range 3 {
		c.kill(i)
	}
	for i := range 3 {
		c.start(i)
	}
	for i := range 3 {
		c.waitReady(i)
	}
	a.restart()

	// History survived, in order.
	res, err := http.Get(a.url() + "/api/v1/items?regions=africa")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []struct{ ID string } }
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	var got []string
	for _, it := range list.Items {
		got = append(got, it.ID)
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("items after the restart %v, want %v", got, want)
	}
	// The idempotency key is remembered: the retry publishes nothing.
	status, id, _, err := post(ctx, a.url(), "restart-2", `{"text":"Before restart 2","lang":"en","regions":["africa"]}`)
	if err != nil || status != 201 || id != ids[2] {
		t.Fatalf("retry after restart: %d %s %v, want the original %s", status, id, err, ids[2])
	}
	// The subscription survived: a new item reaches it.
	status, newID, _, err := post(ctx, a.url(), "after-restart", `{"text":"After restart","lang":"en","regions":["africa"],"alert":true}`)
	if err != nil || status != 201 {
		t.Fatalf("post after restart: %d %v", status, err)
	}
	// (It may also get items posted before it subscribed whose delivery
	// jobs ran after it did.)
	pushed := func() bool {
		for _, m := range sink.Messages(s.ID()) {
			var pl struct{ Item struct{ ID string } }
			if m.Err == nil && json.Unmarshal(m.Payload, &pl) == nil && pl.Item.ID == newID {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(time.Minute); !pushed(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the push subscription did not survive the restart: the new item never reached it")
		}
	}
	line := fmt.Sprintf("whole cluster restart: items=%d kept, idempotent retry replayed, push subscription kept", len(got))
	t.Log(line)
	fmt.Println("summary " + line)
}
