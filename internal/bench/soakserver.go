package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// ServerSample is the server's figures at one moment of a soak, from its
// GET /metrics and, with a server pid, /proc/<pid>.
type ServerSample struct {
	Goroutines     int64 `json:"goroutines"`       // go_goroutines
	HeapInuseBytes int64 `json:"heap_inuse_bytes"` // go_memstats_heap_inuse_bytes
	RSSBytes       int64 `json:"rss_bytes"`        // process_resident_memory_bytes
	OpenFDs        int64 `json:"open_fds"`         // process_open_fds
	ReadersWS      int64 `json:"readers_ws"`       // newsflash_readers{transport="ws"}
	// From /proc/<pid> with --server-pid (or --spawn): VmRSS and the
	// entries of fd/.
	ProcRSSKiB *int64 `json:"proc_rss_kib,omitempty"`
	ProcFDs    *int64 `json:"proc_fds,omitempty"`
	// Seconds into the run when it was taken.
	AtS float64 `json:"at_s"`
}

// soakMetrics are the metrics a sample reads: name, labels, field.
var soakMetrics = []struct {
	name   string
	labels []string
	field  func(*ServerSample) *int64
}{
	{"go_goroutines", nil, func(s *ServerSample) *int64 { return &s.Goroutines }},
	{"go_memstats_heap_inuse_bytes", nil, func(s *ServerSample) *int64 { return &s.HeapInuseBytes }},
	{"process_resident_memory_bytes", nil, func(s *ServerSample) *int64 { return &s.RSSBytes }},
	{"process_open_fds", nil, func(s *ServerSample) *int64 { return &s.OpenFDs }},
	{"newsflash_readers", []string{"transport", "ws"}, func(s *ServerSample) *int64 { return &s.ReadersWS }},
}

// fromMetrics fills a sample from a GET /metrics answer.
func fromMetrics(b []byte) (ServerSample, error) {
	var s ServerSample
	m, err := parseMetrics(b)
	if err != nil {
		return s, err
	}
	for _, sm := range soakMetrics {
		v, ok := m.get(sm.name, sm.labels...)
		if !ok {
			return s, fmt.Errorf("GET /metrics has no %s%v", sm.name, sm.labels)
		}
		*sm.field(&s) = int64(v)
	}
	return s, nil
}

// serverSample reads the server's figures now.
func (r *runner) serverSample(ctx context.Context, since time.Time) (ServerSample, error) {
	var b []byte
	if err := r.api.do(ctx, http.MethodGet, "/metrics", nil, nil, &b, http.StatusOK); err != nil {
		return ServerSample{}, fmt.Errorf("GET /metrics: %w (the soak reads the server's goroutines, memory and descriptors there: the server serves it to loopback unless --metrics-allow says otherwise)", err)
	}
	s, err := fromMetrics(b)
	if err != nil {
		return s, err
	}
	if kib := r.probe.rss(); kib >= 0 {
		s.ProcRSSKiB = &kib
	}
	if r.cfg.ServerPID != 0 {
		if n, err := openFiles(r.cfg.ServerPID); err == nil {
			s.ProcFDs = ptr(int64(n))
		}
	}
	s.AtS = round(time.Since(since).Seconds(), 3)
	return s, nil
}

// Bounds of settledSample.
const (
	settleEvery = 250 * time.Millisecond
	settleWait  = 15 * time.Second
)

// settledSample closes the tool's idle HTTP connections (each holds a
// goroutine and a descriptor in the server), then samples the server until
// it has wantReaders WebSocket readers (negative: any number) and the same
// goroutines and descriptors twice in a row, or settleWait has passed; it
// returns the last sample and whether it settled.
func (r *runner) settledSample(ctx context.Context, since time.Time, wantReaders int64) (ServerSample, bool, error) {
	closeIdle(append([]*http.Client{r.api.client}, r.clients...))
	deadline := time.Now().Add(settleWait)
	var prev *ServerSample
	for {
		s, err := r.serverSample(ctx, since)
		if err != nil {
			return s, false, err
		}
		if (wantReaders < 0 || s.ReadersWS == wantReaders) && prev != nil &&
			s.Goroutines == prev.Goroutines && s.OpenFDs == prev.OpenFDs && s.ReadersWS == prev.ReadersWS {
			return s, true, nil
		}
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(settleEvery)) {
			return s, false, ctx.Err()
		}
		prev = &s
	}
}
