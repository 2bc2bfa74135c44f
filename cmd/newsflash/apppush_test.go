package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppPushSettings: a bad credential or key file, or APNs settings
// given in part, stop start-up with a message naming the flag (and, for
// APNs, the missing ones); none given leaves both platforms off.
func TestAppPushSettings(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.json")
	if err := os.WriteFile(junk, []byte(`{"type":"service_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the error; none: accepted
	}{
		{"nothing", nil, nil},
		{"bad fcm credentials", []string{"--fcm-credentials", junk}, []string{"--fcm-credentials"}},
		{"missing fcm credentials", []string{"--fcm-credentials", filepath.Join(dir, "none.json")}, []string{"--fcm-credentials"}},
		{"apns in part", []string{"--apns-key-id", "ABCDEFGHIJ", "--apns-topic", "org.example.app"},
			[]string{"--apns-key-file", "missing: --apns-key-file, --apns-team-id"}},
		{"bad apns key file", []string{"--apns-key-file", junk, "--apns-key-id", "ABCDEFGHIJ", "--apns-team-id", "ABCDEFGHIJ", "--apns-topic", "org.example.app"},
			[]string{"--apns-key-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			f, v := serveFlagSet()
			f.fs.SetOutput(io.Discard)
			if err := f.parse(tc.args); err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, cfg, err := v.config(io.Discard)
			if len(tc.want) == 0 {
				if err != nil || cfg.FCM.Credentials != nil || cfg.APNs.Key != nil {
					t.Fatalf("err %v, fcm %v, apns key %v", err, cfg.FCM.Credentials != nil, cfg.APNs.Key != nil)
				}
				return
			}
			if err == nil {
				t.Fatal("config accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
