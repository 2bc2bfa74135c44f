package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// buildInfo is what this binary knows about its own build.
type buildInfo struct {
	Module   string // module version: v1.2.3, or (devel) for a build from a work tree
	Revision string // VCS commit, empty when the build had no VCS information
	Time     string // commit time, RFC 3339
	Modified bool   // the work tree had uncommitted changes
	Go       string // Go version that built it
}

// readBuildInfo reads the information the Go toolchain stamps into every
// binary (go build stamps vcs.* when it builds inside a git work tree).
func readBuildInfo() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildInfo{Module: "(unknown)"}
	}
	return buildInfoFrom(bi)
}

func buildInfoFrom(bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Module: bi.Main.Version, Go: bi.GoVersion}
	if b.Module == "" {
		b.Module = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is one line: module version, commit (with +dirty when the tree
// had changes) and its time, Go version. Parts that are unknown are left out.
func (b buildInfo) String() string {
	parts := []string{b.Module}
	if b.Revision != "" {
		rev := b.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if b.Modified {
			rev += "+dirty"
		}
		parts = append(parts, "commit "+rev)
		if b.Time != "" {
			parts = append(parts, b.Time)
		}
	}
	if b.Go != "" {
		parts = append(parts, b.Go)
	}
	return strings.Join(parts, " ")
}

// version is `newsflash version` and `newsflash --version`.
func version(args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprint(stderr, "usage: newsflash version\n")
		return 2
	}
	fmt.Fprintf(stdout, "newsflash %s\n", readBuildInfo())
	return 0
}
