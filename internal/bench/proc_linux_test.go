//go:build linux && !newsflash_portable

package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime ...
	tests := []struct {
		stat    string
		want    uint64
		wantErr bool
	}{
		{"1234 (newsflash) S 1 1234 1234 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 8 0", 175, false},
		{"1234 (a b) c) ) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0", 10, false},
		{"1234 (x) R 1 1 1", 0, true},
		{"1234 newsflash R", 0, true},
		{"1234 (x) R 1 1 1 0 -1 0 0 0 0 0 abc 3 0 0", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatCPU([]byte(tt.stat))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStatCPU(%q) = %d, %v; want %d (error %v)", tt.stat, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadCPUOfThisProcess(t *testing.T) {
	before, err := readCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU; /proc counts in 10 ms ticks.
	deadline := time.Now().Add(60 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	after, err := readCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before {
		t.Errorf("CPU went from %v to %v", before, after)
	}
	if after <= 0 {
		t.Errorf("CPU time %v after busy work, want more than 0", after)
	}
}

func TestParseStatusKiB(t *testing.T) {
	status := "Name:\tnewsflash\nVmPeak:\t  12345 kB\nVmRSS:\t   4321 kB\nThreads:\t8\n"
	if got, err := parseStatusKiB([]byte(status), "VmRSS:"); err != nil || got != 4321 {
		t.Errorf("VmRSS = %d, %v; want 4321", got, err)
	}
	if _, err := parseStatusKiB([]byte(status), "VmSwap:"); err == nil {
		t.Error("missing VmSwap: no error")
	}
	if _, err := parseStatusKiB([]byte("VmRSS:\t12 MB\n"), "VmRSS:"); err == nil {
		t.Error("VmRSS in MB: no error")
	}
}

func TestProcFiguresOfThisProcess(t *testing.T) {
	kib, err := readRSS(0)
	if err != nil || kib <= 0 {
		t.Errorf("readRSS(self) = %d, %v; want more than 0", kib, err)
	}
	n, err := openFiles(os.Getpid())
	if err != nil || n < 3 {
		t.Errorf("openFiles = %d, %v; want at least 3", n, err)
	}
	limit, err := raiseFileLimit()
	if err != nil || limit < n {
		t.Errorf("raiseFileLimit = %d, %v", limit, err)
	}
	soft, err := fileLimit(os.Getpid())
	if err != nil || soft != limit {
		t.Errorf("fileLimit = %d, %v; want %d", soft, err, limit)
	}
	if p := ephemeralPorts(); p < 1000 {
		t.Errorf("ephemeralPorts = %d", p)
	}
	pr := probe{pid: os.Getpid()}
	u := pr.sample()
	if !u.hasSrv {
		t.Errorf("sample %+v: no server figures for a known pid", u)
	}
	if (probe{}).sample().hasSrv {
		t.Error("sample without a pid has server figures")
	}
	if pr.rss() <= 0 || (probe{}).rss() != -1 {
		t.Error("probe rss: want the process's RSS, and -1 without a pid")
	}
	if !u.hasTool {
		t.Errorf("sample %+v: no figures of the tool itself", u)
	}
	if !strings.Contains(procPath(0, "stat"), "self") {
		t.Error("procPath(0) is not /proc/self")
	}
}
