package main

import (
	"bytes"
	"flag"
	"io"
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
		{"token new unknown role", []string{"token", "new", "alice", "--role", "boss"}, 2, "", `role "boss": want reporter, editor or admin`},
		{"token new role without value", []string{"token", "new", "alice", "--role"}, 2, "", "usage: newsflash token new NAME"},
		{"token new unknown flag", []string{"token", "new", "alice", "--admin"}, 2, "", "usage: newsflash token new NAME"},
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
	{"nats-password", "NEWSFLASH_NATS_PASSWORD", `""`},
	{"nats-replicas", "NEWSFLASH_NATS_REPLICAS", "auto"},
	{"nats-url", "NEWSFLASH_NATS_URL", `""`},
	{"nats-user", "NEWSFLASH_NATS_USER", `""`},
	{"push-checkpoint-interval", "NEWSFLASH_PUSH_CHECKPOINT_INTERVAL", "20ms"},
	{"reader-queue", "NEWSFLASH_READER_QUEUE", "256"},
	{"receipt-rate", "NEWSFLASH_RECEIPT_RATE", "600"},
	{"shutdown-timeout", "NEWSFLASH_SHUTDOWN_TIMEOUT", "15s"},
	{"sse-heartbeat", "NEWSFLASH_SSE_HEARTBEAT", "15s"},
	{"start-timeout", "NEWSFLASH_START_TIMEOUT", "1m0s"},
	{"taxonomy", "NEWSFLASH_TAXONOMY", `""`},
	{"write-timeout", "NEWSFLASH_WRITE_TIMEOUT", "10s"},
	{"ws-ping-interval", "NEWSFLASH_WS_PING_INTERVAL", "30s"},
	{"ws-writers", "NEWSFLASH_WS_WRITERS", "auto"},
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
	sameHash := "bob:" + strings.TrimPrefix(goodLine, "alice:")
	twiceEditors := writeFile("twice-editors", "# the desk, day and night\n"+goodLine+"\n"+sameHash+"\n")
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
		{"alert min interval negative", []string{"--alert-min-interval", "-1s"}, nil, []string{"--alert-min-interval -1s", "0 (off)"}},
		{"NEWSFLASH_ALERT_DUPLICATE_WINDOW negative", nil, map[string]string{"NEWSFLASH_ALERT_DUPLICATE_WINDOW": "-1h"}, []string{"NEWSFLASH_ALERT_DUPLICATE_WINDOW=-1h (--alert-duplicate-window)", "0 (off)"}},
		{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL too long", nil, map[string]string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL": "1m"}, []string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL=1m (--push-checkpoint-interval)"}},
		{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL not a duration", nil, map[string]string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL": "soon"}, []string{"NEWSFLASH_PUSH_CHECKPOINT_INTERVAL", "soon"}},
		{"nats replicas 3 embedded", []string{"--nats-replicas", "3"}, map[string]string{"NEWSFLASH_NATS_URL": ""}, []string{"--nats-replicas 3", "single node"}},
		{"nats replicas not a number", []string{"--nats-replicas", "three"}, nil, []string{"nats-replicas", `"three"`}},
		{"NEWSFLASH_NATS_REPLICAS out of range", nil, map[string]string{"NEWSFLASH_NATS_REPLICAS": "9"}, []string{"NEWSFLASH_NATS_REPLICAS=9 (--nats-replicas)"}},
		{"log format xml", []string{"--log-format", "xml"}, nil, []string{"--log-format xml", "text or json"}},
		{"log level loud", []string{"--log-level", "loud"}, nil, []string{"--log-level loud"}},
		{"NEWSFLASH_LOG_FORMAT", nil, map[string]string{"NEWSFLASH_LOG_FORMAT": "yaml"}, []string{"NEWSFLASH_LOG_FORMAT=yaml (--log-format)"}},
		{"NEWSFLASH_READER_QUEUE not a number", nil, map[string]string{"NEWSFLASH_READER_QUEUE": "abc"},
			[]string{"NEWSFLASH_READER_QUEUE=abc (--reader-queue)"}},
		{"NEWSFLASH_READER_QUEUE too small", nil, map[string]string{"NEWSFLASH_READER_QUEUE": "8"}, []string{"NEWSFLASH_READER_QUEUE=8 (--reader-queue)", "16 to 65536"}},
		{"reader queue too large", []string{"--reader-queue", "65537"}, nil, []string{"--reader-queue 65537"}},
		{"ws writers negative", []string{"--ws-writers", "-1"}, nil, []string{"--ws-writers -1", "auto or 1 to 1024"}},
		{"NEWSFLASH_WS_WRITERS too many", nil, map[string]string{"NEWSFLASH_WS_WRITERS": "1025"}, []string{"NEWSFLASH_WS_WRITERS=1025 (--ws-writers)"}},
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
		{"NEWSFLASH_AUDIT_MAX_AGE in days", nil, map[string]string{"NEWSFLASH_AUDIT_MAX_AGE": "90d"}, []string{"NEWSFLASH_AUDIT_MAX_AGE=90d (--audit-max-age)"}},
		{"public url without a scheme", []string{"--public-url", "news.example.com"}, nil, []string{"--public-url news.example.com", "http:// or https://"}},
		{"NEWSFLASH_PUBLIC_URL with a query", nil, map[string]string{"NEWSFLASH_PUBLIC_URL": "https://news.example.com/?x=1"}, []string{"NEWSFLASH_PUBLIC_URL=https://news.example.com/?x=1 (--public-url)"}},
		{"addr nonsense", []string{"--addr", "nonsense"}, nil, []string{"--addr nonsense", "host:port"}},
		{"max readers -2", []string{"--max-readers", "-2"}, nil, []string{"--max-readers -2", "0 (no limit) or more"}},
		{"readers per address -2", []string{"--readers-per-address", "-2"}, nil, []string{"--readers-per-address -2"}},
		{"connections per address -2", []string{"--connections-per-address", "-2"}, nil, []string{"--connections-per-address -2"}},
		{"connections per address at the readers'", []string{"--connections-per-address", "200"}, nil,
			[]string{"--connections-per-address 200", "above --readers-per-address 200"}},
		{"NEWSFLASH_CONNECTIONS_PER_ADDRESS below the readers'", nil, map[string]string{"NEWSFLASH_CONNECTIONS_PER_ADDRESS": "50", "NEWSFLASH_READERS_PER_ADDRESS": "100"},
			[]string{"NEWSFLASH_CONNECTIONS_PER_ADDRESS=50 (--connections-per-address)", "above --readers-per-address 100"}},
		{"reader connects -5", []string{"--reader-connects-per-second", "-5"}, nil, []string{"--reader-connects-per-second -5"}},
		{"api requests -2", nil, map[string]string{"NEWSFLASH_API_REQUESTS_PER_SECOND": "-2"}, []string{"NEWSFLASH_API_REQUESTS_PER_SECOND=-2 (--api-requests-per-second)"}},
		{"auth failures -3", []string{"--auth-failures-per-minute", "-3"}, nil, []string{"--auth-failures-per-minute -3"}},
		{"metrics allow nonsense", []string{"--metrics-allow", "prometheus"}, nil, []string{`--metrics-allow prometheus: "prometheus" is not`}},
		{"trusted proxies nonsense", []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, nil, []string{`--trusted-proxies 10.0.0.0/8,proxy.local: "proxy.local" is not`}},
		{"debug addr nonsense", []string{"--debug-addr", "6060"}, nil, []string{"--debug-addr 6060", "host:port"}},
		{"NEWSFLASH_ADDR nonsense", nil, map[string]string{"NEWSFLASH_ADDR": "nonsense"}, []string{"NEWSFLASH_ADDR=nonsense (--addr)"}},
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
		{"editors file with one hash under two names", []string{"--editors", twiceEditors}, nil,
			[]string{"--editors", "twice-editors", `line 3: editor "bob" has the same token hash as editor "alice" on line 2`}},
		{"editor hashes with one hash under two names", []string{"--editor-hashes", goodLine + "," + sameHash}, nil,
			[]string{"--editor-hashes", `entry 2: editor "bob" has the same token hash as editor "alice" in entry 1`}},
		// --addr nonsense would be reported next: it keeps the embedded
		// server from starting should the creds check ever let this through.
		{"nats creds without nats url", []string{"--nats-url", "", "--nats-creds", "x.creds", "--addr", "nonsense"}, nil,
			[]string{"--nats-creds", "--nats-url"}},
		{"nats user without password", []string{"--nats-user", "nf"}, nil, []string{"--nats-password", "--nats-user", "both"}},
		{"NEWSFLASH_NATS_PASSWORD without user", nil, map[string]string{"NEWSFLASH_NATS_PASSWORD": "pw"}, []string{"--nats-user", "both"}},
		{"nats creds and nats user", []string{"--nats-creds", "x.creds", "--nats-user", "nf", "--nats-password", "pw"}, nil,
			[]string{"--nats-creds", "--nats-user", "not both"}},
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

