package bench

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/pushsink"
)

// cleanSoak is a soak's figures with nothing wrong: 1,000 readers that cost
// the server one goroutine and one descriptor each.
func cleanSoak() *SoakFigures {
	return &SoakFigures{
		Readers: 1000, Lineages: 1000, Subs: 10, Subscribed: 10,
		ServerStart:     &ServerSample{Goroutines: 80, OpenFDs: 20, ReadersWS: 0},
		ServerConnected: &ServerSample{Goroutines: 1082, OpenFDs: 1021, ReadersWS: 1000},
		ServerEnd:       &ServerSample{Goroutines: 1090, OpenFDs: 1025, ReadersWS: 1000},
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *SoakFigures)
		reason string // "" for OK
	}{
		{"clean", func(*SoakFigures) {}, ""},
		{"lost", func(f *SoakFigures) { f.Lost = 3 }, "lost 3 events"},
		{"duplicated", func(f *SoakFigures) { f.Duplicated = 1 }, "duplicated 1 events"},
		{"out of order", func(f *SoakFigures) { f.OutOfOrder = 2 }, "out of order"},
		{"wrong kind", func(f *SoakFigures) { f.WrongKind = 2 }, "another frame type"},
		{"not recovered", func(f *SoakFigures) { f.NotRecovered = 1 }, "recovered:false"},
		{"epoch", func(f *SoakFigures) { f.EpochChanges = 1 }, "epoch changed"},
		{"reader gave up", func(f *SoakFigures) { f.LineagesFailed, f.LineageError = 1, "boom" }, "gave up reconnecting (first: boom)"},
		{"write failed", func(f *SoakFigures) { f.CorrectFailed = 1 }, "1 writes failed"},
		{"subscriptions", func(f *SoakFigures) { f.Subscribed = 9 }, "9 of 10 push subscriptions"},
		{"push missing", func(f *SoakFigures) { f.PushMissing, f.PushExpected = 1, 40 }, "1 of 40 final versions"},
		{"push repeated", func(f *SoakFigures) { f.PushDuplicated = 1 }, "repeated"},
		{"push refused", func(f *SoakFigures) { f.PushRefused = 1 }, "sink refused"},
		{"push superseded is fine", func(f *SoakFigures) { f.PushSuperseded = 7 }, ""},
		{"goroutines at the limit", func(f *SoakFigures) { f.ServerEnd.Goroutines = 80 + 1002 + goroutineAllowance }, ""},
		{"goroutines over", func(f *SoakFigures) { f.ServerEnd.Goroutines = 80 + 1002 + goroutineAllowance + 1 }, "goroutines grew by 1067, more than the 1066 allowed"},
		{"descriptors over", func(f *SoakFigures) { f.ServerEnd.OpenFDs = 20 + 1001 + fdAllowance + 1 }, "descriptors grew by 1034, more than the 1033 allowed"},
		{"fewer readers at the end", func(f *SoakFigures) {
			f.ServerEnd.ReadersWS, f.ServerEnd.Goroutines = 900, 80+902+goroutineAllowance+1
		}, "goroutines grew"},
		{"no end sample", func(f *SoakFigures) { f.ServerEnd = nil }, "not read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cleanSoak()
			tt.change(f)
			f.judge()
			reasons := strings.Join(f.Reasons, "; ")
			switch {
			case tt.reason == "" && (!f.OK || len(f.Reasons) > 0):
				t.Errorf("not OK: %s", reasons)
			case tt.reason != "" && (f.OK || !strings.Contains(reasons, tt.reason)):
				t.Errorf("OK %v, reasons %q, want one with %q", f.OK, reasons, tt.reason)
			}
		})
	}
	f := cleanSoak()
	f.judge()
	if f.GoroutinesPerReader != 1.002 || f.FDsPerReader != 1.001 || f.GoroutineGrowth != 1010 || f.GoroutineAllowed != 1002+goroutineAllowance ||
		f.FDGrowth != 1005 || f.FDAllowed != 1001+fdAllowance {
		t.Errorf("figures %+v", f)
	}
	// No readers connected between start and connected: one each, as a
	// WebSocket reader costs a separate server.
	f = cleanSoak()
	f.ServerConnected.ReadersWS = 0
	f.judge()
	if f.GoroutinesPerReader != 1 || f.FDsPerReader != 1 {
		t.Errorf("per reader %v, %v: want the nominal 1, 1", f.GoroutinesPerReader, f.FDsPerReader)
	}
}

