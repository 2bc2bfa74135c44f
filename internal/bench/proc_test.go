package bench

import (
	"testing"
	"time"
)

func TestPerOp(t *testing.T) {
	if v := perOp(time.Millisecond, true, 4); v == nil || *v != 250 {
		t.Errorf("perOp(1ms, 4) = %v, want 250", v)
	}
	if perOp(time.Millisecond, false, 4) != nil || perOp(time.Millisecond, true, 0) != nil {
		t.Error("perOp without figures or operations: want nil")
	}
	if v := pctOfCore(500*time.Millisecond, true, 2*time.Second); v == nil || *v != 25 {
		t.Errorf("pctOfCore = %v, want 25", v)
	}
}
