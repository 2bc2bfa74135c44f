package tail

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"newsflash/internal/news"
)

// Defaults of Options.
const (
	DefaultServer     = "http://localhost:8080"
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	// DefaultIdleTimeout is how long a connection may stay silent: the
	// server sends a heartbeat every 15 s by default.
	DefaultIdleTimeout = time.Minute
)

// resumeBackfill is the snapshot asked for when reconnecting: if the server
// cannot resume, the newest items changed since the cursor are printed from
// it (the most the server gives).
const resumeBackfill = 100

// maxLine bounds one line of the event stream.
const maxLine = 1 << 20

// Options configure Run. The zero value follows every item of
// http://localhost:8080 from now on.
type Options struct {
	// Server is the base URL of the server. Default DefaultServer.
	Server string
	// Regions, Topics and Langs are the reader's filter, comma-separated
	// slugs; empty means all.
	Regions, Topics, Langs string
	// Backfill is how many of the newest matching items to print first,
	// 0 to 100. Default 0: only what happens from now on.
	Backfill int
	// MinBackoff and MaxBackoff bound the wait before reconnecting, which
	// doubles after each failed attempt. Defaults DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// IdleTimeout ends a connection that sent nothing, not even a
	// heartbeat, for this long. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Client makes the requests; it must have no overall Timeout. Default:
	// a client with http.DefaultTransport.
	Client *http.Client
	// Status receives one line for each connection, drop and resume;
	// nil discards them.
	Status io.Writer
}

// Error is the server refusing the request for good (a 4xx answer): a bad
// filter, say. Run returns it rather than retrying.
type Error struct {
	Status  int
	Code    string // the error code of the JSON answer, if any
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("server answered %d", e.Status)
	}
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// follower is the state kept across connections.
type follower struct {
	opts   Options
	print  func(Event) error
	base   *url.URL
	cursor uint64 // seq after which everything has been printed
	epoch  string // epoch of the stream the cursor belongs to
	joined bool   // a welcome was received at least once
}

