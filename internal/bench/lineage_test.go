package bench

import (
	"testing"
)

// op is one frame a lineage receives: a welcome (epoch set) or an event.
type op struct {
	epoch     string // a welcome when not empty
	recovered bool
	kind      byte
	seq       uint64
}

func wel(seq uint64, epoch string, recovered bool) op {
	return op{epoch: epoch, recovered: recovered, seq: seq}
}
func evt(kind byte, seq uint64) op { return op{kind: kind, seq: seq} }

// events gives item frames for seqs from..to.
func events(from, to uint64) []op {
	var out []op
	for s := from; s <= to; s++ {
		out = append(out, evt(kindItem, s))
	}
	return out
}

func cat(parts ...[]op) []op {
	var out []op
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestAccount(t *testing.T) {
	tests := []struct {
		name  string
		ops   []op
		final uint64
		ours  map[uint64]byte
		// want
		lost, dup, outOfOrder, early, gaps, beyond, wrongKind int
		recovered, notRecovered, epochChanges, expected       int
		cursor                                                uint64
	}{
		{name: "contiguous", ops: cat([]op{wel(10, "e1", false)}, events(11, 15)), final: 15, expected: 5, cursor: 15},
		{name: "nothing after the welcome", ops: []op{wel(10, "e1", false)}, final: 10, cursor: 10},
		{name: "tail not received", ops: cat([]op{wel(10, "e1", false)}, events(11, 15)), final: 17, expected: 7, lost: 2, cursor: 15},
		{name: "resumed, recovered", ops: cat([]op{wel(10, "e1", false)}, events(11, 12), []op{wel(20, "e1", true)}, events(13, 20)),
			final: 20, expected: 10, recovered: 1, cursor: 20},
		{name: "resumed at once, nothing missed", ops: cat([]op{wel(10, "e1", false)}, events(11, 12), []op{wel(12, "e1", true)}, events(13, 14)),
			final: 14, expected: 4, recovered: 1, cursor: 14},
		{name: "gap", ops: cat([]op{wel(10, "e1", false)}, events(11, 11), events(13, 15)), final: 15, expected: 5, lost: 1, gaps: 1, cursor: 15},
		{name: "replay repeats one", ops: cat([]op{wel(10, "e1", false)}, events(11, 12), []op{wel(14, "e1", true)}, events(12, 14)),
			final: 14, expected: 4, dup: 1, recovered: 1, cursor: 14},
		{name: "out of order", ops: cat([]op{wel(10, "e1", false)}, events(11, 11), events(13, 13), events(12, 12)),
			final: 13, expected: 3, outOfOrder: 1, gaps: 1, cursor: 13},
		{name: "not recovered: the skipped seqs are lost", ops: cat([]op{wel(10, "e1", false)}, events(11, 12), []op{wel(20, "e1", false)}, events(21, 22)),
			final: 22, expected: 12, lost: 8, gaps: 8, notRecovered: 1, cursor: 22},
		{name: "epoch change starts again", ops: cat([]op{wel(10, "e1", false)}, events(11, 12), events(12, 12), []op{wel(3, "e2", false)}, events(4, 6)),
			final: 6, expected: 3, dup: 1, epochChanges: 1, cursor: 6},
		{name: "epoch change even when recovered is claimed", ops: cat([]op{wel(10, "e1", false)}, events(11, 12), []op{wel(5, "e2", true)}, events(6, 7)),
			final: 8, expected: 3, lost: 1, epochChanges: 1, cursor: 7},
		{name: "early event", ops: cat([]op{wel(10, "e1", false)}, events(9, 12)), final: 12, expected: 2, early: 2, cursor: 12},
		{name: "event before any welcome", ops: []op{evt(kindItem, 5)}, final: 5, early: 1},
		{name: "beyond the final seq", ops: cat([]op{wel(10, "e1", false)}, events(11, 13)), final: 12, expected: 2, beyond: 1, cursor: 13},
		{name: "the tool's events by kind",
			ops:   []op{wel(10, "e1", false), evt(kindItem, 11), evt(kindUpdate, 12), evt(kindItem, 13), evt(kindItem, 14)},
			ours:  map[uint64]byte{11: kindItem, 12: kindUpdate, 13: kindRetract, 15: kindItem, 9: kindItem},
			final: 15, expected: 5, lost: 1, wrongKind: 1, cursor: 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a account
			gaps := 0
			for _, o := range tt.ops {
				if o.epoch != "" {
					gaps += a.onWelcome(welcome{Seq: o.seq, Epoch: o.epoch, Recovered: o.recovered})
					continue
				}
				g, _ := a.onEvent(o.kind, o.seq)
				gaps += g
			}
			f := a.settle(tt.final, tt.ours)
			got := []int{f.lost, a.dup, a.outOfOrder, a.early, a.gaps, f.beyond, f.wrongKind, a.recovered, a.notRecovered, a.epochChanges, f.expected}
			want := []int{tt.lost, tt.dup, tt.outOfOrder, tt.early, tt.gaps, tt.beyond, tt.wrongKind, tt.recovered, tt.notRecovered, tt.epochChanges, tt.expected}
			names := []string{"lost", "dup", "outOfOrder", "early", "gaps", "beyond", "wrongKind", "recovered", "notRecovered", "epochChanges", "expected"}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s = %d, want %d", names[i], got[i], want[i])
				}
			}
			if gaps != a.gaps {
				t.Errorf("gaps returned %d, counted %d", gaps, a.gaps)
			}
			if f.delivered+f.lost != f.expected {
				t.Errorf("delivered %d + lost %d != expected %d", f.delivered, f.lost, f.expected)
			}
			if a.cursor != tt.cursor {
				t.Errorf("cursor %d, want %d", a.cursor, tt.cursor)
			}
		})
	}
}

