package main

import (
	"io"
	"testing"
	"time"
)

// TestServeAuditMaxAge: the audit's retention comes from its flag or its
// variable, 90 days by default, apart from the history's.
func TestServeAuditMaxAge(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want time.Duration
	}{
		{nil, "", 90 * 24 * time.Hour},
		{[]string{"--audit-max-age", "8760h"}, "", 365 * 24 * time.Hour},
		{nil, "1h", time.Hour},
		{[]string{"--audit-max-age", "2h"}, "48h", 2 * time.Hour},
	} {
		clearEnv(t)
		if tc.env != "" {
			t.Setenv("NEWSFLASH_AUDIT_MAX_AGE", tc.env)
		}
		f, v := serveFlagSet()
		f.fs.SetOutput(io.Discard)
		if err := f.parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, cfg, err := v.config(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Stream.AuditMaxAge != tc.want || cfg.Stream.MaxAge != 30*24*time.Hour {
			t.Errorf("%v %q: audit max age %s (history %s), want %s", tc.args, tc.env, cfg.Stream.AuditMaxAge, cfg.Stream.MaxAge, tc.want)
		}
	}
}
