package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Result is every figure of a run; Run prints it as a summary and as one
// JSON line. Figures that could not be measured (the server's, without a
// server pid) are left out of the JSON.
type Result struct {
	Scenario string `json:"scenario"`
	URL      string `json:"url"`
	// Spawned: the server runs in the tool's process, so the server's CPU
	// and RSS figures are the whole process's, the tool's share included
	// (and the tool's CPU figures are the same numbers).
	Spawned   bool     `json:"spawned"`
	ServerPID int      `json:"server_pid,omitempty"`
	SrcIPs    []string `json:"src_ips"`
	Filter    string   `json:"filter"`
	Run       string   `json:"run"` // this run's tag in item texts
	WallS     float64  `json:"wall_s"`
	// CPU seconds over the whole run, and RSS at its end.
	ToolCPUS     float64  `json:"tool_cpu_s"`
	ToolRSSKiB   int64    `json:"tool_rss_kib"`
	ServerCPUS   *float64 `json:"server_cpu_s,omitempty"`
	ServerRSSKiB *int64   `json:"server_rss_kib,omitempty"`

	// The figures of the scenario's phases; in the JSON their fields sit
	// at the top level, next to the ones above.
	Connect *ConnectFigures `json:"-"`
	Idle    *IdleFigures    `json:"-"`
	Fanout  *FanoutFigures  `json:"-"`
	Push    *PushFigures    `json:"-"`
	Soak    *SoakFigures    `json:"-"`
}

// MarshalJSON gives one flat object: the fields above, then those of each
// phase the scenario has.
func (r *Result) MarshalJSON() ([]byte, error) {
	type header Result // without this method
	parts := []any{(*header)(r)}
	if r.Connect != nil {
		parts = append(parts, r.Connect)
	}
	if r.Idle != nil {
		parts = append(parts, r.Idle)
	}
	if r.Fanout != nil {
		parts = append(parts, r.Fanout)
	}
	if r.Push != nil {
		parts = append(parts, r.Push)
	}
	if r.Soak != nil {
		parts = append(parts, r.Soak)
	}
	out := []byte{'{'}
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if b = b[1 : len(b)-1]; len(b) == 0 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	return append(out, '}'), nil
}

// ConnectFigures are the readers' connect phase (idle and fanout).
type ConnectFigures struct {
	Readers        int     `json:"readers"`
	Connected      int     `json:"connected"`
	ConnectFailed  int     `json:"connect_failed"`
	ConnectError   string  `json:"connect_error,omitempty"`
	ConnectS       float64 `json:"connect_s"`    // from the first dial to the last welcome
	ConnectRate    float64 `json:"connect_rate"` // readers connected per second
	HandshakeP50Ms float64 `json:"handshake_p50_ms"`
	HandshakeP90Ms float64 `json:"handshake_p90_ms"`
	HandshakeP99Ms float64 `json:"handshake_p99_ms"`
	HandshakeMaxMs float64 `json:"handshake_max_ms"`
	// CPU per connected reader over the connect phase.
	ServerCPUUsPerConnect *float64 `json:"server_cpu_us_per_connect,omitempty"`
	ToolCPUUsPerConnect   *float64 `json:"tool_cpu_us_per_connect,omitempty"`
	// Readers whose connection ended before the tool closed it.
	Disconnected    int    `json:"disconnected"`
	DisconnectError string `json:"disconnect_error,omitempty"`
}

// IdleFigures are the idle scenario's memory and idle CPU.
type IdleFigures struct {
	// Server RSS before the readers connected and at the end of the hold.
	RSSBeforeKiB    *int64   `json:"rss_before_kib,omitempty"`
	RSSAfterKiB     *int64   `json:"rss_after_kib,omitempty"`
	RSSPerReaderKiB *float64 `json:"rss_per_reader_kib,omitempty"`
	// The tool's own RSS growth per reader.
	ToolRSSPerReaderKiB float64 `json:"tool_rss_per_reader_kib"`
	HoldS               float64 `json:"hold_s"`
	// CPU over the hold, in percent of one core.
	ServerCPUIdlePct *float64 `json:"server_cpu_idle_pct,omitempty"`
	ToolCPUIdlePct   *float64 `json:"tool_cpu_idle_pct,omitempty"`
}

