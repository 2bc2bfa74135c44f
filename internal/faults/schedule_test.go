package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/pushsink"
	"newsflash/internal/stream"
)

// Case: the instance that accepted a scheduled alert is SIGKILLed just
// before it is due. The other instance publishes it: exactly one item
// event in the stream, exactly one notification.
func TestScheduledAlertInstanceKilled(t *testing.T) {
	skipShort(t)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		SyncAlways: true, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })

	sink := pushsink.New(pushsink.Options{})
	ss := httptest.NewServer(sink)
	defer ss.Close()
	host := strings.TrimPrefix(ss.URL, "http://")
	flags := []string{"--nats-url", ns.ClientURL(), "--vapid-subject", "mailto:ops@newsroom.example",
		"--push-insecure-test-endpoints", host, "--push-subscribe-per-hour", "1000"}
	ad := addrs(t, 2)
	a := startProc(t, "a", ad[0], flags...)
	b := startProc(t, "b", ad[1], flags...)

	sub, err := sink.Subscribe(ss.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"subscription": sub, "filter": map[string]any{}})
	res, err := http.Post(b.url()+"/api/v1/push/subscriptions", "application/json", strings.NewReader(string(body)))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("subscribe: %v %v", res, err)
	}
	res.Body.Close()

	due := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	status, id, _, err := post(ctx, a.url(), "scheduled-kill", fmt.Sprintf(
		`{"text":"Scheduled alert, instance killed","lang":"en","regions":["asia"],"alert":true,"publish_at":%q}`, due.Format(time.RFC3339Nano)))
	if err != nil || status != 201 {
		t.Fatalf("schedule: %d %v", status, err)
	}
	time.Sleep(time.Until(due.Add(-300 * time.Millisecond)))
	t.Log("killing instance a, which accepted the item, 300 ms before it is due")
	a.kill()

	// b publishes it.
	var published struct {
		Status      string    `json:"status"`
		PublishedAt time.Time `json:"published_at"`
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", b.url()+"/api/v1/items/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && json.Unmarshal(raw, &published) == nil && published.Status == "live" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not published: %d %s\n%s", res.StatusCode, raw, b.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := sink.Wait(wctx, 1); err != nil {
		t.Fatalf("no notification: %v", err)
	}
	time.Sleep(3 * time.Second) // a second publication or notification would come now

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	l := stream.NewLayout("")
	str, err := js.Stream(ctx, l.NewsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(l.ItemSubject(id)))
	if err != nil {
		t.Fatal(err)
	}
	events := info.State.Subjects[l.ItemSubject(id)]
	var alerts int
	for _, m := range sink.Messages(sub.ID()) {
		var pl struct{ Item struct{ ID string } }
		if m.Err == nil && json.Unmarshal(m.Payload, &pl) == nil && pl.Item.ID == id {
			alerts++
		}
	}
	line := fmt.Sprintf("scheduled alert, instance killed before due: events=%d notifications=%d late=%s",
		events, alerts, published.PublishedAt.Sub(due))
	t.Log(line)
	fmt.Println("summary " + line)
	if events != 1 {
		t.Errorf("%d item events in the stream, want 1", events)
	}
	if alerts != 1 {
		t.Errorf("%d notifications, want 1", alerts)
	}
}
