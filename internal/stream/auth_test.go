package stream

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// syncBuffer is a log destination the embedded server's goroutines may
// write to while the test reads it.
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

func openEmbedded(t *testing.T, log *slog.Logger, cfg Options) *Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Open(ctx, Deps{Logger: log}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// connect dials the embedded server as another process would.
func connect(url string, opts ...nats.Option) error {
	nc, err := nats.Connect(url, append(opts, nats.Timeout(5*time.Second))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	return nc.Flush()
}

// TestListenRequiresCredentials: the embedded server's client port takes
// only the user and password generated on the first start, kept in a 0600
// file and never logged; another instance joins with them.
func TestListenRequiresCredentials(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	credsFile := filepath.Join(dir, "nats-credentials")
	s := openEmbedded(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Options{
		StoreDir: filepath.Join(dir, "nats"), CredentialsFile: credsFile, Listen: "127.0.0.1:0",
	})
	addr := s.ClientURL()
	if !strings.HasPrefix(addr, "nats://127.0.0.1:") || strings.HasSuffix(addr, ":4222") {
		t.Fatalf("client URL %q: want a port the system chose", addr)
	}
	user, password, err := ReadCredentials(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	if user == "" || len(password) < 32 {
		t.Fatalf("generated user %q and a password of %d characters", user, len(password))
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(credsFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("credentials file: %v, mode %v, want 0600", err, fi.Mode().Perm())
		}
	}

	withURL, _ := url.Parse(addr)
	withURL.User = url.UserPassword(user, password)
	for _, c := range []struct {
		name string
		url  string
		opts []nats.Option
		ok   bool
	}{
		{"no credentials", addr, nil, false},
		{"wrong password", addr, []nats.Option{nats.UserInfo(user, password+"x")}, false},
		{"wrong user", addr, []nats.Option{nats.UserInfo("admin", password)}, false},
		{"user and password options", addr, []nats.Option{nats.UserInfo(user, password)}, true},
		{"user and password in the URL", withURL.String(), nil, true},
	} {
		err := connect(c.url, c.opts...)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s: connected to the embedded server's port", c.name)
		}
	}

	// Another instance joins with the user and password, and with them
	// in the URL.
	ctx := context.Background()
	for i, cfg := range []Options{
		{URL: addr, User: user, Password: password},
		{URL: withURL.String()},
	} {
		other := openEmbedded(t, slog.New(slog.NewTextHandler(&logs, nil)), cfg)
		if err := other.Ready(ctx); err != nil {
			t.Fatalf("instance %d joined by URL: %v", i, err)
		}
	}

	if !strings.Contains(logs.String(), credsFile) {
		t.Errorf("the log does not say where the credentials are:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "level=WARN msg=\"Plaintext") {
		t.Error("the embedded server warns of the password it was given")
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}

	// A restart keeps them; a joiner without them is refused.
	s.Close()
	again := openEmbedded(t, slog.New(slog.NewTextHandler(&logs, nil)), Options{StoreDir: filepath.Join(dir, "nats"), CredentialsFile: credsFile, Listen: "127.0.0.1:0"})
	if u, p, err := ReadCredentials(credsFile); err != nil || u != user || p != password {
		t.Errorf("after a restart: %q, %v; want the same user and password", u, err)
	}
	if err := connect(again.ClientURL(), nats.UserInfo(user, password)); err != nil {
		t.Errorf("after a restart: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := Open(ctx, Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, Options{URL: again.ClientURL()}); err == nil {
		t.Error("an instance without credentials joined")
	}
}

// TestListenWithGivenCredentials: a user and password given are the ones
// the port takes, and nothing is written for them.
func TestListenWithGivenCredentials(t *testing.T) {
	dir := t.TempDir()
	s := openEmbedded(t, slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), Options{
		StoreDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0", User: "nf", Password: "a long enough test password",
	})
	if err := connect(s.ClientURL(), nats.UserInfo("nf", "a long enough test password")); err != nil {
		t.Error(err)
	}
	if err := connect(s.ClientURL()); err == nil {
		t.Error("connected without credentials")
	}
	if _, err := os.Stat(filepath.Join(dir, "nats-credentials")); !os.IsNotExist(err) {
		t.Errorf("a credentials file was written for given credentials: %v", err)
	}
}

func TestCredentialsHalfGiven(t *testing.T) {
	for _, cfg := range []Options{{User: "nf"}, {Password: "secret"}, {URL: "nats://127.0.0.1:1", Password: "secret"}} {
		cfg.StoreDir = t.TempDir()
		s, err := Open(context.Background(), Deps{Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil))}, cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open with user %q and password %q: no error", cfg.User, cfg.Password)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
