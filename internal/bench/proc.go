package bench

import "time"

// The figures of processes come from /proc on Linux (proc_linux.go);
// elsewhere, and with the newsflash_portable build tag, they are not known
// (proc_other.go: errors.ErrUnsupported) and results leave them out. The
// open files limit is raised on Unix (rlimit_unix.go).

// usage is a snapshot of CPU times: the server's and the tool's, each if
// known.
type usage struct {
	at              time.Time
	server          time.Duration
	tool            time.Duration
	hasSrv, hasTool bool
}

// probe reads CPU and memory figures of the server process (pid 0: none
// known) and of this one.
type probe struct {
	pid int
}

func (p probe) sample() usage {
	u := usage{at: time.Now()}
	var err error
	u.tool, err = readCPU(0)
	u.hasTool = err == nil
	if p.pid != 0 {
		u.server, err = readCPU(p.pid)
		u.hasSrv = err == nil
	}
	return u
}

// rss returns the server's RSS in KiB, or -1 when it is not known.
func (p probe) rss() int64 {
	if p.pid == 0 {
		return -1
	}
	kib, err := readRSS(p.pid)
	if err != nil {
		return -1
	}
	return kib
}

// cpuSpan is the CPU used between two samples.
type cpuSpan struct {
	wall, server, tool time.Duration
	hasSrv, hasTool    bool
}

func span(a, b usage) cpuSpan {
	return cpuSpan{wall: b.at.Sub(a.at), server: b.server - a.server, tool: b.tool - a.tool,
		hasSrv: a.hasSrv && b.hasSrv, hasTool: a.hasTool && b.hasTool}
}

// perOp returns µs of CPU per operation, or nil when it is not known or
// there were no operations.
func perOp(d time.Duration, ok bool, n int) *float64 {
	if !ok || n <= 0 {
		return nil
	}
	return ptr(round(float64(d.Microseconds())/float64(n), 2))
}

// pctOfCore returns CPU time as a percentage of one core over wall time.
func pctOfCore(d time.Duration, ok bool, wall time.Duration) *float64 {
	if !ok || wall <= 0 {
		return nil
	}
	return ptr(round(100*d.Seconds()/wall.Seconds(), 1))
}

func ptr[T any](v T) *T { return &v }
