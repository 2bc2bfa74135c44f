package story

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/history"
	"newsflash/internal/httperr"
	"newsflash/internal/news"
	"newsflash/internal/stream"
)

// Statuses of a story.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Defaults of Options.
const (
	// DefaultMaxOpen bounds the open stories (too_many_stories).
	DefaultMaxOpen = 500
	// DefaultTimeout bounds one request to the bucket.
	DefaultTimeout = 5 * time.Second
)

// MaxItems is how many of its newest items GET /api/v1/stories/{slug}
// answers with.
const MaxItems = 50

// maxTries of a change that keeps meeting concurrent ones.
const maxTries = 5

// Story is a running coverage thread as the API answers it. Title maps a
// taxonomy language to the title in it; Regions and Topics are taxonomy
// slugs (possibly none). ClosedAt is null while the story is open.
type Story struct {
	Slug      string            `json:"slug"`
	Title     map[string]string `json:"title"`
	Regions   []string          `json:"regions"`
	Topics    []string          `json:"topics"`
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	ClosedAt  *time.Time        `json:"closed_at"`
}

// Open reports whether items may be posted into the story.
func (s Story) Open() bool { return s.Status == StatusOpen }

// Changes of a story, the Action of its record.
const (
	ActionCreate = "create"
	ActionEdit   = "edit"
	ActionClose  = "close"
)

// record is a story's value in the bucket: the story and the change that
// made this revision (who, from where), kept for the record.
type record struct {
	Story
	Action string `json:"action"`
	By     string `json:"by,omitempty"`
	Client string `json:"client,omitempty"`
}

func decode(data []byte) (Story, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return Story{}, fmt.Errorf("decode story: %w", err)
	}
	if !news.ValidStory(r.Slug) || (r.Status != StatusOpen && r.Status != StatusClosed) {
		return Story{}, errors.New("decode story: no slug or status")
	}
	return r.Story, nil
}

// Draft is a new story as an editor posts it.
type Draft struct {
	Slug    string            `json:"slug"`
	Title   map[string]string `json:"title"`
	Regions []string          `json:"regions"`
	Topics  []string          `json:"topics"`
}

// Patch is an editor's change of a story: nil fields stay as they are.
type Patch struct {
	Title   *map[string]string `json:"title"`
	Regions *[]string          `json:"regions"`
	Topics  *[]string          `json:"topics"`
}

// Change says who makes a change and from where (for the record).
type Change struct {
	By, Client string
}

// Deps are what a Store works with. JetStream, Taxonomy and Log are
// required.
type Deps struct {
	// JetStream reaches the bucket (stream.Stream.JetStream); the stream
	// package makes the bucket at setup.
	JetStream jetstream.JetStream
	// Layout names the bucket. The zero Layout is the default one.
	Layout stream.Layout
	// Taxonomy checks titles' languages, regions and topics.
	Taxonomy *news.Taxonomy
	// Log is the history a story's newest items are read from.
	Log *history.Log
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of created_at, updated_at and closed_at. Default
	// time.Now.
	Now func() time.Time
}

// Options tune a Store; a zero field means its default.
type Options struct {
	// MaxOpen bounds the open stories: creating one more is 409
	// too_many_stories. Default DefaultMaxOpen; negative: no bound.
	MaxOpen int
	// Timeout bounds one request to the bucket. Default DefaultTimeout.
	Timeout time.Duration
}

// Store keeps the stories: in the bucket, and in memory from a watch of it.
type Store struct {
	// Set at construction.
	deps Deps
	opts Options
	kv   jetstream.KeyValue
	log  *slog.Logger

	// Set by Start, stopped by Stop.
	watch jetstream.KeyWatcher
	done  chan struct{}

	mu      sync.RWMutex
	stories map[string]entry // guarded by mu
}

// entry is a story in memory and the bucket revision it is from.
type entry struct {
	story Story
	rev   uint64
}

var _ news.Stories = (*Store)(nil)

