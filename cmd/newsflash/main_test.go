package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"newsflash/internal/editor"
	"newsflash/internal/push"
)

// clearEnv unsets every NEWSFLASH_ variable for the test, so that the
// environment of whoever runs the tests cannot change the outcome.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "NEWSFLASH_") {
			t.Setenv(name, "") // restores the value after the test
			os.Unsetenv(name)
		}
	}
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunCommands(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // part of stdout ("" for empty)
		wantStderr string // part of stderr ("" for empty)
	}{
		{"no command", nil, 2, "", "Usage:"},
		{"help", []string{"help"}, 0, "newsflash token new NAME", ""},
		{"-h", []string{"-h"}, 0, "newsflash serve [flags]", ""},
		{"--help", []string{"--help"}, 0, "Usage:", ""},
		{"unknown command", []string{"publish"}, 2, "", `newsflash: unknown command "publish"`},
		{"bench is a command of its own", []string{"bench"}, 2, "", `newsflash: unknown command "bench"`},
		{"unknown flag as command", []string{"--addr", ":8080"}, 2, "", `unknown command "--addr"`},
		{"token without subcommand", []string{"token"}, 2, "", "usage: newsflash token new NAME"},
		{"token new without name", []string{"token", "new"}, 2, "", "usage: newsflash token new NAME"},
		{"token other subcommand", []string{"token", "list"}, 2, "", "usage: newsflash token new NAME"},
		{"token new with two names", []string{"token", "new", "alice", "bob"}, 2, "", "usage: newsflash token new NAME"},
		{"token new bad name", []string{"token", "new", "bad name"}, 2, "", `newsflash: editor name "bad name"`},
		{"token new empty name", []string{"token", "new", ""}, 2, "", `editor name ""`},
		{"token new name with colon", []string{"token", "new", "a:b"}, 2, "", `editor name "a:b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			check := func(stream, got, want string) {
				if want == "" && got != "" {
					t.Errorf("%s = %q, want nothing", stream, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", stream, got, want)
				}
			}
			check("stdout", stdout, tt.wantStdout)
			check("stderr", stderr, tt.wantStderr)
		})
	}
}

func TestTokenNew(t *testing.T) {
	clearEnv(t)
	code, stdout, stderr := runCmd(t, "token", "new", "alice")
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr)
	}
	m := regexp.MustCompile(`^token: (nf_\S+)\neditors line: (\S+)\n$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout = %q, want a token line and an editors line", stdout)
	}
	token, line := m[1], m[2]
	if !strings.HasPrefix(line, "alice:") {
		t.Errorf("editors line %q is not for alice", line)
	}
	eds, err := editor.ParseEditors(line)
	if err != nil {
		t.Fatalf("ParseEditors(%q): %v", line, err)
	}
	if name, ok := eds.Lookup(token); !ok || name != "alice" {
		t.Errorf("Lookup(token) = %q, %v; want alice", name, ok)
	}
	if strings.Contains(stderr, token) {
		t.Errorf("stderr repeats the token: %q", stderr)
	}
	if !strings.Contains(stderr, "alice") {
		t.Errorf("stderr = %q, want instructions naming alice", stderr)
	}

	// A second run makes another token.
	_, stdout2, _ := runCmd(t, "token", "new", "alice")
	if strings.Contains(stdout2, token) {
		t.Error("a second token new printed the same token")
	}
}

