package main

import (
	"io"
	"strings"
	"testing"

	"newsflash/internal/server"
)

// TestLimitFlags: on the command line and in the environment, a limit's 0
// is "no limit" (-1, the old spelling, still works), auto is worked out by
// the server, and each becomes the Options value the packages expect
// (negative: no limit; 0: the package's default).
func TestLimitFlags(t *testing.T) {
	tests := []struct {
		flag, value string
		got         func(server.Options) int
		want        int
		bad         string // part of the error, when the value is refused
	}{
		{"max-readers", "auto", func(o server.Options) int { return o.Live.MaxReaders }, 0, ""},
		{"max-readers", "AUTO", func(o server.Options) int { return o.Live.MaxReaders }, 0, ""},
		{"max-readers", "0", func(o server.Options) int { return o.Live.MaxReaders }, -1, ""},
		{"max-readers", "-1", func(o server.Options) int { return o.Live.MaxReaders }, -1, ""},
		{"max-readers", "5000", func(o server.Options) int { return o.Live.MaxReaders }, 5000, ""},
		{"max-readers", "-2", nil, 0, "must be 0 (no limit) or more"},
		{"max-readers", "many", nil, 0, "want auto or a number"},
		{"readers-per-address", "0", func(o server.Options) int { return o.Live.ReadersPerAddress }, -1, ""},
		{"readers-per-address", "-1", func(o server.Options) int { return o.Live.ReadersPerAddress }, -1, ""},
		{"readers-per-address", "10", func(o server.Options) int { return o.Live.ReadersPerAddress }, 10, ""},
		{"readers-per-address", "-5", nil, 0, "must be 0 (no limit) or more"},
		{"connections-per-address", "0", func(o server.Options) int { return o.Limits.ConnectionsPerAddress }, -1, ""},
		{"connections-per-address", "-1", func(o server.Options) int { return o.Limits.ConnectionsPerAddress }, -1, ""},
		{"connections-per-address", "300", func(o server.Options) int { return o.Limits.ConnectionsPerAddress }, 300, ""},
		{"connections-per-address", "100", nil, 0, "above --readers-per-address 200"},
		{"reader-connects-per-second", "0", func(o server.Options) int { return o.Limits.ReaderConnects }, -1, ""},
		{"reader-connects-per-second", "-1", func(o server.Options) int { return o.Limits.ReaderConnects }, -1, ""},
		{"reader-connects-per-second", "7", func(o server.Options) int { return o.Limits.ReaderConnects }, 7, ""},
		{"api-requests-per-second", "0", func(o server.Options) int { return o.Limits.APIRequests }, -1, ""},
		{"api-requests-per-second", "50", func(o server.Options) int { return o.Limits.APIRequests }, 50, ""},
		{"auth-failures-per-minute", "0", func(o server.Options) int { return o.Limits.AuthFailures }, -1, ""},
		{"auth-failures-per-minute", "-1", func(o server.Options) int { return o.Limits.AuthFailures }, -1, ""},
		{"auth-failures-per-minute", "3", func(o server.Options) int { return o.Limits.AuthFailures }, 3, ""},
		{"auth-failures-per-minute", "-9", nil, 0, "must be 0 (no limit) or more"},
		{"ws-writers", "auto", func(o server.Options) int { return o.Live.Writers }, 0, ""},
		{"ws-writers", "0", func(o server.Options) int { return o.Live.Writers }, 0, ""}, // the old auto
		{"ws-writers", "3", func(o server.Options) int { return o.Live.Writers }, 3, ""},
		{"ws-writers", "-1", nil, 0, "must be auto or 1 to 1024"},
		{"ws-writers", "1025", nil, 0, "must be auto or 1 to 1024"},
		{"ws-writers", "two", nil, 0, "want auto or a number"},
		{"nats-replicas", "auto", func(o server.Options) int { return o.Stream.Replicas }, 0, ""},
		{"nats-replicas", "0", func(o server.Options) int { return o.Stream.Replicas }, 0, ""}, // the old auto
		{"nats-replicas", "1", func(o server.Options) int { return o.Stream.Replicas }, 1, ""},
		{"nats-replicas", "3", nil, 0, "single node"}, // embedded NATS
		{"nats-replicas", "6", nil, 0, "must be auto or 1 to 5"},
	}
	for _, tt := range tests {
		for _, source := range []string{"flag", "env"} {
			t.Run(tt.flag+"="+tt.value+"/"+source, func(t *testing.T) {
				clearEnv(t)
				var args []string
				if source == "flag" {
					args = []string{"--" + tt.flag, tt.value}
				} else {
					t.Setenv(envName(tt.flag), tt.value)
				}
				f, v := serveFlagSet()
				f.fs.SetOutput(io.Discard)
				err := f.parse(args)
				var opts server.Options
				if err == nil {
					_, opts, err = v.config(io.Discard)
				}
				if tt.bad != "" {
					if err == nil || !strings.Contains(err.Error(), tt.bad) || !strings.Contains(err.Error(), tt.flag) {
						t.Fatalf("err = %v, want one naming %s and %q", err, tt.flag, tt.bad)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := tt.got(opts); got != tt.want {
					t.Errorf("option = %d, want %d", got, tt.want)
				}
			})
		}
	}
}

// TestLimitFlagDefaults: with nothing given, every limit is the package's
// default and the auto settings are left to the server.
func TestLimitFlagDefaults(t *testing.T) {
	clearEnv(t)
	f, v := serveFlagSet()
	if err := f.parse(nil); err != nil {
		t.Fatal(err)
	}
	_, opts, err := v.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Live.MaxReaders != 0 || opts.Live.Writers != 0 || opts.Stream.Replicas != 0 {
		t.Errorf("auto settings: max readers %d, writers %d, replicas %d; want 0 (the server works them out)",
			opts.Live.MaxReaders, opts.Live.Writers, opts.Stream.Replicas)
	}
	lim := opts.Limits
	if lim.ReaderConnects != server.DefaultReaderConnects || lim.APIRequests != server.DefaultAPIRequests ||
		lim.AuthFailures != server.DefaultAuthFailures || lim.ConnectionsPerAddress != server.DefaultConnectionsPerAddress {
		t.Errorf("limits %+v, want the server's defaults", lim)
	}
	for _, name := range []string{"max-readers", "ws-writers", "nats-replicas"} {
		if def := f.fs.Lookup(name).DefValue; def != "auto" {
			t.Errorf("--%s default shown as %q, want auto", name, def)
		}
	}
}