// New opens the stories' bucket; it starts nothing (Start does).
func New(ctx context.Context, deps Deps, opts Options) (*Store, error) {
	if deps.JetStream == nil || deps.Taxonomy == nil || deps.Log == nil {
		return nil, errors.New("story: JetStream, Taxonomy and Log are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if opts.MaxOpen == 0 {
		opts.MaxOpen = DefaultMaxOpen
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	kv, err := deps.JetStream.KeyValue(ctx, deps.Layout.StoriesBucket())
	if err != nil {
		return nil, fmt.Errorf("stories bucket: %w", err)
	}
	return &Store{deps: deps, opts: opts, kv: kv, log: deps.Logger, stories: map[string]entry{}}, nil
}

// Start loads every story and starts the goroutine that applies the
// bucket's later changes. Call it once; Stop undoes it.
func (s *Store) Start(ctx context.Context) error {
	w, err := stream.LoadWatch(ctx, s.kv, "stories", s.applyEntry)
	if err != nil {
		return err
	}
	s.watch, s.done = w, make(chan struct{})
	go s.run()
	return nil
}

// Stop ends the watch and its goroutine and waits for it. Call it once,
// after a successful Start.
func (s *Store) Stop() {
	_ = s.watch.Stop()
	<-s.done
}

func (s *Store) run() {
	defer close(s.done)
	for e := range s.watch.Updates() {
		if e != nil {
			s.applyEntry(e)
		}
	}
}

func (s *Store) applyEntry(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		s.mu.Lock()
		if cur, ok := s.stories[e.Key()]; ok && cur.rev < e.Revision() {
			delete(s.stories, e.Key())
		}
		s.mu.Unlock()
		return
	}
	st, err := decode(e.Value())
	if err != nil || st.Slug != e.Key() {
		s.log.Error("story: skipping an undecodable story", "key", e.Key(), "err", err)
		return
	}
	s.apply(st, e.Revision())
}

// apply keeps st unless memory holds a later revision (the watch may bring
// a change after this instance applied its own later one).
func (s *Store) apply(st Story, rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.stories[st.Slug]; ok && cur.rev >= rev {
		return
	}
	s.stories[st.Slug] = entry{story: st, rev: rev}
}

// Open reports whether slug names an open story.
func (s *Store) Open(slug string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.stories[slug]
	return ok && e.story.Open()
}

// Known reports whether slug names a story, open or closed.
func (s *Store) Known(slug string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.stories[slug]
	return ok
}

// Get returns a story as this instance knows it.
func (s *Store) Get(slug string) (Story, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.stories[slug]
	return e.story, ok
}

// List returns the stories with the status (StatusOpen, StatusClosed, or
// "" for all), newest first.
func (s *Store) List(status string) []Story {
	s.mu.RLock()
	out := make([]Story, 0, len(s.stories))
	for _, e := range s.stories {
		if status == "" || e.story.Status == status {
			out = append(out, e.story)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Story) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.Slug, b.Slug))
	})
	return out
}

// openCount is how many open stories this instance knows.
func (s *Store) openCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, e := range s.stories {
		if e.story.Open() {
			n++
		}
	}
	return n
}

// Errors of the store's changes, as the API answers them.
var (
	errNotFound = httperr.New(http.StatusNotFound, "not_found", "no such story")
	errExists   = func(slug string) error {
		return httperr.Field(http.StatusConflict, "story_exists", "slug", "a story "+slug+" exists already (open or closed); a slug is never reused")
	}
	errClosed = httperr.New(http.StatusConflict, "story_closed", "the story is closed; a closed story cannot be changed")
)

func (s *Store) now() time.Time { return s.deps.Now().UTC().Truncate(time.Millisecond) }