// wantServeFlags is every serve flag with its default as --help shows it.
var wantServeFlags = []struct{ name, env, def string }{
	{"addr", "NEWSFLASH_ADDR", ":8080"},
	{"allowed-origins", "NEWSFLASH_ALLOWED_ORIGINS", `""`},
	{"audit-max-age", "NEWSFLASH_AUDIT_MAX_AGE", "2160h0m0s"},
	{"data-dir", "NEWSFLASH_DATA_DIR", "./data"},
	{"editor-hashes", "NEWSFLASH_EDITOR_HASHES", `""`},
	{"editors", "NEWSFLASH_EDITORS", `""`},
	{"history-max-age", "NEWSFLASH_HISTORY_MAX_AGE", "720h0m0s"},
	{"history-max-events", "NEWSFLASH_HISTORY_MAX_EVENTS", "100000"},
	{"log-format", "NEWSFLASH_LOG_FORMAT", "text"},
	{"log-level", "NEWSFLASH_LOG_LEVEL", "info"},
	{"nats-creds", "NEWSFLASH_NATS_CREDS", `""`},
	{"nats-listen", "NEWSFLASH_NATS_LISTEN", `""`},
	{"nats-max-memory", "NEWSFLASH_NATS_MAX_MEMORY", "256MiB"},
	{"nats-max-store", "NEWSFLASH_NATS_MAX_STORE", "8GiB"},
	{"nats-replicas", "NEWSFLASH_NATS_REPLICAS", "0"},
	{"nats-url", "NEWSFLASH_NATS_URL", `""`},
	{"push-checkpoint-interval", "NEWSFLASH_PUSH_CHECKPOINT_INTERVAL", "20ms"},
	{"reader-queue", "NEWSFLASH_READER_QUEUE", "256"},
	{"shutdown-timeout", "NEWSFLASH_SHUTDOWN_TIMEOUT", "15s"},
	{"sse-heartbeat", "NEWSFLASH_SSE_HEARTBEAT", "15s"},
	{"start-timeout", "NEWSFLASH_START_TIMEOUT", "1m0s"},
	{"taxonomy", "NEWSFLASH_TAXONOMY", `""`},
	{"write-timeout", "NEWSFLASH_WRITE_TIMEOUT", "10s"},
	{"ws-ping-interval", "NEWSFLASH_WS_PING_INTERVAL", "30s"},
	{"ws-writers", "NEWSFLASH_WS_WRITERS", "0"},
}

func TestVAPIDNew(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"vapid", "new"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var pub, priv string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "NEWSFLASH_VAPID_PUBLIC_KEY":
			pub = v
		case "NEWSFLASH_VAPID_PRIVATE_KEY":
			priv = v
		}
	}
	if err := push.CheckKeys(pub, priv); err != nil {
		t.Fatalf("printed keys are not a pair: %v\n%s", err, out.String())
	}
	if code := run([]string{"vapid"}, &out, &errOut); code != 2 {
		t.Fatalf("vapid without new: exit %d", code)
	}
}

func TestServeHelp(t *testing.T) {
	clearEnv(t)
	for _, arg := range []string{"--help", "-h", "-help"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "serve", arg)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: newsflash serve [flags]\n") {
				t.Errorf("stdout starts %q", stdout[:min(len(stdout), 60)])
			}
			for _, f := range wantServeFlags {
				want := "  --" + f.name + "  (" + f.env + ", default " + f.def + ")\n"
				if !strings.Contains(stdout, want) {
					t.Errorf("help lacks %q", want)
				}
			}
			// Every flag the command defines is listed with its variable,
			// including ones added after this test was written.
			fs, _ := serveFlagSet()
			fs.fs.VisitAll(func(fl *flag.Flag) {
				if !strings.Contains(stdout, "  --"+fl.Name+"  ("+envName(fl.Name)+", default ") {
					t.Errorf("help lacks --%s", fl.Name)
				}
			})
		})
	}
}

// NEWSFLASH_ variables set defaults, not what --help shows.
func TestServeHelpIgnoresEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("NEWSFLASH_ADDR", ":9999")
	code, stdout, _ := runCmd(t, "serve", "--help")
	if code != 0 || !strings.Contains(stdout, "(NEWSFLASH_ADDR, default :8080)") {
		t.Errorf("exit %d; help with NEWSFLASH_ADDR set: %s", code, stdout)
	}
}