// Run follows the feed and hands every event to print, in stream order,
// each once, until ctx ends (it then returns nil), print fails, or the
// server refuses the request (an *Error).
func Run(ctx context.Context, opts Options, print func(Event) error) error {
	if opts.Server == "" {
		opts.Server = DefaultServer
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Status == nil {
		opts.Status = io.Discard
	}
	if opts.Backfill < 0 || opts.Backfill > 100 {
		return fmt.Errorf("backfill %d: want 0 to 100", opts.Backfill)
	}
	base, err := url.Parse(strings.TrimSuffix(opts.Server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" {
		return ErrServerURL
	}
	f := &follower{opts: opts, print: print, base: base}
	backoff := opts.MinBackoff
	for {
		welcomed, wait, err := f.connect(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var refused *Error
		if errors.As(err, &refused) || errors.Is(err, errPrint) {
			return err
		}
		if welcomed {
			backoff = opts.MinBackoff
		}
		// Full jitter around the back-off keeps many tails from returning
		// to a restarted server at the same instant.
		d := max(backoff/2+rand.N(backoff/2+1), wait)
		f.status("connection ended (%v); reconnecting in %v", err, d.Round(time.Millisecond))
		backoff = min(backoff*2, opts.MaxBackoff)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

var errPrint = errors.New("print")

// ErrServerURL is Options.Server not being an http or https base URL.
var ErrServerURL = errors.New("want an http or https URL such as " + DefaultServer)

func (f *follower) status(format string, args ...any) {
	fmt.Fprintf(f.opts.Status, "newsflash tail: %s\n", Clean(fmt.Sprintf(format, args...)))
}

// url is the reader URL: the filter, the backfill and, once known, the
// epoch (the cursor goes in Last-Event-ID).
func (f *follower) url() string {
	q := url.Values{}
	for k, v := range map[string]string{"regions": f.opts.Regions, "topics": f.opts.Topics, "langs": f.opts.Langs} {
		if v != "" {
			q.Set(k, v)
		}
	}
	backfill := f.opts.Backfill
	if f.joined {
		backfill = resumeBackfill
		q.Set("epoch", f.epoch)
	}
	q.Set("backfill", strconv.Itoa(backfill))
	u := *f.base
	u.Path += "/api/v1/sse"
	u.RawQuery = q.Encode()
	return u.String()
}

// connect reads one connection until it ends. welcomed says whether it got
// as far as a welcome; wait is what the server asked for (Retry-After).
func (f *follower) connect(ctx context.Context) (welcomed bool, wait time.Duration, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(f.opts.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url(), nil)
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if f.joined {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(f.cursor, 10))
	}
	res, err := f.opts.Client.Do(req)
	if err != nil {
		return false, 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false, retryAfter(res), answerError(res)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, 0, fmt.Errorf("not an event stream: Content-Type %q", ct)
	}
	c := &conn{f: f}
	err = readEvents(res.Body, func() { idle.Reset(f.opts.IdleTimeout) }, c.handle)
	if cause := context.Cause(ctx); errors.Is(cause, errIdle) {
		err = cause
	}
	return c.welcomed, 0, err
}

var errIdle = errors.New("nothing received, not even a heartbeat")

// retryAfter is a Retry-After in seconds, capped at a minute.
func retryAfter(res *http.Response) time.Duration {
	n, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 60)) * time.Second
}

// answerError is the error of a non-200 answer: an *Error, final, for a
// 4xx other than 408 and 429; a plain error, retried, for the rest.
func answerError(res *http.Response) error {
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&body)
	e := &Error{Status: res.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
	if res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusRequestTimeout && res.StatusCode != http.StatusTooManyRequests {
		return e
	}
	return errors.New(e.Error())
}

// conn is the state of one connection.
type conn struct {
	f        *follower
	welcomed bool
	// A welcome that did not resume is followed by a snapshot; the cursor
	// and epoch move to the welcome's only once all of it was handled, so
	// that a drop in the middle of it skips nothing.
	snapshot int    // snapshot events still to come
	head     uint64 // the welcome's seq, where the snapshot stands
	epoch    string // the welcome's epoch
	all      bool   // print the whole snapshot (first connection, or a new epoch), not only what changed after the cursor
}

type welcome struct {
	Seq       uint64 `json:"seq"`
	Epoch     string `json:"epoch"`
	Recovered bool   `json:"recovered"`
	Backfill  int    `json:"backfill"`
}

// handle takes one SSE event.
func (c *conn) handle(name, id, data string) error {
	f := c.f
	if !c.welcomed {
		if name != "welcome" {
			return fmt.Errorf("the stream began with %q, not a welcome", name)
		}
		var w welcome
		if err := json.Unmarshal([]byte(data), &w); err != nil {
			return fmt.Errorf("welcome: %v", err)
		}
		c.welcomed, c.head, c.epoch = true, w.Seq, w.Epoch
		switch {
		case !f.joined:
			c.all = true
			f.status("following %s from seq %d", f.base.Redacted(), w.Seq)
		case w.Recovered:
			f.status("resumed after seq %d", f.cursor)
		case w.Epoch != f.epoch:
			c.all = true
			f.status("the server's stream was recreated (epoch %s, was %s): showing its newest items", w.Epoch, f.epoch)
		default:
			f.status("the server could not resume after seq %d: showing the newest items changed since, of up to %d", f.cursor, resumeBackfill)
		}
		if w.Recovered {
			f.joined = true
			return nil
		}
		c.snapshot = w.Backfill
		c.endSnapshot()
		return nil
	}
	var typ string
	switch name {
	case news.EventItem, news.EventUpdate, news.EventRetract:
		typ = name
	default:
		return nil // an event type of a later protocol: not ours to show
	}
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return fmt.Errorf("%s event with id %q", name, id)
	}
	ev := Event{Type: typ, Seq: seq, Snapshot: c.snapshot > 0, Raw: []byte(data)}
	if !ev.Snapshot && seq <= f.cursor {
		return nil // printed already
	}
	if err := json.Unmarshal(ev.Raw, &ev.Item); err != nil {
		f.status("event %d: unreadable item: %v", seq, err)
	} else if !ev.Snapshot || c.all || ev.Item.Seq > f.cursor {
		if err := f.print(ev); err != nil {
			return fmt.Errorf("%w: %w", errPrint, err)
		}
	}
	if ev.Snapshot {
		c.snapshot--
		c.endSnapshot()
	} else {
		f.cursor = seq
	}
	return nil
}

// endSnapshot moves the cursor to where the snapshot stands once it has
// all been handled.
func (c *conn) endSnapshot() {
	if c.snapshot == 0 {
		c.f.cursor, c.f.epoch, c.f.joined = c.head, c.epoch, true
	}
}

// readEvents parses a text/event-stream, calling line for every line read
// and handle for every event dispatched (name, last event id, data).
func readEvents(r io.Reader, line func(), handle func(name, id, data string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var (
		name, id string
		data     strings.Builder
		hasData  bool
	)
	for sc.Scan() {
		line()
		l := sc.Text()
		if l == "" {
			if hasData {
				n := name
				if n == "" {
					n = "message"
				}
				if err := handle(n, id, data.String()); err != nil {
					return err
				}
			}
			name, hasData = "", false
			data.Reset()
			continue
		}
		if l[0] == ':' {
			continue // a comment: the heartbeat
		}
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				id = value
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errEnded
}

var errEnded = errors.New("the server ended the stream")