func TestPushKindOf(t *testing.T) {
	for _, tt := range []struct {
		urgency, ttl string
		want         byte
	}{
		{"high", "21600", kindItem},
		{"high", "21000", kindItem},
		{"high", "43200", kindUpdate},
		{"high", "21601", kindUpdate},
		{"normal", "43200", kindRetract},
		{"normal", "21600", kindRetract},
		{"", "1", kindRetract},
		{"high", "x", kindItem},
	} {
		if got := pushKindOf(tt.urgency, tt.ttl); got != tt.want {
			t.Errorf("pushKindOf(%q, %q) = %s, want %s", tt.urgency, tt.ttl, kindNames[got], kindNames[tt.want])
		}
	}
}

func TestPushLogSettle(t *testing.T) {
	l := newPushLog(nil)
	subs := make([]pushsink.Subscription, 3)
	for i := range subs {
		subs[i].Endpoint = "http://127.0.0.1:1/push/s" + string(rune('0'+i))
	}
	l.setSubs(subs)
	at := time.Now()
	push := func(sub int, item string, kind byte) {
		l.record(subs[sub].ID(), item, kind, true, http.StatusCreated, at)
	}
	// a: posted only; every subscription gets it once, s2 twice.
	for s := range 3 {
		push(s, "a", kindItem)
	}
	push(2, "a", kindItem)
	// b: posted then corrected: s0 gets both, s1 only the correction (the
	// post was superseded), s2 only the post (the correction is missing).
	push(0, "b", kindItem)
	push(0, "b", kindUpdate)
	push(1, "b", kindUpdate)
	push(2, "b", kindItem)
	// c: posted, corrected, retracted: everyone gets only the retraction.
	for s := range 3 {
		push(s, "c", kindRetract)
	}
	// d: not pushed by the tool.
	push(0, "d", kindItem)
	// e: posted only, but s1 gets an update the tool never made.
	for s := range 3 {
		push(s, "e", kindItem)
	}
	push(1, "e", kindUpdate)
	// Not this run's: a stray subscription, a refusal, no topic.
	l.record("other", "a", kindItem, true, http.StatusCreated, at)
	l.record(subs[0].ID(), "a", kindItem, false, http.StatusForbidden, at)
	l.record(subs[0].ID(), "", kindItem, true, http.StatusCreated, at)

	items := []pushItem{
		{id: "a", made: [4]bool{kindItem: true}, final: kindItem},
		{id: "b", made: [4]bool{kindItem: true, kindUpdate: true}, final: kindUpdate},
		{id: "c", made: [4]bool{kindItem: true, kindUpdate: true, kindRetract: true}, final: kindRetract},
		{id: "e", made: [4]bool{kindItem: true}, final: kindItem},
	}
	f := l.settle(items, 3)
	want := pushFigures{expected: 12, received: 11, missing: 1, duplicated: 1, superseded: 1 + 3*2, unexpected: 1, foreign: 1}
	if f != want {
		t.Errorf("settle = %+v\nwant      %+v", f, want)
	}
	if n := l.missingFinals(items, 3); n != 1 {
		t.Errorf("missingFinals = %d, want 1", n)
	}
	if l.strays != 1 || l.refused != 1 || l.noTopic != 1 || !strings.Contains(l.firstRefusal, "403") {
		t.Errorf("strays %d refused %d (%s) noTopic %d", l.strays, l.refused, l.firstRefusal, l.noTopic)
	}
}

