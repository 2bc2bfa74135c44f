package bench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://127.0.0.1:8080" || c.Scenario != ScenarioFanout || c.Readers != 1000 || c.Items != 100 ||
		c.Rate != 5 || c.Subs != 1000 || c.ConnectRate != 1000 || c.Drain.Seconds() != 10 || c.DecryptSample != 1000 {
		t.Errorf("defaults: %+v", c)
	}
	if c, _ := (Config{Scenario: ScenarioPush}).withDefaults(); c.Items != 1 {
		t.Errorf("push items default %d, want 1 (one send per subscription)", c.Items)
	}
	for _, bad := range []Config{
		{Scenario: "stampede"}, {Readers: -1}, {Items: maxItems + 1}, {Subs: -5}, {Rate: -1}, {Rate: 1e9},
		{ConnectRate: -1}, {Duration: -1}, {Drain: -1}, {DecryptSample: -1}, {ServerPID: -1},
	} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: %v, want ErrUsage", bad, err)
		}
	}
}

func TestParseFilter(t *testing.T) {
	f, err := parseFilter("regions=mena,palestine&langs=ar")
	if err != nil {
		t.Fatal(err)
	}
	if f.query != "backfill=0&regions=mena,palestine&langs=ar" {
		t.Errorf("query %q", f.query)
	}
	if !slices.Equal(f.regions, []string{"mena", "palestine"}) || !slices.Equal(f.langs, []string{"ar"}) || f.topics != nil {
		t.Errorf("filter %+v", f)
	}
	d := f.draft()
	if d.Lang != "ar" || !slices.Equal(d.Regions, []string{"mena"}) || len(d.Topics) != 0 {
		t.Errorf("draft %+v, want an Arabic item in mena", d)
	}
	f, _ = parseFilter("")
	if d := f.draft(); f.query != "backfill=0" || d.Lang != "en" || !slices.Equal(d.Regions, []string{"mena"}) {
		t.Errorf("empty filter: query %q, draft %+v", f.query, d)
	}
	f, _ = parseFilter("?topics=sports")
	if d := f.draft(); !slices.Equal(d.Topics, []string{"sports"}) || f.query != "backfill=0&topics=sports" {
		t.Errorf("topics filter: query %q, draft %+v", f.query, d)
	}
	for _, bad := range []string{"since=5", "regions=mena&backfill=20", "%zz"} {
		if _, err := parseFilter(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("parseFilter(%q) = %v, want ErrUsage", bad, err)
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Run(ctx, Config{Scenario: ScenarioSoak})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "token") {
		t.Errorf("soak without a token: %v, want ErrUsage naming the token", err)
	}
	_, err = Run(ctx, Config{Scenario: ScenarioSoak, Token: "t", Filter: "regions=mena"})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--filter") {
		t.Errorf("soak with a filter: %v, want ErrUsage naming --filter", err)
	}
	_, err = Run(ctx, Config{Scenario: ScenarioFanout})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "token") {
		t.Errorf("fanout without a token: %v, want ErrUsage naming the token", err)
	}
	_, err = Run(ctx, Config{Scenario: ScenarioIdle, URL: "http://127.0.0.1:1", Readers: 10_000_000})
	if !errors.Is(err, ErrUsage) {
		t.Errorf("too many readers: %v, want ErrUsage", err)
	}
	_, err = Run(ctx, Config{Scenario: ScenarioIdle, URL: "http://127.0.0.1:1", Readers: 900_000})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "open files") {
		t.Errorf("more readers than files: %v, want ErrUsage about open files", err)
	}
	_, err = Run(ctx, Config{Scenario: ScenarioPush, Token: "x", URL: "http://127.0.0.1:1", SinkAddr: "192.0.2.1:80"})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "sink-addr") {
		t.Errorf("push with a sink on a non-loopback address: %v, want ErrUsage about --sink-addr", err)
	}
}

func TestResultJSONIsFlat(t *testing.T) {
	r := &Result{Scenario: ScenarioFanout, Connect: &ConnectFigures{Readers: 2, Connected: 2},
		Fanout: &FanoutFigures{PostFigures: PostFigures{Items: 3, Posted: 3}, Expected: 6, Delivered: 6}}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"scenario":"fanout"`, `"readers":2`, `"items":3`, `"delivered":6`, `"missing":0`, `"duplicated":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "rss_per_reader_kib") || strings.Contains(string(b), `"sent"`) {
		t.Errorf("JSON %s has figures of other scenarios", b)
	}
	if !r.Clean() {
		t.Error("a run without failures is not clean")
	}
	r.Fanout.Missing = 1
	if r.Clean() {
		t.Error("a run with a missing delivery is clean")
	}
}

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr string
	}{
		{nil, "web", ""},
		{[]string{"web"}, "web", ""},
		{[]string{"ios", "android", "web"}, "web,android,ios", ""},
		{[]string{"android"}, "android", ""},
		{[]string{"web", "Web"}, "", `unknown platform "Web"`},
		{[]string{"huawei"}, "", `unknown platform "huawei"`},
		{[]string{"ios", "ios"}, "", "ios given twice"},
	}
	for _, tt := range tests {
		got, err := ParsePlatforms(tt.in)
		switch {
		case tt.wantErr != "":
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePlatforms(%q): %v, want ErrUsage with %q", tt.in, err, tt.wantErr)
			}
		case err != nil || strings.Join(got, ",") != tt.want:
			t.Errorf("ParsePlatforms(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDeviceToken(t *testing.T) {
	ios, android := deviceToken("ab12cd34", PlatformIOS, 7), deviceToken("ab12cd34", PlatformAndroid, 7)
	if len(ios) != 64 || strings.Trim(ios, "0123456789abcdef") != "" {
		t.Errorf("iOS token %q: want 64 hex digits", ios)
	}
	if len(android) < 100 || strings.Trim(android, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:-") != "" {
		t.Errorf("Android token %q: want 100 or more of A-Z a-z 0-9 _ : -", android)
	}
	if deviceToken("ab12cd34", PlatformIOS, 8) == ios {
		t.Error("two devices, one token")
	}
}