// TestInvalidNamesItsSource: a bad value is reported under the name it was
// given by: the flag when it came from the command line, the variable (with
// its text as written) and the flag when it came from the environment.
func TestInvalidNamesItsSource(t *testing.T) {
	tests := []struct {
		flag, value string
		shownAsFlag string // the value as the command-line message shows it
		why         string
	}{
		{"reader-queue", "5", "5", "must be 16 to 65536"},
		{"ws-writers", "2000", "2000", "must be auto or 1 to 1024"},
		{"nats-replicas", "7", "7", "must be auto or 1 to 5"},
		{"history-max-events", "0", "0", "must be at least 1"},
		{"history-max-age", "1m", "1m0s", "must be at least 5m"},
		{"push-checkpoint-interval", "11s", "11s", "must be 0 to 10s"},
		{"push-ttl-urgent", "700h", "700h0m0s", "must be 1s to 672h"},
		{"write-timeout", "0s", "0s", "must be positive"},
		{"readers-per-address", "-2", "-2", "must be 0 (no limit) or more"},
		{"push-jobs", "10001", "10001", "must be 1 to 10000"},
		{"receipt-rate", "-1", "-1", "must be 0 to 100000"},
		{"log-format", "xml", "xml", "want text or json"},
		{"log-level", "very loud", `"very loud"`, "want debug, info, warn or error"},
		{"addr", "nonsense", "nonsense", "want host:port, such as :8080"},
		{"trusted-proxies", "10.0.0.0/8,proxy", "10.0.0.0/8,proxy", `"proxy" is not an address or CIDR (such as 10.0.0.0/8)`},
		{"vapid-subject", "mailto:root@localhost", "mailto:root@localhost", "localhost"},
		{"fcm-concurrency", "0", "0", "must be 1 to 10000"},
		{"apns-concurrency", "10001", "10001", "must be 1 to 10000"},
	}
	for _, tt := range tests {
		env := envName(tt.flag)
		for _, source := range []string{"flag", "env"} {
			t.Run(tt.flag+"/"+source, func(t *testing.T) {
				clearEnv(t)
				var args []string
				want := "invalid --" + tt.flag + " " + tt.shownAsFlag + ": "
				if source == "flag" {
					args = []string{"--" + tt.flag, tt.value}
				} else {
					t.Setenv(env, tt.value)
					want = "invalid " + env + "=" + shown(tt.value) + " (--" + tt.flag + "): "
				}
				f, v := serveFlagSet()
				f.fs.SetOutput(io.Discard)
				if err := f.parse(args); err != nil {
					t.Fatalf("parse: %v", err)
				}
				_, _, err := v.config(io.Discard)
				if err == nil {
					t.Fatal("config accepted it")
				}
				if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.why) {
					t.Errorf("error %q, want %q followed by %q", err, want, tt.why)
				}
			})
		}
	}
}

