package bench

// Event kinds as the soak records them, one byte per seq.
const (
	kindNone    byte = iota // not received
	kindItem                // an item frame
	kindUpdate              // an update frame
	kindRetract             // a retract frame
)

// kindOf maps a frame or event type to its kind (kindNone for others).
func kindOf(typ string) byte {
	switch typ {
	case "item":
		return kindItem
	case "update":
		return kindUpdate
	case "retract":
		return kindRetract
	}
	return kindNone
}

// kindNames are the kinds' names, for reasons and tests.
var kindNames = [...]string{kindNone: "none", kindItem: "item", kindUpdate: "update", kindRetract: "retract"}

// welcome is what the soak reads from a welcome frame.
type welcome struct {
	Seq       uint64 `json:"seq"`
	Epoch     string `json:"epoch"`
	Recovered bool   `json:"recovered"`
	Backfill  int    `json:"backfill"`
}

// account is one lineage's record of what it received: a reader that
// disconnects and comes back with since=<its cursor>&epoch=<its epoch>, again
// and again, over several connections. The stream's seqs are contiguous (one
// per event: only the editor API publishes to the news stream, JetStream
// numbers every stored message, and the stream denies deletes and purges), and
// an unfiltered reader gets every event, so a lineage must receive every seq
// from its first welcome's seq+1 to the stream's last, each once, whatever
// its reconnects.
//
// An account is not safe for concurrent use: the lineage's goroutine owns it.
type account struct {
	started bool
	epoch   string
	base    uint64 // the first welcome's seq (of this epoch): seqs after it are expected
	cursor  uint64 // the resume cursor: the highest event seq received, or a fresh welcome's seq
	kinds   []byte // kinds[s-base-1]: what arrived for seq s, kindNone if nothing yet

	// Counts, over all connections.
	connects     int // welcomes
	recovered    int // welcomes of a reconnect that said recovered:true
	notRecovered int // welcomes of a reconnect (same epoch) that said recovered:false: what was missed is lost
	epochChanges int // welcomes with another epoch: the accounting starts again
	backfilled   int // welcomes announcing backfill frames (the soak asks for none)
	dup          int // events received again
	early        int // events at or below the first welcome's seq (never sent to a fresh reader)
	outOfOrder   int // events below the cursor that had not come before
	gaps         int // seqs skipped over when an event arrived: lost unless they come later, out of order
}

// onWelcome records a welcome. It returns how many seqs the welcome itself
// skipped (a reconnect not recovered: from the cursor to the new snapshot's
// seq), to count as lost so far.
func (a *account) onWelcome(w welcome) int {
	a.connects++
	if w.Backfill > 0 {
		a.backfilled++
	}
	if !a.started || w.Epoch != a.epoch {
		if a.started {
			a.epochChanges++
		}
		// Seqs of another incarnation of the stream cannot be compared:
		// start again from this welcome, keeping the counts.
		a.started, a.epoch, a.base, a.cursor, a.kinds = true, w.Epoch, w.Seq, w.Seq, nil
		return 0
	}
	if w.Recovered {
		a.recovered++
		return 0 // the missed events follow; the cursor stays where it was
	}
	a.notRecovered++
	skipped := 0
	if w.Seq > a.cursor {
		skipped = int(w.Seq - a.cursor)
		a.gaps += skipped
		a.cursor = w.Seq
	}
	return skipped
}

// onEvent records an item, update or retract frame with its envelope seq.
// It returns the seqs skipped (gap) and whether it was a repeat.
func (a *account) onEvent(kind byte, seq uint64) (gap int, dup bool) {
	if !a.started || seq <= a.base {
		a.early++
		return 0, false
	}
	i := seq - a.base - 1
	if i >= uint64(len(a.kinds)) {
		if i >= 1<<32 {
			a.early++ // absurd: a seq 4 billion events ahead
			return 0, false
		}
		a.kinds = append(a.kinds, make([]byte, int(i)+1-len(a.kinds))...)
	}
	if a.kinds[i] != kindNone {
		a.dup++
		return 0, true
	}
	a.kinds[i] = kind
	switch {
	case seq > a.cursor+1:
		gap = int(seq - a.cursor - 1)
		a.gaps += gap
	case seq <= a.cursor:
		a.outOfOrder++
	}
	a.cursor = max(a.cursor, seq)
	return gap, false
}

// lineageFigures is one lineage's settled accounting.
type lineageFigures struct {
	expected  int // seqs from base+1 to final
	delivered int // of those, received
	lost      int // of those, never received
	beyond    int // seqs received above final
	wrongKind int // events of the tool's writes received as another type
	// The tool's own writes (ours): expected and received, by kind.
	oursExpected, oursDelivered [4]int
}

// settle accounts for every seq from the first welcome's seq+1 to final,
// the stream's last seq. ours maps the seqs of the tool's acknowledged
// writes to their kind; other seqs (other writers) only need to arrive.
func (a *account) settle(final uint64, ours map[uint64]byte) lineageFigures {
	var f lineageFigures
	if !a.started {
		return f
	}
	for i, k := range a.kinds {
		if seq := a.base + 1 + uint64(i); seq > final && k != kindNone {
			f.beyond++
		}
	}
	if final <= a.base {
		return f
	}
	f.expected = int(final - a.base)
	for seq := a.base + 1; seq <= final; seq++ {
		i := seq - a.base - 1
		got := kindNone
		if i < uint64(len(a.kinds)) {
			got = a.kinds[i]
		}
		if got == kindNone {
			f.lost++
		} else {
			f.delivered++
		}
		want, isOurs := ours[seq]
		if !isOurs {
			continue
		}
		f.oursExpected[want]++
		switch got {
		case want:
			f.oursDelivered[want]++
		case kindNone:
		default:
			f.wrongKind++
		}
	}
	return f
}
