package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's generated configuration table")

const (
	flagsBegin = "<!-- flags:begin -->\n"
	flagsEnd   = "<!-- flags:end -->"
	readmePath = "../../README.md" // from cmd/newsflash
)

// readmeFlagsSection reads README.md (line endings as \n) and the bounds of
// its generated flags table.
func readmeFlagsSection(t *testing.T) (readme string, begin, end int) {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(readmePath))
	if err != nil {
		t.Fatal(err)
	}
	readme = strings.ReplaceAll(string(data), "\r\n", "\n")
	begin = strings.Index(readme, flagsBegin)
	end = strings.Index(readme, flagsEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the markers %q and %q around the configuration table", strings.TrimSpace(flagsBegin), flagsEnd)
	}
	return readme, begin + len(flagsBegin), end
}

// TestREADMEFlagsTable keeps README.md's configuration table what
// markdownTable renders from serve's flags; -update rewrites it.
func TestREADMEFlagsTable(t *testing.T) {
	readme, begin, end := readmeFlagsSection(t)
	fs, _ := serveFlagSet()
	var b strings.Builder
	fs.markdownTable(&b)
	want, got := b.String(), readme[begin:end]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(filepath.FromSlash(readmePath), []byte(readme[:begin]+want+readme[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote README.md's configuration table")
		return
	}
	gotLines, wantLines := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("README.md's configuration table is not the one serve's flags give; run\n\tgo test ./cmd/newsflash -run TestREADMEFlagsTable -update\nfirst difference, line %d of the table:\nREADME: %s\nflags:  %s", i+1, g, w)
		}
	}
}

// TestREADMEListsServeFlags checks that `serve --help` lists exactly the
// flags of README.md's table, by reading both as a user would.
func TestREADMEListsServeFlags(t *testing.T) {
	clearEnv(t)
	readme, begin, end := readmeFlagsSection(t)
	var inREADME []string
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\| `(NEWSFLASH_[A-Z0-9_]+)` \\|").FindAllStringSubmatch(readme[begin:end], -1) {
		if m[2] != envName(m[1]) {
			t.Errorf("README gives --%s the variable %s, want %s", m[1], m[2], envName(m[1]))
		}
		inREADME = append(inREADME, m[1])
	}
	code, stdout, stderr := runCmd(t, "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d: %s", code, stderr)
	}
	var inHelp []string
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z0-9-]+)  \(`).FindAllStringSubmatch(stdout, -1) {
		inHelp = append(inHelp, m[1])
	}
	if len(inHelp) == 0 {
		t.Fatalf("serve --help lists no flags:\n%s", stdout)
	}
	slices.Sort(inREADME)
	slices.Sort(inHelp)
	if !slices.Equal(inREADME, inHelp) {
		t.Errorf("README.md's table lists %v\nserve --help lists %v\nrun go test ./cmd/newsflash -run TestREADMEFlagsTable -update", inREADME, inHelp)
	}
}
