package main

import (
	"strings"
	"testing"
)

// TestBenchSpawnSoak runs a short soak against a server in this process:
// readers that churn and resume, posts with corrections and retractions,
// two push subscriptions; nothing may be lost or repeated.
func TestBenchSpawnSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak of a few seconds")
	}
	clearToken(t)
	code, stdout, stderr := runCmd(t, "--spawn", "--scenario", "soak", "--duration", "3s",
		"--readers", "8", "--churn", "4", "--rate", "10", "--corrections", "0.5", "--retractions", "0.3",
		"--subs", "2", "--push-share", "0.5", "--drain", "5s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := lastJSON(t, stdout)
	if m["scenario"] != "soak" || m["soak_ok"] != true {
		t.Errorf("scenario %v, soak_ok %v, reasons %v", m["scenario"], m["soak_ok"], m["soak_reasons"])
	}
	for _, f := range []string{"lost", "duplicated", "out_of_order", "wrong_kind", "not_recovered", "epoch_changes",
		"lineages_failed", "post_failed", "correct_failed", "retract_failed", "push_missing", "push_duplicated", "push_refused"} {
		wantFigure(t, m, f, 0)
	}
	wantFigure(t, m, "lineages", 8)
	wantFigure(t, m, "subscribed", 2)
	for _, f := range []string{"churned", "reconnects", "corrected", "retracted", "pushed_items", "expected"} {
		if v, ok := m[f].(float64); !ok || v < 1 {
			t.Errorf("%s = %v, want at least 1", f, m[f])
		}
	}
	if m["reconnects"] != m["recovered"] || m["delivered"] != m["expected"] || m["push_received"] != m["push_expected"] {
		t.Errorf("reconnects %v recovered %v; delivered %v of %v; pushes %v of %v",
			m["reconnects"], m["recovered"], m["delivered"], m["expected"], m["push_received"], m["push_expected"])
	}
	for _, f := range []string{"item", "update", "retract"} {
		if m[f+"_frames_delivered"] != m[f+"_frames_expected"] {
			t.Errorf("%s frames %v of %v", f, m[f+"_frames_delivered"], m[f+"_frames_expected"])
		}
	}
	for _, sample := range []string{"server_start", "server_connected", "server_end", "server_closed"} {
		if s, ok := m[sample].(map[string]any); !ok || s["goroutines"] == nil || s["open_fds"] == nil {
			t.Errorf("%s = %v", sample, m[sample])
		}
	}
	if !strings.Contains(stdout, "SOAK OK") {
		t.Errorf("summary lacks the verdict:\n%s", stdout)
	}
}
