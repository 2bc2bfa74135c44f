package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Page sizes of a query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Defaults of Options.
const (
	DefaultMaxScan = 5000
	DefaultTimeout = 5 * time.Second
)

// Deps are what a Trail reads with. JetStream is required.
type Deps struct {
	// JetStream is the handle to read with.
	JetStream jetstream.JetStream
	// Layout names the audit stream and the item subjects
	// (stream.Stream.Layout). The zero Layout is the default one.
	Layout stream.Layout
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Options tune the reads. A zero field means its default.
type Options struct {
	// MaxScan bounds the events one query reads, matching or not (the
	// editor and since filters are applied to what is read). Default
	// DefaultMaxScan (5,000).
	MaxScan int
	// Timeout bounds one query. Default DefaultTimeout (5 s).
	Timeout time.Duration
}

// Trail reads the audit stream.
type Trail struct {
	js     jetstream.JetStream
	layout stream.Layout
	opts   Options
	log    *slog.Logger
}

// New checks deps and defaults opts; it starts nothing.
func New(deps Deps, opts Options) (*Trail, error) {
	if deps.JetStream == nil {
		return nil, errors.New("audit: JetStream is required")
	}
	if opts.MaxScan <= 0 {
		opts.MaxScan = DefaultMaxScan
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Trail{js: deps.JetStream, layout: deps.Layout, opts: opts, log: log}, nil
}

// Query selects records. The zero value asks for the oldest DefaultLimit
// records of every item and editor.
type Query struct {
	// Item keeps one item's records. Default: all items.
	Item string
	// Editor keeps the records of changes by this editor. Default: all.
	Editor string
	// Since keeps records whose time is at or after it. Default: no bound.
	Since time.Time
	// Cursor starts the read at this position, from Page.NextCursor.
	// Default: the oldest record (at or after Since).
	Cursor uint64
	// Limit is the page size, 1 to MaxLimit. Default DefaultLimit.
	Limit int
}

// Actions of records.
const (
	ActionPost    = "post"
	ActionCorrect = "correct"
	ActionRetract = "retract"
	// Editor account changes (the editors API).
	ActionEditorCreate = "editor_create"
	ActionEditorRole   = "editor_role"
	ActionEditorRotate = "editor_rotate"
	ActionEditorRevoke = "editor_revoke"
	// Scheduled items: scheduling, edits and cancelling by editors; a
	// missed item and the record of a publication by the scheduler (the
	// publication itself is also the item's post record).
	ActionSchedule          = "schedule"
	ActionScheduleEdit      = "schedule_edit"
	ActionScheduleCancel    = "schedule_cancel"
	ActionScheduleMissed    = "schedule_missed"
	ActionSchedulePublished = "schedule_published"
	// Stories (internal/story): made, changed, closed.
	ActionStoryCreate = "story_create"
	ActionStoryEdit   = "story_edit"
	ActionStoryClose  = "story_close"
)

// storyActions map the story store's record actions (internal/story).
var storyActions = map[string]string{"create": ActionStoryCreate, "edit": ActionStoryEdit, "close": ActionStoryClose}

var scheduleActions = map[string]string{stream.ScheduleCreate: ActionSchedule, stream.ScheduleEdit: ActionScheduleEdit,
	stream.ScheduleCancel: ActionScheduleCancel, stream.ScheduleMiss: ActionScheduleMissed, stream.SchedulePublish: ActionSchedulePublished}

// errSkip marks a copy that is no record: a scheduler's claim of a due
// item (its outcome, published or missed, is).
var errSkip = errors.New("not an audit record")

var accountActions = map[string]string{stream.AccountCreate: ActionEditorCreate, stream.AccountRole: ActionEditorRole,
	stream.AccountRotate: ActionEditorRotate, stream.AccountRevoke: ActionEditorRevoke}

var actions = map[string]string{news.EventItem: ActionPost, news.EventUpdate: ActionCorrect, news.EventRetract: ActionRetract}

// Record is one post, correction or retraction, or one change of an
// editor account. Seq is the news stream's seq of the event (the after
// item's seq); Time is when the change was made; Editor is who made it.
// Client is the address the request came from, and Before the item as it
// was (nil for a post); both are empty for events stored before Newsflash
// kept them. An account change (action editor_*) has no Seq, Item or After
// but Account: the account's name and role after the change, never its
// token or hash.
type Record struct {
	Seq     uint64         `json:"seq,omitzero"`
	Action  string         `json:"action"`
	Item    string         `json:"item,omitzero"`
	Editor  string         `json:"editor"`
	Time    time.Time      `json:"time"`
	Client  string         `json:"client,omitempty"`
	Before  *news.Item     `json:"before,omitempty"`
	After   news.Item      `json:"after,omitzero"`
	Account *AccountChange `json:"account,omitempty"`
	Story   *StoryChange   `json:"story,omitempty"`
	// Confirmed says the post or correction sent its alert with confirm,
	// over the flood guard's refusal.
	Confirmed bool `json:"confirmed,omitempty"`
}

// StoryChange is the story a story_* record changed, as it is after the
// change.
type StoryChange struct {
	Slug    string            `json:"slug"`
	Title   map[string]string `json:"title"`
	Regions []string          `json:"regions"`
	Topics  []string          `json:"topics"`
	Status  string            `json:"status"`
}

// storyRecord is what audit reads of a story's value in the stories
// bucket (internal/story writes it: the story and the change).
type storyRecord struct {
	StoryChange
	UpdatedAt time.Time `json:"updated_at"`
	Action    string    `json:"action"`
	By        string    `json:"by"`
	Client    string    `json:"client"`
}

// AccountChange is the account an editor_* record changed.
type AccountChange struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// Page is one answer. NextCursor is where the read stopped: pass it as the
// next query's Cursor (with the same filters) to go on, now or later. More
// says that the read stopped before the end of what matches, at the page
// size or the scan bound, so the next page may hold records now.
type Page struct {
	Records    []Record `json:"records"`
	NextCursor uint64   `json:"next_cursor"`
	More       bool     `json:"more"`
}

// ErrUnavailable: the audit stream did not answer.
var ErrUnavailable = errors.New("audit stream unavailable")

// clockSkew is how much earlier than Since the read starts. The audit
// stream stamps a copy when it stores it, after the editor API stamped the
// change, but on another machine's clock; Since is checked against the
// change's own time.
const clockSkew = time.Minute

// Read answers a query, reading at most MaxScan events.
func (t *Trail) Read(ctx context.Context, q Query) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	ctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()

	occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: 2 * t.opts.Timeout}
	if q.Item != "" {
		occ.FilterSubjects = []string{t.layout.ItemSubject(q.Item), t.layout.ScheduledSubject(q.Item)}
	}
	switch {
	case q.Cursor > 0:
		occ.DeliverPolicy, occ.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.Cursor
	case !q.Since.IsZero():
		start := q.Since.Add(-clockSkew)
		occ.DeliverPolicy, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := t.js.OrderedConsumer(ctx, t.layout.AuditStream(), occ)
	if err != nil {
		return Page{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer t.drop(cons)
	info := cons.CachedInfo()
	page := Page{Records: []Record{}, NextCursor: max(info.Delivered.Stream+1, q.Cursor)}
	// What matched when the consumer was made bounds the read: what comes
	// later is for the next page.
	budget := min(uint64(t.opts.MaxScan), info.NumPending)
	if q.Editor == "" && q.Since.IsZero() {
		budget = min(budget, uint64(q.Limit))
	}
	if budget == 0 {
		return page, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(int(min(budget, 256))), jetstream.StopAfter(int(budget)))
	if err != nil {
		return Page{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer it.Stop()
	for read := uint64(0); read < budget && len(page.Records) < q.Limit; read++ {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if read > 0 && errors.Is(err, context.DeadlineExceeded) {
				// Out of time: what was read is an answer.
				page.More = true
				return page, nil
			}
			return Page{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return Page{}, fmt.Errorf("%w: message without metadata: %v", ErrUnavailable, err)
		}
		page.NextCursor, page.More = meta.Sequence.Stream+1, meta.NumPending > 0
		rec, err := t.record(msg)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			t.log.Error("audit: skipping undecodable event", "audit_seq", meta.Sequence.Stream, "err", err)
			continue
		}
		if q.Editor != "" && rec.Editor != q.Editor || rec.Time.Before(q.Since) {
			continue
		}
		page.Records = append(page.Records, rec)
	}
	return page, nil
}

// drop deletes the query's consumer rather than leave it to expire.
func (t *Trail) drop(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.Timeout)
	defer cancel()
	if err := t.js.DeleteConsumer(ctx, t.layout.AuditStream(), info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.log.Debug("audit: delete consumer", "consumer", info.Name, "err", err)
	}
}

// sourceHeader is set by JetStream on a sourced copy:
// "<stream> <seq> <filter> <transform> <subject> [<ident>]".
const sourceHeader = "Nats-Stream-Source"

// record decodes one copied event or account change.
func (t *Trail) record(msg jetstream.Msg) (Record, error) {
	if _, ok := t.layout.EditorFromSubject(msg.Subject()); ok {
		acc, err := stream.DecodeAccount(msg.Data())
		if err != nil {
			return Record{}, err
		}
		return Record{Action: accountActions[acc.Action], Editor: acc.By, Time: acc.At, Client: acc.Client,
			Account: &AccountChange{Name: acc.Name, Role: acc.Role}}, nil
	}
	if _, ok := t.layout.StoryFromSubject(msg.Subject()); ok {
		var r storyRecord
		if err := json.Unmarshal(msg.Data(), &r); err != nil {
			return Record{}, fmt.Errorf("decode story: %w", err)
		}
		action, ok := storyActions[r.Action]
		if !ok || r.Slug == "" {
			return Record{}, fmt.Errorf("decode story: action %q, slug %q", r.Action, r.Slug)
		}
		return Record{Action: action, Editor: r.By, Time: r.UpdatedAt, Client: r.Client, Story: &r.StoryChange}, nil
	}
	if _, ok := t.layout.ScheduledIDFromSubject(msg.Subject()); ok {
		r, err := stream.DecodeScheduled(msg.Data())
		if err != nil {
			return Record{}, err
		}
		action, ok := scheduleActions[r.Action]
		if !ok {
			return Record{}, errSkip
		}
		editor := r.By
		if editor == "" {
			editor = r.Item.Editor // the scheduler acts for the editor who scheduled it
		}
		return Record{Seq: r.Seq, Action: action, Item: r.Item.ID, Editor: editor, Time: r.At, Client: r.Client,
			Before: r.Before, After: r.Item, Confirmed: r.Confirmed}, nil
	}
	seq, err := sourceSeq(msg.Headers().Get(sourceHeader))
	if err != nil {
		return Record{}, err
	}
	ev, err := stream.DecodeEvent(msg.Data(), seq)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Seq: seq, Action: actions[ev.Type], Item: ev.Item.ID, Editor: ev.Item.UpdatedBy, Time: ev.Item.UpdatedAt,
		Client: ev.Client, Before: ev.Before, After: ev.Item, Confirmed: ev.Confirmed}
	if ev.Type == news.EventItem {
		rec.Editor = ev.Item.Editor
	}
	return rec, nil
}

// sourceSeq reads the news stream's seq from a copy's source header.
func sourceSeq(h string) (uint64, error) {
	f := strings.Fields(h)
	if len(f) < 2 {
		return 0, fmt.Errorf("source header %q", h)
	}
	seq, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("source header %q", h)
	}
	return seq, nil
}