func TestServeInvalidConfig(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, goodLine, err := editor.NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	goodEditors := writeFile("editors", goodLine+"\n")
	badEditors := writeFile("bad-editors", "alice:not-a-hash\n")
	badTaxonomy := writeFile("taxonomy.json", `{"regions":[],"topics":[{"slug":"x"}],"languages":[{"slug":"en"}]}`)
	missing := filepath.Join(dir, "missing.json")

	// Every case starts from settings, given as variables so that a case's
	// flags and variables replace them, that would fail fast if they were
	// accepted (a closed NATS port): a case that wrongly passes ends with
	// exit 1 instead of running a server.
	base := map[string]string{
		"NEWSFLASH_ADDR":          "127.0.0.1:0",
		"NEWSFLASH_NATS_URL":      "nats://127.0.0.1:1",
		"NEWSFLASH_START_TIMEOUT": "2s",
	}

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // parts of the one stderr line
	}{
		{"nats replicas -1", []string{"--nats-replicas", "-1"}, nil, []string{"--nats-replicas -1", "1 to 5"}},
		{"nats replicas 6", []string{"--nats-replicas", "6"}, nil, []string{"--nats-replicas 6"}},
		{"vapid subject at localhost", []string{"--vapid-subject", "mailto:root@localhost"}, nil, []string{"--vapid-subject", "localhost"}},
		{"vapid subject http", []string{"--vapid-subject", "http://news.example"}, nil, []string{"--vapid-subject", "mailto: or https:"}},
		{"vapid keys without subject", []string{"--vapid-public-key", "x", "--vapid-private-key", "y"}, nil, []string{"--vapid-subject"}},
		{"vapid keys not a pair", []string{"--vapid-subject", "mailto:a@b.example", "--vapid-public-key", "x", "--vapid-private-key", "y"}, nil, []string{"--vapid-public-key"}},
		{"push allowed host with a scheme", []string{"--push-allowed-hosts", "https://fcm.googleapis.com"}, nil, []string{"--push-allowed-hosts"}},
		{"push ttl zero", []string{"--push-ttl-flash", "0s"}, nil, []string{"--push-ttl-flash"}},
		{"push jobs zero", []string{"--push-jobs", "0"}, nil, []string{"--push-jobs 0"}},
		{"push checkpoint negative", []string{"--push-checkpoint-interval", "-1s"}, nil, []string{"--push-checkpoint-interval -1s", "0 to 10s"}},
		{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL too long", nil, map[string]string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL": "1m"}, []string{"--push-checkpoint-interval 1m0s"}},
		{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL not a duration", nil, map[string]string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL": "soon"}, []string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL", "soon"}},
		{"nats replicas 3 embedded", []string{"--nats-replicas", "3"}, map[string]string{"NEWSFLASH_NATS_URL": ""}, []string{"--nats-replicas 3", "single node"}},
		{"nats replicas not a number", []string{"--nats-replicas", "three"}, nil, []string{"nats-replicas", `"three"`}},
		{"NEWSFLASH_NATS_REPLICAS out of range", nil, map[string]string{"NEWSFLASH_NATS_REPLICAS": "9"}, []string{"--nats-replicas 9"}},
		{"log format xml", []string{"--log-format", "xml"}, nil, []string{`--log-format "xml"`, "text or json"}},
		{"log level loud", []string{"--log-level", "loud"}, nil, []string{`--log-level "loud"`}},
		{"NEWSFLASH_LOG_FORMAT", nil, map[string]string{"NEWSFLASH_LOG_FORMAT": "yaml"}, []string{`--log-format "yaml"`}},
		{"NEWSFLASH_READER_QUEUE not a number", nil, map[string]string{"NEWSFLASH_READER_QUEUE": "abc"},
			[]string{`NEWSFLASH_READER_QUEUE="abc"`, "--reader-queue"}},
		{"NEWSFLASH_READER_QUEUE too small", nil, map[string]string{"NEWSFLASH_READER_QUEUE": "8"}, []string{"--reader-queue 8", "16 to 65536"}},
		{"reader queue too large", []string{"--reader-queue", "65537"}, nil, []string{"--reader-queue 65537"}},
		{"ws writers negative", []string{"--ws-writers", "-1"}, nil, []string{"--ws-writers -1", "0 (automatic) to 1024"}},
		{"NEWSFLASH_WS_WRITERS too many", nil, map[string]string{"NEWSFLASH_WS_WRITERS": "1025"}, []string{"--ws-writers 1025"}},
		{"a flag wins over its variable", []string{"--reader-queue", "64", "--nats-replicas", "9"},
			map[string]string{"NEWSFLASH_READER_QUEUE": "abc"}, []string{"--nats-replicas 9"}},
		{"NEWSFLASH_NATS_MAX_MEMORY", nil, map[string]string{"NEWSFLASH_NATS_MAX_MEMORY": "lots"},
			[]string{"NEWSFLASH_NATS_MAX_MEMORY", "--nats-max-memory", "512MiB"}},
		{"nats max store 0", []string{"--nats-max-store", "0"}, nil, []string{"nats-max-store"}},
		{"NEWSFLASH_WRITE_TIMEOUT not a duration", nil, map[string]string{"NEWSFLASH_WRITE_TIMEOUT": "10"}, []string{"NEWSFLASH_WRITE_TIMEOUT", "--write-timeout"}},
		{"write timeout 0", []string{"--write-timeout", "0s"}, nil, []string{"--write-timeout 0s", "positive"}},
		{"negative SSE heartbeat", []string{"--sse-heartbeat", "-1s"}, nil, []string{"--sse-heartbeat -1s"}},
		{"ws ping interval 0", []string{"--ws-ping-interval", "0s"}, nil, []string{"--ws-ping-interval"}},
		{"shutdown timeout 0", []string{"--shutdown-timeout", "0s"}, nil, []string{"--shutdown-timeout"}},
		{"history max events 0", []string{"--history-max-events", "0"}, nil, []string{"--history-max-events 0"}},
		{"history max age 1m", []string{"--history-max-age", "1m"}, nil, []string{"--history-max-age 1m0s", "at least 5m"}},
		{"audit max age 30m", []string{"--audit-max-age", "30m"}, nil, []string{"--audit-max-age 30m0s", "at least 1h"}},
		{"NEWSFLASH_AUDIT_MAX_AGE in days", nil, map[string]string{"NEWSFLASH_AUDIT_MAX_AGE": "90d"}, []string{`NEWSFLASH_AUDIT_MAX_AGE="90d"`, "--audit-max-age"}},
		{"addr nonsense", []string{"--addr", "nonsense"}, nil, []string{`--addr "nonsense"`, "host:port"}},
		{"max readers -2", []string{"--max-readers", "-2"}, nil, []string{"--max-readers -2", "-1 for no limit"}},
		{"readers per address 0", []string{"--readers-per-address", "0"}, nil, []string{"--readers-per-address 0"}},
		{"reader connects -5", []string{"--reader-connects-per-second", "-5"}, nil, []string{"--reader-connects-per-second -5"}},
		{"api requests 0", nil, map[string]string{"NEWSFLASH_API_REQUESTS_PER_SECOND": "0"}, []string{"--api-requests-per-second 0"}},
		{"auth failures -3", []string{"--auth-failures-per-minute", "-3"}, nil, []string{"--auth-failures-per-minute -3"}},
		{"metrics allow nonsense", []string{"--metrics-allow", "prometheus"}, nil, []string{`--metrics-allow "prometheus"`}},
		{"trusted proxies nonsense", []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, nil, []string{`--trusted-proxies "proxy.local"`}},
		{"debug addr nonsense", []string{"--debug-addr", "6060"}, nil, []string{`--debug-addr "6060"`, "host:port"}},
		{"NEWSFLASH_ADDR nonsense", nil, map[string]string{"NEWSFLASH_ADDR": "nonsense"}, []string{`--addr "nonsense"`}},
		{"taxonomy missing", []string{"--taxonomy", missing}, nil, []string{"--taxonomy", "missing.json"}},
		{"taxonomy invalid", []string{"--taxonomy", badTaxonomy}, nil, []string{"--taxonomy", "regions: at least one entry"}},
		{"editors and editor hashes", []string{"--editors", goodEditors, "--editor-hashes", goodLine}, nil,
			[]string{"--editors", "--editor-hashes", "not both"}},
		{"editors from both variables", nil, map[string]string{"NEWSFLASH_EDITORS": goodEditors, "NEWSFLASH_EDITOR_HASHES": goodLine},
			[]string{"--editors", "--editor-hashes"}},
		{"editors file missing", []string{"--editors", missing}, nil, []string{"--editors", "missing.json"}},
		{"editors file invalid", []string{"--editors", badEditors}, nil, []string{"--editors", "64 hex digits"}},
		{"editor hashes invalid", []string{"--editor-hashes", "alice:xyz"}, nil, []string{"--editor-hashes", "64 hex digits"}},
		{"editor hashes empty of entries", []string{"--editor-hashes", ",,"}, nil, []string{"--editor-hashes", "no editor"}},
		// --addr nonsense would be reported next: it keeps the embedded
		// server from starting should the creds check ever let this through.
		{"nats creds without nats url", []string{"--nats-url", "", "--nats-creds", "x.creds", "--addr", "nonsense"}, nil,
			[]string{"--nats-creds", "--nats-url"}},
		{"nats listen with nats url", []string{"--nats-listen", "127.0.0.1:4222"}, nil, []string{"--nats-listen"}},
		{"unknown flag", []string{"--nats-port", "4222"}, nil, []string{"nats-port", "not defined"}},
		{"unexpected argument", []string{"now"}, nil, []string{`unexpected argument "now"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			t.Setenv("NEWSFLASH_DATA_DIR", dataDir)
			for k, v := range base {
				t.Setenv(k, v)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCmd(t, append([]string{"serve"}, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "newsflash: ") {
				t.Fatalf("stderr = %q, want one line starting with newsflash:", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not name %q", stderr, w)
				}
			}
			if _, err := os.Stat(dataDir); err == nil {
				t.Error("a failed start created the data directory")
			}
		})
	}
}
