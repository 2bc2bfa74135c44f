package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// clearToken unsets NEWSFLASH_BENCH_TOKEN for the test, the one variable
// the tool reads.
func clearToken(t *testing.T) {
	t.Helper()
	t.Setenv(benchTokenEnv, "") // restores the value after the test
	os.Unsetenv(benchTokenEnv)
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// lastJSON decodes the last line of a bench run's output.
func lastJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	var m map[string]any
	if err := json.Unmarshal([]byte(last), &m); err != nil {
		t.Fatalf("last line %q is not JSON: %v\nstdout:\n%s", last, err, stdout)
	}
	return m
}

func wantFigure(t *testing.T, m map[string]any, name string, want float64) {
	t.Helper()
	got, ok := m[name].(float64)
	if !ok || got != want {
		t.Errorf("%s = %v, want %v", name, m[name], want)
	}
}

func TestBenchSpawnFanout(t *testing.T) {
	clearToken(t)
	code, stdout, stderr := runCmd(t, "--spawn", "--scenario", "fanout", "--readers", "20", "--items", "10", "--rate", "20")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := lastJSON(t, stdout)
	if m["scenario"] != "fanout" || m["spawned"] != true {
		t.Errorf("scenario %v, spawned %v", m["scenario"], m["spawned"])
	}
	wantFigure(t, m, "connected", 20)
	wantFigure(t, m, "posted", 10)
	wantFigure(t, m, "delivered", 200)
	wantFigure(t, m, "missing", 0)
	wantFigure(t, m, "duplicated", 0)
	for _, f := range []string{"latency_p50_ms", "latency_p99_ms", "latency_max_ms", "deliveries_per_s", "server_cpu_us_per_delivery", "tool_cpu_us_per_delivery"} {
		if _, ok := m[f].(float64); !ok {
			t.Errorf("no %s in %v", f, m)
		}
	}
	if !strings.Contains(stdout, "delivered 200 of 200") {
		t.Errorf("summary lacks the deliveries:\n%s", stdout)
	}
}

func TestBenchSpawnIdle(t *testing.T) {
	clearToken(t)
	code, stdout, stderr := runCmd(t, "--spawn", "--scenario", "idle", "--readers", "50", "--duration", "200ms")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := lastJSON(t, stdout)
	wantFigure(t, m, "connected", 50)
	wantFigure(t, m, "connect_failed", 0)
	if v, ok := m["rss_per_reader_kib"].(float64); !ok || v <= 0 {
		t.Errorf("rss_per_reader_kib = %v, want more than 0", m["rss_per_reader_kib"])
	}
	for _, f := range []string{"handshake_p50_ms", "handshake_p99_ms", "connect_rate", "server_cpu_us_per_connect"} {
		if _, ok := m[f].(float64); !ok {
			t.Errorf("no %s in %v", f, m)
		}
	}
}

func TestBenchSpawnPush(t *testing.T) {
	clearToken(t)
	code, stdout, stderr := runCmd(t, "--spawn", "--scenario", "push", "--subs", "200")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := lastJSON(t, stdout)
	wantFigure(t, m, "subscribed", 200)
	wantFigure(t, m, "sent", 200)
	wantFigure(t, m, "refused", 0)
	wantFigure(t, m, "server_sent", 200)
	if _, ok := m["sends_per_s"].(float64); !ok {
		t.Errorf("no sends_per_s in %v", m)
	}
}

// TestBenchSpawnPushPrefs: with --prefs every subscription and device
// carries prefs that hold back none of the alerts, so every one gets it.
func TestBenchSpawnPushPrefs(t *testing.T) {
	clearToken(t)
	code, stdout, stderr := runCmd(t, "--spawn", "--scenario", "push", "--platforms", "web,android", "--subs", "40", "--items", "2", "--rate", "20", "--prefs")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := lastJSON(t, stdout)
	wantFigure(t, m, "subscribed", 80)
	wantFigure(t, m, "sent", 160)
	wantFigure(t, m, "server_failed", 0)
	if m["prefs"] != true {
		t.Errorf("prefs %v in %v, want true", m["prefs"], m)
	}
}