// PostFigures are the items a run posted.
type PostFigures struct {
	Items      int     `json:"items"`
	Rate       float64 `json:"rate"` // asked, items per second
	Posted     int     `json:"posted"`
	PostFailed int     `json:"post_failed"`
	PostError  string  `json:"post_error,omitempty"`
	PostS      float64 `json:"post_s"` // from the first post sent to the last answered
	PostP50Ms  float64 `json:"post_p50_ms"`
	PostP99Ms  float64 `json:"post_p99_ms"`
}

// FanoutFigures are the fanout scenario's deliveries.
type FanoutFigures struct {
	PostFigures
	Expected      int `json:"expected"`  // connected readers × posted items
	Delivered     int `json:"delivered"` // posted items readers got, each counted once per reader
	Missing       int `json:"missing"`
	Duplicated    int `json:"duplicated"`     // items a reader got more than once (the repeats)
	OutOfOrder    int `json:"out_of_order"`   // frames whose seq was not above the reader's previous one
	ForeignFrames int `json:"foreign_frames"` // item frames not of this run
	// Latency from the post being sent to a reader receiving the item.
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP90Ms   float64 `json:"latency_p90_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LatencyMaxMs   float64 `json:"latency_max_ms"`
	DeliveriesPerS float64 `json:"deliveries_per_s"` // from the first post to the last delivery
	// CPU per delivery from the first post to the end of the drain.
	ServerCPUUsPerDelivery *float64 `json:"server_cpu_us_per_delivery,omitempty"`
	ToolCPUUsPerDelivery   *float64 `json:"tool_cpu_us_per_delivery,omitempty"`
}

// PushFigures are the push scenario's sends.
type PushFigures struct {
	Subs            int     `json:"subs"`            // asked, per platform
	Prefs           bool    `json:"prefs,omitempty"` // every subscription and device had prefs (Config.Prefs)
	Subscribed      int     `json:"subscribed"`      // subscriptions and devices, all platforms
	SubscribeFailed int     `json:"subscribe_failed"`
	SubscribeError  string  `json:"subscribe_error,omitempty"`
	SubscribeS      float64 `json:"subscribe_s"`
	SubscribeRate   float64 `json:"subscribe_rate"` // per second
	PostFigures
	Expected int `json:"expected"` // subscribed × posted
	Sent     int `json:"sent"`     // sends the sink and the stand-ins accepted
	Refused  int `json:"refused"`  // pushes the sink refused (bad headers, VAPID or encryption)
	// From the 201 of the last post (with one item: the alert's) until 90 %
	// and all of the expected sends were received; left out when not
	// reached.
	Send90Ms  *float64 `json:"send_90_ms,omitempty"`
	Send100Ms *float64 `json:"send_100_ms,omitempty"`
	// Platforms has each platform's sends.
	Platforms []PlatformFigures `json:"platforms"`
	// From the first post to the last push the sink accepted.
	PostToLastSendMs float64 `json:"post_to_last_send_ms"`
	SendsPerS        float64 `json:"sends_per_s"`
	// CPU per send from the first post to the last send. The tool's
	// includes its push sink.
	ServerCPUUsPerSend *float64 `json:"server_cpu_us_per_send,omitempty"`
	ToolCPUUsPerSend   *float64 `json:"tool_cpu_us_per_send,omitempty"`
	// The server's own counts, from GET /api/v1/push/stats.
	ServerSubscriptions *int `json:"server_subscriptions,omitempty"`
	ServerSent          *int `json:"server_sent,omitempty"`
	ServerFailed        *int `json:"server_failed,omitempty"`
	ServerRemoved       *int `json:"server_removed,omitempty"`
	ServerPending       *int `json:"server_pending,omitempty"`
	DecryptSample       int  `json:"decrypt_sample"`
	Unsubscribed        int  `json:"unsubscribed"` // subscriptions removed at the end (not with a spawned server)
}

// PlatformFigures are one platform's sends in the push scenario.
type PlatformFigures struct {
	Platform   string  `json:"platform"`
	Registered int     `json:"registered"` // subscriptions or devices
	Expected   int     `json:"expected"`
	Sent       int     `json:"sent"`        // received by the sink or stand-in
	SendsPerS  float64 `json:"sends_per_s"` // from the first post to its last send
	// Server CPU per send: given only when the run has this one platform
	// (the server's CPU cannot be split between platforms sending at once).
	ServerCPUUsPerSend *float64 `json:"server_cpu_us_per_send,omitempty"`
	Send90Ms           *float64 `json:"send_90_ms,omitempty"`
	Send100Ms          *float64 `json:"send_100_ms,omitempty"`
}

// SoakFigures are the soak scenario's figures. Lineages are the soak's
// readers: each keeps its place across its connections (see account).
type SoakFigures struct {
	DurationS float64 `json:"duration_s"` // asked
	SoakS     float64 `json:"soak_s"`     // posting and churning, from the first post
	DrainS    float64 `json:"drain_s"`    // from the end of the writes to the last delivery or push awaited

	// Readers.
	Readers        int     `json:"readers"`         // lineages asked
	Lineages       int     `json:"lineages"`        // lineages connected at the start
	LineagesFailed int     `json:"lineages_failed"` // lineages that gave up reconnecting
	LineageError   string  `json:"lineage_error,omitempty"`
	ChurnPerS      int     `json:"churn_per_s"`   // asked
	Churned        int64   `json:"churned"`       // connections the tool closed normally to reconnect
	ChurnSkipped   int64   `json:"churn_skipped"` // churn turns that found the lineage between connections
	Reconnects     int     `json:"reconnects"`    // welcomes after each lineage's first
	Recovered      int     `json:"recovered"`     // of those, recovered:true
	NotRecovered   int     `json:"not_recovered"` // of those, recovered:false (same epoch)
	EpochChanges   int     `json:"epoch_changes"` // welcomes with another epoch
	Drops          int64   `json:"drops"`         // connections ended by the server or the network (they reconnect too)
	DropError      string  `json:"drop_error,omitempty"`
	ReconnectP50Ms float64 `json:"reconnect_p50_ms"` // dial to welcome
	ReconnectP99Ms float64 `json:"reconnect_p99_ms"`
	OtherFrames    int     `json:"other_frames"` // frames neither welcome nor event

	// Writes.
	Rate          float64 `json:"rate"` // posts per second, asked
	Corrections   float64 `json:"corrections"`
	Retractions   float64 `json:"retractions"`
	PushShare     float64 `json:"push_share"`
	Posted        int     `json:"posted"`
	PostFailed    int     `json:"post_failed"`
	Corrected     int     `json:"corrected"`
	CorrectFailed int     `json:"correct_failed"`
	Retracted     int     `json:"retracted"`
	RetractFailed int     `json:"retract_failed"`
	WriteError    string  `json:"write_error,omitempty"`
	PostP50Ms     float64 `json:"post_p50_ms"`
	PostP99Ms     float64 `json:"post_p99_ms"`

	// Events at the lineages: every seq from a lineage's first welcome to
	// FinalSeq, each once.
	FinalSeq   uint64 `json:"final_seq"`
	Expected   int64  `json:"expected"`
	Delivered  int64  `json:"delivered"`
	Lost       int64  `json:"lost"`
	Duplicated int64  `json:"duplicated"`
	OutOfOrder int64  `json:"out_of_order"`
	Early      int64  `json:"early"`      // events at or below a lineage's first welcome seq
	WrongKind  int64  `json:"wrong_kind"` // the tool's events received as another frame type
	// The tool's own writes, counted at every lineage connected when they
	// were made: frames expected and received, by type.
	ItemFramesExpected     int64 `json:"item_frames_expected"`
	ItemFramesDelivered    int64 `json:"item_frames_delivered"`
	UpdateFramesExpected   int64 `json:"update_frames_expected"`
	UpdateFramesDelivered  int64 `json:"update_frames_delivered"`
	RetractFramesExpected  int64 `json:"retract_frames_expected"`
	RetractFramesDelivered int64 `json:"retract_frames_delivered"`

	// Web Push, per subscription and pushed item.
	Subs           int    `json:"subs"`
	Subscribed     int    `json:"subscribed"`
	SubscribeError string `json:"subscribe_error,omitempty"`
	PushedItems    int    `json:"pushed_items"`
	PushExpected   int    `json:"push_expected"` // final versions: pushed items × subscriptions
	PushReceived   int    `json:"push_received"`
	PushMissing    int    `json:"push_missing"`
	PushDuplicated int    `json:"push_duplicated"`
	PushSuperseded int    `json:"push_superseded"` // earlier versions not sent because a newer one existed (allowed)
	PushUnexpected int    `json:"push_unexpected"`
	PushForeign    int    `json:"push_foreign"` // pushes of items the tool did not push
	PushRefused    int    `json:"push_refused"` // pushes to this run's subscriptions the sink refused
	PushRefusal    string `json:"push_refusal,omitempty"`
	PushStrays     int    `json:"push_strays"` // pushes to subscriptions not of this run
	PushAccepted   int64  `json:"push_accepted"`
	Unsubscribed   int    `json:"unsubscribed"`

	// The server: at the start, once every reader had connected, at the
	// end (readers still connected) and once they had gone.
	ServerStart     *ServerSample `json:"server_start,omitempty"`
	ServerConnected *ServerSample `json:"server_connected,omitempty"`
	ServerEnd       *ServerSample `json:"server_end,omitempty"`
	ServerClosed    *ServerSample `json:"server_closed,omitempty"`
	// Per reader, measured from start to connected.
	GoroutinesPerReader float64 `json:"goroutines_per_reader"`
	FDsPerReader        float64 `json:"fds_per_reader"`
	// From start to end, and what the verdict allows.
	GoroutineGrowth    int64 `json:"goroutine_growth"`
	GoroutineAllowed   int64 `json:"goroutine_allowed"`
	GoroutineAllowance int   `json:"goroutine_allowance"`
	FDGrowth           int64 `json:"fd_growth"`
	FDAllowed          int64 `json:"fd_allowed"`
	FDAllowance        int   `json:"fd_allowance"`
	// CPU over the soak (posting and churning), in percent of one core.
	ServerCPUPct *float64 `json:"server_cpu_pct,omitempty"`
	ToolCPUPct   *float64 `json:"tool_cpu_pct,omitempty"`

	OK      bool     `json:"soak_ok"`
	Reasons []string `json:"soak_reasons"` // why not OK; empty when OK
}

// Clean reports whether the run saw no failure: every reader connected and
// stayed, every post and subscription went through, nothing missing or
// repeated, every push sent, and a soak's verdict (SoakFigures.OK).
func (r *Result) Clean() bool {
	if c := r.Connect; c != nil && (c.ConnectFailed > 0 || c.Disconnected > 0 || c.Connected < c.Readers) {
		return false
	}
	if f := r.Fanout; f != nil && (f.PostFailed > 0 || f.Missing > 0 || f.Duplicated > 0 || f.OutOfOrder > 0) {
		return false
	}
	if p := r.Push; p != nil && (p.SubscribeFailed > 0 || p.PostFailed > 0 || p.Sent != p.Expected || p.Refused > 0) {
		return false
	}
	if s := r.Soak; s != nil && !s.OK {
		return false
	}
	return true
}

// write prints the summary and the JSON line.
func (r *Result) write(w io.Writer) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	where := r.URL
	if r.Spawned {
		where += " (spawned in this process: server CPU and RSS include the tool)"
	} else if r.ServerPID != 0 {
		where += fmt.Sprintf(" (server pid %d)", r.ServerPID)
	} else {
		where += " (no --server-pid: server CPU and RSS not measured)"
	}
	p("bench %s against %s", r.Scenario, where)
	if c := r.Connect; c != nil {
		p("  readers: %d of %d connected in %.2fs (%.0f/s) from %s; %d failed%s",
			c.Connected, c.Readers, c.ConnectS, c.ConnectRate, srcText(r.SrcIPs), c.ConnectFailed, errText(c.ConnectError))
		p("  handshake (dial to welcome): p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms",
			c.HandshakeP50Ms, c.HandshakeP90Ms, c.HandshakeP99Ms, c.HandshakeMaxMs)
		p("  CPU per connect: server %s, tool %s", us(c.ServerCPUUsPerConnect), us(c.ToolCPUUsPerConnect))
		if c.Disconnected > 0 {
			p("  disconnected early: %d%s", c.Disconnected, errText(c.DisconnectError))
		}
	}
	if i := r.Idle; i != nil {
		p("  server RSS: %s before, %s after, %s per reader; tool RSS %.1f KiB per reader",
			kib(i.RSSBeforeKiB), kib(i.RSSAfterKiB), kibF(i.RSSPerReaderKiB), i.ToolRSSPerReaderKiB)
		p("  CPU while idle for %.1fs: server %s, tool %s of a core", i.HoldS, pct(i.ServerCPUIdlePct), pct(i.ToolCPUIdlePct))
	}
	if f := r.Fanout; f != nil {
		postLine(p, f.PostFigures)
		p("  delivered %d of %d: missing %d, duplicated %d, out of order %d, foreign %d",
			f.Delivered, f.Expected, f.Missing, f.Duplicated, f.OutOfOrder, f.ForeignFrames)
		p("  latency (post sent to frame read): p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms",
			f.LatencyP50Ms, f.LatencyP90Ms, f.LatencyP99Ms, f.LatencyMaxMs)
		p("  %.0f deliveries/s; CPU per delivery: server %s, tool %s",
			f.DeliveriesPerS, us(f.ServerCPUUsPerDelivery), us(f.ToolCPUUsPerDelivery))
	}
	if s := r.Push; s != nil {
		p("  subscriptions and devices: %d of %d registered in %.2fs (%.0f/s); %d failed%s",
			s.Subscribed, s.Subs*max(1, len(s.Platforms)), s.SubscribeS, s.SubscribeRate, s.SubscribeFailed, errText(s.SubscribeError))
		postLine(p, s.PostFigures)
		p("  sent %d of %d (sink refused %d); first post to last send %.0fms; %.0f sends/s",
			s.Sent, s.Expected, s.Refused, s.PostToLastSendMs, s.SendsPerS)
		p("  from the 201: 90%% of sends in %s, all in %s", msText(s.Send90Ms), msText(s.Send100Ms))
		for _, pl := range s.Platforms {
			p("    %-7s sent %d of %d (%d registered); %.0f sends/s; server CPU per send %s; from the 201: 90%% in %s, all in %s",
				pl.Platform, pl.Sent, pl.Expected, pl.Registered, pl.SendsPerS, us(pl.ServerCPUUsPerSend), msText(pl.Send90Ms), msText(pl.Send100Ms))
		}
		p("  CPU per send: server %s, tool %s (the tool's includes its push sink, which decrypts 1 push in %d, and the FCM and APNs stand-ins)",
			us(s.ServerCPUUsPerSend), us(s.ToolCPUUsPerSend), s.DecryptSample)
		if s.ServerSent != nil {
			p("  server push stats: sent %d, failed %d, removed %d, pending %d, subscriptions %d",
				*s.ServerSent, deref(s.ServerFailed), deref(s.ServerRemoved), deref(s.ServerPending), deref(s.ServerSubscriptions))
		}
	}
	if s := r.Soak; s != nil {
		s.summary(p)
	}
	srvCPU := "not measured"
	if r.ServerCPUS != nil {
		srvCPU = fmt.Sprintf("%.2fs", *r.ServerCPUS)
	}
	p("  whole run: %.2fs; CPU: server %s, tool %.2fs; RSS: server %s, tool %d KiB",
		r.WallS, srvCPU, r.ToolCPUS, kib(r.ServerRSSKiB), r.ToolRSSKiB)
	if r.Soak != nil {
		r.Soak.verdict(p)
	} else if !r.Clean() {
		p("  NOT CLEAN: see the failures above")
	}
	js, _ := json.Marshal(r)
	b.Write(js)
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}

func postLine(p func(string, ...any), f PostFigures) {
	p("  posted %d of %d items at %g/s in %.2fs (post p50 %.2fms, p99 %.2fms); %d failed%s",
		f.Posted, f.Items, f.Rate, f.PostS, f.PostP50Ms, f.PostP99Ms, f.PostFailed, errText(f.PostError))
}

func srcText(ips []string) string {
	if len(ips) == 0 {
		return "the default source address"
	}
	return strings.Join(ips, ",")
}

func errText(s string) string {
	if s == "" {
		return ""
	}
	return " (first: " + s + ")"
}

// orNA formats *v, or says n/a for a figure that was not measured.
func orNA[T any](format string, v *T) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

func us(v *float64) string { return orNA("%.1fµs", v) }
func msText(v *float64) string {
	return orNA("%.0fms", v)
}
func pct(v *float64) string  { return orNA("%.1f%%", v) }
func kib(v *int64) string    { return orNA("%d KiB", v) }
func kibF(v *float64) string { return orNA("%.1f KiB", v) }

func deref(v *int) int {
	if v == nil {
		return 0
	}
	return *v
}
