//go:build !linux || newsflash_portable

package bench

import (
	"errors"
	"os"
	"testing"
)

// TestProcFiguresNotKnown: without /proc the figures are reported as not
// known, not as zero, and a run's limits check still passes.
func TestProcFiguresNotKnown(t *testing.T) {
	for name, err := range map[string]error{
		"readCPU":   second(readCPU(0)),
		"readRSS":   second(readRSS(os.Getpid())),
		"openFiles": second(openFiles(0)),
		"fileLimit": second(fileLimit(os.Getpid())),
	} {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s: error %v, want errors.ErrUnsupported", name, err)
		}
	}
	u := probe{pid: os.Getpid()}.sample()
	if u.hasSrv || u.hasTool {
		t.Errorf("sample %+v: figures that cannot be known", u)
	}
	if sp := span(u, u); perOp(sp.tool, sp.hasTool, 10) != nil || pctOfCore(sp.tool, sp.hasTool, 1) != nil {
		t.Error("CPU per operation or share of a core reported without CPU figures")
	}
	if (probe{pid: os.Getpid()}).rss() != -1 {
		t.Error("rss without /proc: want -1")
	}
	limit, err := raiseFileLimit()
	if err != nil || limit <= 0 {
		t.Errorf("raiseFileLimit = %d, %v", limit, err)
	}
	r := &runner{cfg: Config{Scenario: ScenarioIdle, Readers: 100}}
	if err := r.checkLimits(1); err != nil {
		t.Errorf("checkLimits for 100 readers: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