// TestBenchSpawnPushPlatforms registers web subscriptions and Android and
// iOS devices on the tool's own stand-ins and checks every one got the
// alert, per platform.
func TestBenchSpawnPushPlatforms(t *testing.T) {
	clearToken(t)
	code, stdout, stderr := runCmd(t, "--spawn", "--scenario", "push", "--platforms", "ios,web,android", "--subs", "150")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := lastJSON(t, stdout)
	wantFigure(t, m, "subscribed", 450)
	wantFigure(t, m, "expected", 450)
	wantFigure(t, m, "sent", 450)
	wantFigure(t, m, "server_sent", 450)
	wantFigure(t, m, "server_failed", 0)
	if _, ok := m["send_100_ms"].(float64); !ok {
		t.Errorf("no send_100_ms in %v", m)
	}
	pl, _ := m["platforms"].([]any)
	var got []string
	for _, p := range pl {
		p := p.(map[string]any)
		got = append(got, p["platform"].(string))
		for _, f := range []string{"registered", "expected", "sent"} {
			if p[f] != 150.0 {
				t.Errorf("%s %s = %v, want 150", p["platform"], f, p[f])
			}
		}
		for _, f := range []string{"sends_per_s", "send_90_ms", "send_100_ms"} {
			if _, ok := p[f].(float64); !ok {
				t.Errorf("%s: no %s in %v", p["platform"], f, p)
			}
		}
	}
	if strings.Join(got, ",") != "web,android,ios" {
		t.Errorf("platforms %v, want web, android, ios in that order", got)
	}
	if !strings.Contains(stdout, "android sent 150 of 150") {
		t.Errorf("summary lacks the android line:\n%s", stdout)
	}
}

func TestBenchUsage(t *testing.T) {
	clearToken(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"--help"}, 0, "--src-ips", ""},
		{"not loopback", []string{"--url", "http://192.0.2.1:8080", "--scenario", "idle"}, 2, "", "not a loopback address"},
		{"https", []string{"--url", "https://127.0.0.1:8443", "--scenario", "idle"}, 2, "", "want http://host:port"},
		{"soak without token", []string{"--scenario", "soak"}, 2, "", "NEWSFLASH_BENCH_TOKEN"},
		{"soak with a filter", []string{"--scenario", "soak", "--token", "t", "--filter", "regions=mena"}, 2, "", "soak's readers take no filter"},
		{"bad corrections", []string{"--scenario", "soak", "--corrections", "1.5"}, 2, "", "--corrections"},
		{"bad churn", []string{"--scenario", "soak", "--churn", "-3"}, 2, "", "--churn"},
		{"churn above readers", []string{"--scenario", "soak", "--token", "t", "--readers", "10", "--churn", "11"}, 2, "", "--churn 11"},
		{"help tells the soak's server flags", []string{"--help"}, 0, "--reader-connects-per-second 0", ""},
		{"unknown scenario", []string{"--scenario", "stampede"}, 2, "", `unknown scenario "stampede"`},
		{"spawn and url", []string{"--spawn", "--url", "http://127.0.0.1:8080"}, 2, "", "leave out --url"},
		{"fanout without token", []string{"--scenario", "fanout"}, 2, "", "NEWSFLASH_BENCH_TOKEN"},
		{"bad filter", []string{"--scenario", "idle", "--filter", "since=3"}, 2, "", "only regions, topics and langs"},
		{"bad readers", []string{"--readers", "0"}, 2, "", "--readers"},
		{"bad drain", []string{"--drain", "-1s"}, 2, "", "--drain"},
		{"extra argument", []string{"now"}, 2, "", `unexpected argument "now"`},
		{"unknown platform", []string{"--scenario", "push", "--platforms", "web,blackberry"}, 2, "", `unknown platform "blackberry"`},
		{"platform twice", []string{"--scenario", "push", "--platforms", "ios,android,ios"}, 2, "", "ios given twice"},
		{"spawn-bin without spawn", []string{"--scenario", "push", "--spawn-bin", "newsflash"}, 2, "", "--spawn-bin goes with --spawn"},
		{"prefs over the cap", []string{"--scenario", "push", "--token", "t", "--prefs", "--items", "61"}, 2, "", "--prefs with --items 61"},
		{"help tells the native platforms", []string{"--help"}, 0, "--platforms web,android,ios", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s\nwant stdout with %q, stderr with %q",
					code, tt.wantCode, stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"127.0.0.2":                     "127.0.0.2",
		" 127.0.0.2 , 127.0.0.3,,":      "127.0.0.2|127.0.0.3",
		"none":                          "none",
		"127.0.0.2,127.0.0.3,127.0.0.4": "127.0.0.2|127.0.0.3|127.0.0.4",
	} {
		if got := strings.Join(splitList(in), "|"); got != want {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}
