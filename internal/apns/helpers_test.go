package apns_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/news"
)

// clock is a settable clock shared by a client and the stand-in.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	srv    *apnstest.Server
	client *apns.Client
	clock  *clock
	log    *syncBuffer
}

// setup starts a stand-in and a client for it on a shared fake clock.
func setup(t testing.TB, mutate func(*apns.Options)) *fixture {
	t.Helper()
	f := &fixture{srv: apnstest.New(t), clock: newClock(), log: &syncBuffer{}}
	f.srv.SetClock(f.clock.Now)
	opts := apns.Options{Endpoint: f.srv.URL, Key: f.srv.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
	if mutate != nil {
		mutate(&opts)
	}
	c, err := apns.New(apns.Deps{
		HTTPClient: f.srv.Client(),
		Logger:     slog.New(slog.NewTextHandler(f.log, nil)),
		Now:        f.clock.Now,
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.client = c
	return f
}

// device returns a device token (64 hex digits) distinct for each n.
func device(n int) string {
	const hex = "0123456789abcdef"
	b := []byte(strings.Repeat("a", 64))
	for i := 0; n > 0; i++ {
		b[63-i] = hex[n%16]
		n /= 16
	}
	return string(b)
}

func item(priority string) *news.Item {
	return &news.Item{ID: "01HZX3K9Q2M4N5P6R7S8", Version: 2, Text: "Parliament dissolved; elections in June",
		Lang: "en", URL: "https://news.example/a/1", Priority: priority, Status: news.StatusLive}
}

func message(dev string, kind, priority string) apns.Message {
	return apns.Message{Token: dev, Kind: kind, Seq: 42, Item: item(priority), TTL: 6 * time.Hour, Title: "Breaking"}
}

// mustSend sends and fails the test unless the stand-in accepted it.
func (f *fixture) mustSend(t testing.TB, m apns.Message) {
	t.Helper()
	if r := f.client.Send(context.Background(), m); r.Outcome != apns.Sent {
		t.Fatalf("send: %+v; stand-in refusals: %+v", r, f.srv.Rejections())
	}
}