func TestAccountOurs(t *testing.T) {
	var a account
	a.onWelcome(welcome{Seq: 10, Epoch: "e"})
	for s, k := range map[uint64]byte{11: kindItem, 12: kindUpdate, 13: kindRetract, 14: kindItem} {
		a.onEvent(k, s)
	}
	f := a.settle(14, map[uint64]byte{9: kindItem, 11: kindItem, 12: kindUpdate, 13: kindRetract})
	if f.oursExpected != [4]int{0, 1, 1, 1} || f.oursDelivered != [4]int{0, 1, 1, 1} || f.wrongKind != 0 {
		t.Errorf("ours expected %v delivered %v wrong %d", f.oursExpected, f.oursDelivered, f.wrongKind)
	}
}

func TestResumeURL(t *testing.T) {
	l := &lineage{}
	const base = "ws://127.0.0.1:1/api/v1/ws?backfill=0"
	if got := l.resumeURL(base); got != base {
		t.Errorf("first connection: %s", got)
	}
	l.acct.onWelcome(welcome{Seq: 7, Epoch: "a b&c"})
	l.acct.onEvent(kindItem, 8)
	if got, want := l.resumeURL(base), base+"&since=8&epoch=a+b%26c"; got != want {
		t.Errorf("resume: %s, want %s", got, want)
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		frame []byte
		kind  byte
		seq   uint64
		ok    bool
	}{
		{serverFrame(t, "item", 17, "x"), kindItem, 17, true},
		{serverFrame(t, "update", 18, "x"), kindUpdate, 18, true},
		{serverFrame(t, "retract", 19, "x"), kindRetract, 19, true},
		{[]byte(`{"type":"welcome","seq":4,"epoch":"e","recovered":true,"backfill":0}`), kindNone, 0, false},
		{[]byte(`{"type":"item","item":{}}`), kindNone, 0, false},
		{[]byte(`{"type":"item","seq":x}`), kindNone, 0, false},
		{[]byte(`nope`), kindNone, 0, false},
	}
	for _, tt := range tests {
		k, s, ok := parseEvent(tt.frame)
		if k != tt.kind || s != tt.seq || ok != tt.ok {
			t.Errorf("parseEvent(%.60s) = %s %d %v, want %s %d %v", tt.frame, kindNames[k], s, ok, kindNames[tt.kind], tt.seq, tt.ok)
		}
	}
}
