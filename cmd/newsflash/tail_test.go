package main

import (
	"strings"
	"testing"
)

// TestTailFlags: newsflash tail's flags, their variables and bad values;
// the following itself is tested in internal/tail against a real server.
func TestTailFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"tail", "--help"}, nil, 0, "  --server  (NEWSFLASH_SERVER, default http://localhost:8080)", ""},
		{"help lists json", []string{"tail", "-h"}, nil, 0, "  --json  (NEWSFLASH_JSON, default false)", ""},
		{"backfill too large", []string{"tail", "--backfill", "101"}, nil, 2, "", "newsflash: invalid --backfill 101: must be 0 to 100\n"},
		{"NEWSFLASH_BACKFILL negative", []string{"tail"}, map[string]string{"NEWSFLASH_BACKFILL": "-1"}, 2, "", "newsflash: invalid NEWSFLASH_BACKFILL=-1 (--backfill): must be 0 to 100\n"},
		{"server not http", []string{"tail", "--server", "ftp://news.example"}, nil, 2, "", "newsflash: invalid --server ftp://news.example: want an http or https URL"},
		{"NEWSFLASH_SERVER without scheme", []string{"tail"}, map[string]string{"NEWSFLASH_SERVER": "localhost:8080"}, 2, "", "newsflash: invalid NEWSFLASH_SERVER=localhost:8080 (--server)"},
		{"argument", []string{"tail", "now"}, nil, 2, "", `unexpected argument "now"`},
		{"usage names tail", []string{"help"}, nil, 0, "newsflash tail [flags]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) || (tt.wantStderr == "" && stderr != "") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}
