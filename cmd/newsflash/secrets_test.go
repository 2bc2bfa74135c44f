package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"newsflash/internal/push"
)

// TestServeWarnsOfSecretFlags: a secret given as a flag can be read by
// anyone on the machine (ps, /proc); serve says so at start, naming the
// flag and its variable, never the value. Given as the variable, no
// warning. The server then fails to reach NATS at a closed port, which
// ends the run.
func TestServeWarnsOfSecretFlags(t *testing.T) {
	priv, pub, err := push.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	const password = "hunter2-but-longer"
	vapid := []string{"--vapid-subject", "mailto:ops@news.example", "--vapid-public-key", pub}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		warn  []string // flags warned of
		never string   // secret that must not show
	}{
		{"nats password flag", []string{"--nats-user", "nf", "--nats-password", password}, nil, []string{"--nats-password"}, password},
		{"nats password variable", []string{"--nats-user", "nf"}, map[string]string{"NEWSFLASH_NATS_PASSWORD": password}, nil, password},
		{"nats password in the url flag", []string{"--nats-url", "nats://nf:" + password + "@127.0.0.1:1"}, nil, []string{"--nats-url"}, password},
		{"nats url flag without a password", []string{"--nats-url", "nats://127.0.0.1:1"}, nil, nil, ""},
		{"nats url variable with a password", nil, map[string]string{"NEWSFLASH_NATS_URL": "nats://nf:" + password + "@127.0.0.1:1"}, nil, password},
		{"vapid private key flag", append(vapid, "--vapid-private-key", priv), nil, []string{"--vapid-private-key"}, priv},
		{"vapid private key variable", vapid, map[string]string{"NEWSFLASH_VAPID_PRIVATE_KEY": priv}, nil, priv},
		{"both flags", append(vapid, "--vapid-private-key", priv, "--nats-user", "nf", "--nats-password", password), nil,
			[]string{"--vapid-private-key", "--nats-password"}, priv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("NEWSFLASH_DATA_DIR", filepath.Join(t.TempDir(), "data"))
			t.Setenv("NEWSFLASH_ADDR", "127.0.0.1:0")
			t.Setenv("NEWSFLASH_NATS_URL", "nats://127.0.0.1:1")
			t.Setenv("NEWSFLASH_START_TIMEOUT", "2s")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCmd(t, append([]string{"serve"}, tt.args...)...)
			if code != 1 || !strings.Contains(stderr, "newsflash: start:") {
				t.Fatalf("exit %d, want 1 from the closed NATS port; stderr:\n%s", code, stderr)
			}
			var warned []string
			for _, line := range strings.Split(stderr, "\n") {
				if strings.Contains(line, "command line") {
					warned = append(warned, line)
				}
			}
			if len(warned) != len(tt.warn) {
				t.Errorf("%d warnings, want %d (%v):\n%s", len(warned), len(tt.warn), tt.warn, stderr)
			}
			for _, flag := range tt.warn {
				env := envName(strings.TrimPrefix(flag, "--"))
				if !strings.Contains(stderr, "flag="+flag) || !strings.Contains(stderr, env) {
					t.Errorf("no warning naming %s and %s:\n%s", flag, env, stderr)
				}
			}
			if tt.never != "" && strings.Contains(stderr, tt.never) {
				t.Errorf("stderr shows the secret:\n%s", stderr)
			}
		})
	}
}

// TestServeNATSCredentials: --nats-user and --nats-password, or their
// variables, reach the stream's configuration.
func TestServeNATSCredentials(t *testing.T) {
	for _, tc := range []struct {
		args               []string
		env                map[string]string
		wantUser, wantPass string
	}{
		{nil, nil, "", ""},
		{[]string{"--nats-user", "nf", "--nats-password", "pw1"}, nil, "nf", "pw1"},
		{nil, map[string]string{"NEWSFLASH_NATS_USER": "nf", "NEWSFLASH_NATS_PASSWORD": "pw2"}, "nf", "pw2"},
		{[]string{"--nats-url", "nats://nats:4222", "--nats-user", "nf"}, map[string]string{"NEWSFLASH_NATS_PASSWORD": "pw3"}, "nf", "pw3"},
	} {
		clearEnv(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		f, v := serveFlagSet()
		f.fs.SetOutput(io.Discard)
		if err := f.parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, cfg, err := v.config(io.Discard)
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if cfg.Stream.User != tc.wantUser || cfg.Stream.Password != tc.wantPass {
			t.Errorf("%v %v: user %q password %q, want %q %q", tc.args, tc.env, cfg.Stream.User, cfg.Stream.Password, tc.wantUser, tc.wantPass)
		}
	}
}
