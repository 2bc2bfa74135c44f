package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"newsflash/internal/news"
)

// Scenarios.
const (
	ScenarioIdle   = "idle"
	ScenarioFanout = "fanout"
	ScenarioPush   = "push"
	ScenarioSoak   = "soak"
)

// ErrUsage is wrapped by the errors of a Config that cannot run.
var ErrUsage = errors.New("bad bench configuration")

// DefaultSrcIPs are the loopback source addresses readers spread over.
var DefaultSrcIPs = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// Config of a run. The zero value of every field means its default.
type Config struct {
	// URL of the server, http://host:port; its host must be or resolve
	// only to loopback addresses. Default http://127.0.0.1:8080.
	URL string
	// Token is an editor token, needed to post items (fanout, push) and to
	// read push stats.
	Token string
	// ServerPID is the server's process, whose RSS and CPU are read from
	// /proc; 0: not known, and those figures are left out. When it is this
	// process (newsflash-bench --spawn) the figures are the whole
	// process's, the tool's share included, and Result.Spawned says so.
	ServerPID int
	// Scenario: idle, fanout, push or soak. Default fanout.
	Scenario string
	// Readers is how many WebSocket readers idle and fanout open. Default
	// 1000.
	Readers int
	// Items is how many items fanout and push post. Default 100 for
	// fanout, 1 for push (so that sent = Subs).
	Items int
	// Rate is items posted per second. Default 5.
	Rate float64
	// Subs is how many push subscriptions push registers, and as many
	// devices of each app platform. Default 1000.
	Subs int
	// Platforms push registers subscriptions or devices of: web (Web Push
	// to the local push sink), android and ios (devices on the FCM and
	// APNs stand-ins). Default web.
	Platforms []string
	// Prefs: push gives every subscription and device alert preferences
	// that hold back none of the run's alerts (min_priority breaking, quiet
	// hours hours away from now in Asia/Beirut, max_per_hour 60) and posts
	// its alerts urgent instead of flash, so that quiet hours and the cap
	// are decided for every send. At most 60 items (the cap).
	Prefs bool
	// StandIns are the FCM and APNs stand-ins the server was started
	// with (see StartStandIns); the caller closes them. Default: push
	// starts its own for android and ios and prints how to start a server
	// with them.
	StandIns *StandIns
	// Disposable: the server's data is thrown away after the run (a
	// spawned server), so push leaves its subscriptions and devices there
	// rather than removing them one by one.
	Disposable bool
	// SrcIPs are loopback source addresses that readers (and subscription
	// requests) are spread over, round-robin. Default DefaultSrcIPs for an
	// IPv4 server; for ::1, none (the kernel picks).
	SrcIPs []string
	// Filter is the readers' query (regions, topics, langs), such as
	// "regions=mena&langs=ar"; push subscriptions get the same filter and
	// posted items are made to match it. Default: everything.
	Filter string
	// ConnectRate is reader connects started per second. Default 1000.
	ConnectRate float64
	// Duration is how long idle holds its readers once connected (CPU while
	// idle is measured over it), and how long soak posts and churns.
	// Default 2 s for idle, 1 min for soak.
	Duration time.Duration
	// Churn is how many of soak's readers are replaced per second: each
	// closes normally and reconnects at once with since and epoch. Default
	// 5 % of Readers, at least 1; negative: none.
	Churn int
	// Corrections is the share of soak's posts corrected (PATCH, to
	// priority urgent) a second after the post; Retractions the share
	// retracted (DELETE) two seconds after it; PushShare the share posted in
	// the push subscriptions' filter, and so pushed. Each 0 to 1. Defaults
	// 0.2, 0.05 and 0.2; negative: none.
	Corrections, Retractions, PushShare float64
	// Drain: after posting, wait for deliveries (fanout) or sends (push)
	// until all have come or none came for this long. Default 10 s.
	Drain time.Duration
	// SinkListener is where push's local push service listens; the server
	// must allow its address with --push-insecure-test-endpoints. Default:
	// a listener on SinkAddr.
	SinkListener net.Listener
	// SinkAddr is the loopback host:port push's sink listens on when
	// SinkListener is nil. Default 127.0.0.1:0 (a free port).
	SinkAddr string
	// DecryptSample: the sink decrypts and verifies 1 push in this many,
	// over all subscriptions (the first always). Default 1000.
	DecryptSample int
	// Out gets the human summary and then one JSON line. Default io.Discard.
	Out io.Writer
	// Log gets progress lines. Default io.Discard.
	Log io.Writer
}

// Limits on the sizes of a run.
const (
	maxReaders = 1_000_000
	maxItems   = 1_000_000
	maxSubs    = 1_000_000
	maxRate    = 10_000
	maxChurn   = 10_000
	// maxDuration bounds a soak (and idle's hold).
	maxDuration = 7 * 24 * time.Hour
)