// Create validates a draft and stores the new story, open. A slug taken by
// any story, open or closed, on any instance, is 409 story_exists; more
// than Options.MaxOpen open stories 409 too_many_stories.
func (s *Store) Create(ctx context.Context, d Draft, ch Change) (Story, error) {
	st, err := s.validate(d)
	if err != nil {
		return Story{}, err
	}
	if s.Known(st.Slug) {
		return Story{}, errExists(st.Slug)
	}
	if s.opts.MaxOpen > 0 && s.openCount() >= s.opts.MaxOpen {
		return Story{}, httperr.Field(http.StatusConflict, "too_many_stories", "slug",
			fmt.Sprintf("there are %d open stories, the most allowed; close one first", s.opts.MaxOpen))
	}
	now := s.now()
	st.Status, st.CreatedAt, st.UpdatedAt = StatusOpen, now, now
	val, err := json.Marshal(record{Story: st, Action: ActionCreate, By: ch.By, Client: ch.Client})
	if err != nil {
		return Story{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	rev, err := s.kv.Create(ctx, st.Slug, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Story{}, errExists(st.Slug)
	}
	if err != nil {
		return Story{}, fmt.Errorf("%w: store story %s: %v", stream.ErrUnavailable, st.Slug, err)
	}
	s.apply(st, rev)
	s.log.Info("story created", "story", st.Slug, "editor", ch.By)
	return st, nil
}

func (s *Store) validate(d Draft) (Story, error) {
	if !news.ValidStory(d.Slug) {
		return Story{}, httperr.Field(http.StatusBadRequest, "invalid_slug", "slug",
			fmt.Sprintf("slug is required: 1-%d of a-z, 0-9 and single inner hyphens (war-on-gaza)", news.MaxStorySlug))
	}
	st := Story{Slug: d.Slug}
	var err error
	if st.Title, err = s.deps.Taxonomy.StoryTitle(d.Title); err != nil {
		return Story{}, err
	}
	if st.Regions, err = s.deps.Taxonomy.StoryRegions(d.Regions); err != nil {
		return Story{}, err
	}
	if st.Topics, err = s.deps.Taxonomy.StoryTopics(d.Topics); err != nil {
		return Story{}, err
	}
	return st, nil
}

// Update applies a patch to an open story (409 story_closed once it is
// closed) and returns the story as it is after it.
func (s *Store) Update(ctx context.Context, slug string, p Patch, ch Change) (Story, error) {
	if p.Title == nil && p.Regions == nil && p.Topics == nil {
		return Story{}, httperr.New(http.StatusBadRequest, "empty_patch", "a change needs at least one of title, regions, topics")
	}
	var next Story
	var err error
	edit := func(cur Story) (Story, bool, error) {
		if !cur.Open() {
			return Story{}, false, errClosed
		}
		next = cur
		if p.Title != nil {
			if next.Title, err = s.deps.Taxonomy.StoryTitle(*p.Title); err != nil {
				return Story{}, false, err
			}
		}
		if p.Regions != nil {
			if next.Regions, err = s.deps.Taxonomy.StoryRegions(*p.Regions); err != nil {
				return Story{}, false, err
			}
		}
		if p.Topics != nil {
			if next.Topics, err = s.deps.Taxonomy.StoryTopics(*p.Topics); err != nil {
				return Story{}, false, err
			}
		}
		changed := !maps.Equal(next.Title, cur.Title) || !slices.Equal(next.Regions, cur.Regions) || !slices.Equal(next.Topics, cur.Topics)
		return next, changed, nil
	}
	return s.change(ctx, slug, ActionEdit, ch, edit)
}

// Close closes a story: no item may be posted into it, and its follows
// end. Closing a closed story changes nothing.
func (s *Store) Close(ctx context.Context, slug string, ch Change) (Story, error) {
	return s.change(ctx, slug, ActionClose, ch, func(cur Story) (Story, bool, error) {
		if !cur.Open() {
			return cur, false, nil
		}
		cur.Status = StatusClosed
		return cur, true, nil
	})
}

// change reads the story from the bucket, edits it, and writes it back if
// it changed, compare-and-set on the revision read (again on a conflict).
func (s *Store) change(ctx context.Context, slug, action string, ch Change, edit func(Story) (Story, bool, error)) (Story, error) {
	if !news.ValidStory(slug) {
		return Story{}, errNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	for try := 0; try < maxTries; try++ {
		e, err := s.kv.Get(ctx, slug)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			return Story{}, errNotFound
		}
		if err != nil {
			return Story{}, fmt.Errorf("%w: read story %s: %v", stream.ErrUnavailable, slug, err)
		}
		cur, err := decode(e.Value())
		if err != nil {
			return Story{}, err
		}
		next, changed, err := edit(cur)
		if err != nil {
			return Story{}, err
		}
		if !changed {
			s.apply(cur, e.Revision())
			return cur, nil
		}
		now := s.now()
		next.UpdatedAt = now
		if action == ActionClose {
			next.ClosedAt = &now
		}
		val, err := json.Marshal(record{Story: next, Action: action, By: ch.By, Client: ch.Client})
		if err != nil {
			return Story{}, err
		}
		rev, err := s.kv.Update(ctx, slug, val, e.Revision())
		if err != nil {
			var jerr jetstream.JetStreamError
			if errors.As(err, &jerr) && jerr.APIError() != nil && jerr.APIError().ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
				continue
			}
			return Story{}, fmt.Errorf("%w: update story %s: %v", stream.ErrUnavailable, slug, err)
		}
		s.apply(next, rev)
		s.log.Info("story "+action, "story", slug, "editor", ch.By)
		return next, nil
	}
	return Story{}, stream.ErrConflict
}