// TestInvalidForms: parse errors from the environment, settings left unset,
// quoting, and secrets, which are never shown.
func TestInvalidForms(t *testing.T) {
	clearEnv(t)
	t.Setenv("NEWSFLASH_READER_QUEUE", "lots")
	f, _ := serveFlagSet()
	f.fs.SetOutput(io.Discard)
	if err := f.parse(nil); err == nil || err.Error() != "invalid NEWSFLASH_READER_QUEUE=lots (--reader-queue): parse error" {
		t.Errorf("parse error from the environment: %v", err)
	}

	clearEnv(t)
	t.Setenv("NEWSFLASH_VAPID_PRIVATE_KEY", "very-secret-key")
	t.Setenv("NEWSFLASH_DATA_DIR", "")
	f, _ = serveFlagSet()
	if err := f.parse([]string{"--vapid-public-key", "pub key", "--taxonomy", `say "x"`}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, want string }{
		{"vapid-private-key", "invalid NEWSFLASH_VAPID_PRIVATE_KEY (--vapid-private-key): why"},
		{"vapid-public-key", `invalid --vapid-public-key "pub key": why`},
		{"taxonomy", `invalid --taxonomy "say \"x\"": why`},
		{"data-dir", `invalid NEWSFLASH_DATA_DIR="" (--data-dir): why`},
		{"vapid-subject", "invalid --vapid-subject: why"}, // left unset
	} {
		if got := f.invalid(tc.flag, "why").Error(); got != tc.want {
			t.Errorf("invalid(%s) = %q, want %q", tc.flag, got, tc.want)
		}
	}
	f.secret("vapid-public-key")
	if got := f.invalid("vapid-public-key", "why").Error(); strings.Contains(got, "pub key") {
		t.Errorf("a secret flag's value was shown: %q", got)
	}
}

// TestTokenNewRole: --role, before or after the name, is written in the
// editors line, and the line signs the token in with that role.
func TestTokenNewRole(t *testing.T) {
	for _, args := range [][]string{
		{"token", "new", "alice", "--role", "reporter"},
		{"token", "new", "--role", "reporter", "alice"},
		{"token", "new", "alice", "--role=reporter"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d; stderr: %s", args, code, stderr)
		}
		m := regexp.MustCompile(`^token: (nf_\S+)\neditors line: (alice:[0-9a-f]{64}:reporter)\n$`).FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("%v: stdout = %q, want a token and an editors line with the role", args, stdout)
		}
		eds, err := editor.ParseEditors(m[2])
		if err != nil {
			t.Fatal(err)
		}
		if role, ok := eds.Role(m[1]); !ok || role != editor.RoleReporter {
			t.Errorf("%v: Role(token) = %q, %v; want reporter", args, role, ok)
		}
	}
}