// withDefaults fills in defaults and checks the sizes.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = "http://127.0.0.1:8080"
	}
	if c.Scenario == "" {
		c.Scenario = ScenarioFanout
	}
	switch c.Scenario {
	case ScenarioIdle, ScenarioFanout, ScenarioPush, ScenarioSoak:
	default:
		return c, fmt.Errorf("%w: unknown scenario %q: want idle, fanout, push or soak", ErrUsage, c.Scenario)
	}
	if c.Readers == 0 {
		c.Readers = 1000
	}
	if c.Items == 0 {
		c.Items = 100
		if c.Scenario == ScenarioPush {
			c.Items = 1
		}
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Subs == 0 {
		c.Subs = 1000
	}
	if c.ConnectRate == 0 {
		c.ConnectRate = 1000
	}
	if c.Duration == 0 {
		c.Duration = 2 * time.Second
		if c.Scenario == ScenarioSoak {
			c.Duration = time.Minute
		}
	}
	switch {
	case c.Churn == 0:
		c.Churn = min(max(1, c.Readers/20), maxChurn)
	case c.Churn < 0:
		c.Churn = 0
	}
	for _, v := range []struct {
		p   *float64
		def float64
	}{{&c.Corrections, 0.2}, {&c.Retractions, 0.05}, {&c.PushShare, 0.2}} {
		switch {
		case *v.p == 0:
			*v.p = v.def
		case *v.p < 0:
			*v.p = 0
		}
	}
	if c.Drain == 0 {
		c.Drain = 10 * time.Second
	}
	if c.SinkAddr == "" {
		c.SinkAddr = "127.0.0.1:0"
	}
	if c.DecryptSample == 0 {
		c.DecryptSample = 1000
	}
	var err error
	if c.Platforms, err = ParsePlatforms(c.Platforms); err != nil {
		return c, err
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	switch {
	case c.Readers < 1 || c.Readers > maxReaders:
		return c, fmt.Errorf("%w: --readers %d: want 1 to %d", ErrUsage, c.Readers, maxReaders)
	case c.Items < 1 || c.Items > maxItems:
		return c, fmt.Errorf("%w: --items %d: want 1 to %d", ErrUsage, c.Items, maxItems)
	case c.Prefs && c.Items > benchMaxPerHour:
		return c, fmt.Errorf("%w: --prefs with --items %d: at most %d (the prefs' max_per_hour would hold back the rest)", ErrUsage, c.Items, benchMaxPerHour)
	case c.Subs < 1 || c.Subs > maxSubs:
		return c, fmt.Errorf("%w: --subs %d: want 1 to %d", ErrUsage, c.Subs, maxSubs)
	case !(c.Rate > 0 && c.Rate <= maxRate):
		return c, fmt.Errorf("%w: --rate %g: want more than 0, at most %d items per second", ErrUsage, c.Rate, maxRate)
	case !(c.ConnectRate > 0 && c.ConnectRate <= 100_000):
		return c, fmt.Errorf("%w: --connect-rate %g: want more than 0, at most 100000 per second", ErrUsage, c.ConnectRate)
	case c.Duration < 0 || c.Duration > maxDuration:
		return c, fmt.Errorf("%w: --duration %s: must be positive, at most %s", ErrUsage, c.Duration, maxDuration)
	case c.Churn > c.Readers || c.Churn > maxChurn:
		return c, fmt.Errorf("%w: --churn %d: at most --readers (%d) and %d per second", ErrUsage, c.Churn, c.Readers, maxChurn)
	case c.Corrections > 1 || c.Retractions > 1 || c.PushShare > 1:
		return c, fmt.Errorf("%w: --corrections %g, --retractions %g, --push-share %g: each is a share of the posts, 0 to 1", ErrUsage, c.Corrections, c.Retractions, c.PushShare)
	case c.Drain < 0:
		return c, fmt.Errorf("%w: --drain %s: must be positive", ErrUsage, c.Drain)
	case c.DecryptSample < 1:
		return c, fmt.Errorf("%w: decrypt sample %d: must be at least 1", ErrUsage, c.DecryptSample)
	case c.ServerPID < 0:
		return c, fmt.Errorf("%w: --server-pid %d", ErrUsage, c.ServerPID)
	}
	if c.Scenario == ScenarioSoak && c.Filter != "" {
		return c, fmt.Errorf("%w: --filter: soak's readers take no filter, so that every one of them must get every event", ErrUsage)
	}
	if (c.Scenario == ScenarioPush || c.Scenario == ScenarioSoak) && c.SinkListener == nil {
		if ap, err := netip.ParseAddrPort(c.SinkAddr); err != nil || !isLoopback(ap.Addr()) {
			return c, fmt.Errorf("%w: --sink-addr %q: want a loopback ip:port such as 127.0.0.1:18700", ErrUsage, c.SinkAddr)
		}
	}
	return c, nil
}

// filter is Config.Filter parsed.
type filter struct {
	query                  string // as readers send it, backfill=0 first
	regions, topics, langs []string
}

// parseFilter reads a reader query: only regions, topics and langs, each a
// comma-separated list of slugs (which the server checks).
func parseFilter(s string) (filter, error) {
	s = strings.TrimPrefix(s, "?")
	q, err := url.ParseQuery(s)
	if err != nil {
		return filter{}, fmt.Errorf("%w: --filter %q: %v", ErrUsage, s, err)
	}
	var f filter
	for k, vs := range q {
		var dst *[]string
		switch k {
		case "regions":
			dst = &f.regions
		case "topics":
			dst = &f.topics
		case "langs":
			dst = &f.langs
		default:
			return filter{}, fmt.Errorf("%w: --filter %q: only regions, topics and langs may be given, not %q", ErrUsage, s, k)
		}
		for _, v := range vs {
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					*dst = append(*dst, p)
				}
			}
		}
	}
	f.query = "backfill=0"
	if s != "" {
		f.query += "&" + s
	}
	return f, nil
}

// draft is an item every reader of the filter gets: its first language
// (else en), region (else mena) and topic (else none).
func (f filter) draft() news.Draft {
	d := news.Draft{Lang: "en", Regions: []string{"mena"}, Priority: news.PriorityFlash, Source: "newsflash bench"}
	if len(f.langs) > 0 {
		d.Lang = f.langs[0]
	}
	if len(f.regions) > 0 {
		d.Regions = f.regions[:1]
	}
	if len(f.topics) > 0 {
		d.Topics = f.topics[:1]
	}
	return d
}
