package main

import (
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildInfoString(t *testing.T) {
	const rev = "03caaee1b2c3d4e5f60718293a4b5c6d7e8f9012"
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"},
			Settings: settings("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-28T13:48:33Z", "vcs.modified", "false")},
			"v1.4.0 commit 03caaee1b2c3 2026-11-28T13:48:33Z go1.26.0"},
		{"dirty work tree", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", rev, "vcs.time", "2026-11-28T13:48:33Z", "vcs.modified", "true")},
			"(devel) commit 03caaee1b2c3+dirty 2026-11-28T13:48:33Z go1.26.0"},
		{"no VCS information", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"(devel) go1.26.0"},
		{"no module version", debug.BuildInfo{GoVersion: "go1.26.0", Settings: settings("vcs.revision", "abc")},
			"(devel) commit abc go1.26.0"},
	}
	for _, tt := range tests {
		if got := buildInfoFrom(&tt.bi).String(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, stdout, stderr := runCmd(t, arg)
		if code != 0 || stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", arg, code, stderr)
		}
		if !strings.HasPrefix(stdout, "newsflash ") || !strings.HasSuffix(stdout, " "+runtime.Version()+"\n") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%s: stdout %q, want one line: newsflash, version, ..., %s", arg, stdout, runtime.Version())
		}
	}
	if code, _, stderr := runCmd(t, "version", "--short"); code != 2 || !strings.Contains(stderr, "usage: newsflash version") {
		t.Errorf("version --short: exit %d, stderr %q", code, stderr)
	}
}

// checkBinaryVersion runs a built binary's version command: it names the
// commit that the toolchain stamped into the binary, if it stamped one (go
// build does inside a git work tree, unless -buildvcs=false).
func checkBinaryVersion(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	line := string(out)
	if !strings.HasPrefix(line, "newsflash ") || !strings.Contains(line, runtime.Version()) {
		t.Errorf("version = %q", line)
	}
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, l := range strings.Split(string(meta), "\n") {
		if rev, ok := strings.CutPrefix(strings.TrimSpace(l), "build\tvcs.revision="); ok {
			if want := "commit " + rev[:min(12, len(rev))]; !strings.Contains(line, want) {
				t.Errorf("version = %q, want it to name %q", line, want)
			}
			return
		}
	}
	t.Logf("the binary has no VCS information; version %q", line)
}