func TestPicked(t *testing.T) {
	const n = 1000
	var push, correct, retract, pushedAndCorrected, correctedAndRetracted int
	for i := range n {
		p, c, r := picked(i, 0.2, pickPush), picked(i, 0.2, pickCorrect), picked(i, 0.05, pickRetract)
		push, correct, retract = push+b2i(p), correct+b2i(c), retract+b2i(r)
		pushedAndCorrected += b2i(p && c)
		correctedAndRetracted += b2i(c && r)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{{"pushed", push, 200}, {"corrected", correct, 200}, {"retracted", retract, 50}} {
		if math.Abs(float64(c.got-c.want)) > 3 {
			t.Errorf("%s %d of %d, want about %d", c.name, c.got, n, c.want)
		}
	}
	if pushedAndCorrected == 0 || correctedAndRetracted == 0 {
		t.Errorf("the choices do not mix: %d pushed and corrected, %d corrected and retracted", pushedAndCorrected, correctedAndRetracted)
	}
	for i := range 100 {
		if picked(i, 0, pickPush) || !picked(i, 1, pickPush) {
			t.Fatalf("share 0 or 1 not honoured at %d", i)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOursAndPushItems(t *testing.T) {
	items := []*soakItem{
		{n: 0, pushed: true, id: "a", postSeq: 1},
		{n: 1, pushed: true, correct: true, retract: true, id: "b", postSeq: 2, correctSeq: 4, retractSeq: 6},
		{n: 2, pushed: false, correct: true, id: "c", postSeq: 3, correctSeq: 5},
		{n: 3, pushed: true, id: "d"}, // post failed
	}
	om := ours(items)
	want := map[uint64]byte{1: kindItem, 2: kindItem, 3: kindItem, 4: kindUpdate, 5: kindUpdate, 6: kindRetract}
	if len(om) != len(want) {
		t.Fatalf("ours = %v", om)
	}
	for s, k := range want {
		if om[s] != k {
			t.Errorf("ours[%d] = %d, want %d", s, om[s], k)
		}
	}
	p := pushItems(items)
	if len(p) != 2 || p[0].id != "a" || p[0].final != kindItem || p[1].id != "b" || p[1].final != kindRetract ||
		p[1].made != [4]bool{false, true, true, true} {
		t.Errorf("pushItems = %+v", p)
	}
}

func TestRefusal(t *testing.T) {
	for _, tt := range []struct {
		err  error
		flag string
	}{
		{&apiError{status: 429, body: `{"error":{"code":"too_many_connects","message":"x"}}`}, "--reader-connects-per-second 0"},
		{&apiError{status: 429, body: `{"error":{"code":"too_many_readers"}}`}, "--readers-per-address 0"},
		{&apiError{status: 429, body: `{"error":{"code":"too_many_requests"}}`}, "--api-requests-per-second 0"},
		{&apiError{status: 429, body: `{"error":{"code":"too_many_subscriptions"}}`}, "--push-subscribe-per-hour"},
		{&apiError{status: 503, body: `{"error":{"code":"server_full"}}`}, "--max-readers"},
		{&apiError{status: 503, body: `{"error":{"code":"not_ready"}}`}, ""},
		{&apiError{status: 429, body: `not json`}, ""},
		{&apiError{status: 400, body: `{"error":{"code":"too_many_readers"}}`}, ""},
	} {
		err := asRefused("connect a reader", tt.err)
		if tt.flag == "" {
			if err != tt.err {
				t.Errorf("%v: %v, want it as it is", tt.err, err)
			}
			continue
		}
		if !strings.Contains(err.Error(), tt.flag) || !strings.Contains(err.Error(), "connect a reader") {
			t.Errorf("%v: %v, want the flag %s", tt.err, err, tt.flag)
		}
		if retryable(tt.err) {
			t.Errorf("%v is retried", tt.err)
		}
	}
}

// TestSoakRefused: a reader refused by one of the server's limits ends the
// soak at once with an error that names the serve flag.
func TestSoakRefused(t *testing.T) {
	for _, tt := range []struct {
		status int
		code   string
		flag   string
	}{
		{http.StatusTooManyRequests, "too_many_connects", "--reader-connects-per-second 0"},
		{http.StatusTooManyRequests, "too_many_readers", "--readers-per-address 0"},
		{http.StatusServiceUnavailable, "server_full", "--max-readers 0"},
	} {
		t.Run(tt.code, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"ready","seq":0}`) })
			mux.HandleFunc("GET /api/v1/taxonomy", func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, `{"regions":[{"slug":"mena"},{"slug":"europe"}],"languages":[{"slug":"en"}]}`)
			})
			mux.HandleFunc("GET /api/v1/push/key", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"public_key":"k"}`) })
			mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "go_goroutines 10\ngo_memstats_heap_inuse_bytes 1\nprocess_resident_memory_bytes 1\nprocess_open_fds 5\nnewsflash_readers{transport=\"ws\"} 0\n")
			})
			var dials atomic.Int64
			mux.HandleFunc("GET /api/v1/ws", func(w http.ResponseWriter, _ *http.Request) {
				dials.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, `{"error":{"code":"`+tt.code+`","message":"no"}}`)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			start := time.Now()
			_, err := Run(context.Background(), Config{Scenario: ScenarioSoak, URL: srv.URL, Token: "t", Readers: 50, ConnectRate: 100})
			if err == nil || !strings.Contains(err.Error(), tt.flag) || !strings.Contains(err.Error(), tt.code) || errors.Is(err, ErrUsage) {
				t.Errorf("err = %v, want one naming %s and %s", err, tt.code, tt.flag)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			if n := dials.Load(); n > 10 {
				t.Errorf("%d dials after the first refusal", n)
			}
		})
	}
}
