package stream

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func runServer(t *testing.T) jetstream.JetStream {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestEnsureStreamReconciles(t *testing.T) {
	js := runServer(t)
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	base := jetstream.StreamConfig{Name: "S", Subjects: []string{"s.*"}, Storage: jetstream.FileStorage,
		MaxAge: time.Hour, MaxMsgs: 1000, Duplicates: time.Minute}
	if _, err := EnsureStream(ctx, js, base, log); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := js.Publish(ctx, "s.x", []byte("event")); err != nil {
			t.Fatal(err)
		}
	}
	info := func() jetstream.StreamConfig {
		s, err := js.Stream(ctx, "S")
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config
	}

	// Shrinking limits would delete events: the larger ones are kept.
	shrink := base
	shrink.MaxAge, shrink.MaxMsgs = time.Minute, 5
	if _, err := EnsureStream(ctx, js, shrink, log); err != nil {
		t.Fatal(err)
	}
	if c := info(); c.MaxAge != time.Hour || c.MaxMsgs != 1000 {
		t.Fatalf("limits shrunk to %v, %d", c.MaxAge, c.MaxMsgs)
	}
	if s, _ := js.Stream(ctx, "S"); s.CachedInfo().State.Msgs != 10 {
		t.Fatalf("events lost: %d left", s.CachedInfo().State.Msgs)
	}
	if !strings.Contains(logs.String(), "not shrinking") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	// Growing limits is applied.
	grow := base
	grow.MaxAge, grow.MaxMsgs = 2*time.Hour, 5000
	if _, err := EnsureStream(ctx, js, grow, log); err != nil {
		t.Fatal(err)
	}
	if c := info(); c.MaxAge != 2*time.Hour || c.MaxMsgs != 5000 {
		t.Fatalf("limits not grown: %v, %d", c.MaxAge, c.MaxMsgs)
	}
	// What cannot change in place is a clear error, and nothing changes.
	for name, bad := range map[string]func(*jetstream.StreamConfig){
		"storage":   func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage },
		"retention": func(c *jetstream.StreamConfig) { c.Retention = jetstream.WorkQueuePolicy },
		"subjects":  func(c *jetstream.StreamConfig) { c.Subjects = []string{"other.*"} },
	} {
		c := grow
		bad(&c)
		if _, err := EnsureStream(ctx, js, c, log); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "migrate") {
			t.Errorf("%s: error %v, want ErrIncompatible", name, err)
		}
	}
	if c := info(); c.Storage != jetstream.FileStorage || c.Subjects[0] != "s.*" {
		t.Fatalf("an incompatible config changed the stream: %+v", c)
	}
}

// TestOpenChoosesReplicas: a single server gets one replica; Open on an
// existing stream with other settings keeps its events.
func TestOpenChoosesReplicas(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), Deps{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}, Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.Replicas() != 1 {
		t.Fatalf("replicas %d on one server", s.Replicas())
	}
	s.Close()
}
