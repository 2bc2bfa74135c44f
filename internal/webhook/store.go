package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// ErrNotFound: no endpoint has this id.
var ErrNotFound = httperr.New(http.StatusNotFound, "not_found", "no such webhook")

func unavailable(err error) error {
	return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
		Message: "the webhook store did not answer; try again", Cause: err, RetryAfter: "2"}
}

// Create stores a new endpoint and returns it with its one secret, which
// is shown to the caller once. Bad input is a 400 *httperr.Error naming
// the field; nothing is stored then.
func (s *Service) Create(ctx context.Context, in Input, by string) (Endpoint, string, error) {
	in, err := s.check(in)
	if err != nil {
		return Endpoint{}, "", err
	}
	ep := Endpoint{ID: news.NewID(), URL: in.URL, Filter: in.Filter, Events: in.Events, AlertsOnly: in.AlertsOnly,
		CreatedAt: s.cfg.Now().UTC(), CreatedBy: by}
	key := ep.rotate(ep.CreatedAt)
	data, err := json.Marshal(ep)
	if err != nil {
		return Endpoint{}, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if _, err := s.hooks.Create(ctx, ep.ID, data); err != nil {
		return Endpoint{}, "", unavailable(err)
	}
	s.apply(localEntry{key: ep.ID, value: data})
	return ep, key, nil
}

// Get is one endpoint as the bucket holds it now.
func (s *Service) Get(ctx context.Context, id string) (Endpoint, uint64, error) {
	if !news.ValidID(id) {
		return Endpoint{}, 0, ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	e, err := s.hooks.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Endpoint{}, 0, ErrNotFound
	}
	if err != nil {
		return Endpoint{}, 0, unavailable(err)
	}
	var ep Endpoint
	if err := json.Unmarshal(e.Value(), &ep); err != nil {
		return Endpoint{}, 0, fmt.Errorf("decode webhook %s: %w", id, err)
	}
	return ep, e.Revision(), nil
}

// change applies fn to the stored endpoint, again on a concurrent change.
func (s *Service) change(ctx context.Context, id string, fn func(*Endpoint)) (Endpoint, error) {
	for {
		ep, rev, err := s.Get(ctx, id)
		if err != nil {
			return Endpoint{}, err
		}
		fn(&ep)
		data, err := json.Marshal(ep)
		if err != nil {
			return Endpoint{}, err
		}
		uctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		_, err = s.hooks.Update(uctx, id, data, rev)
		cancel()
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // changed meanwhile
		}
		if err != nil {
			return Endpoint{}, unavailable(err)
		}
		s.apply(localEntry{key: id, value: data})
		return ep, nil
	}
}

// Rotate gives the endpoint a new secret; the one it replaces signs
// beside it for RotationGrace.
func (s *Service) Rotate(ctx context.Context, id string) (string, error) {
	var key string
	_, err := s.change(ctx, id, func(ep *Endpoint) { key = ep.rotate(s.cfg.Now().UTC()) })
	return key, err
}

// disable stops deliveries to the endpoint (it answered 410 Gone).
func (s *Service) disable(ctx context.Context, id string) error {
	_, err := s.change(ctx, id, func(ep *Endpoint) {
		if ep.DisabledAt == nil {
			now := s.cfg.Now().UTC()
			ep.DisabledAt = &now
		}
	})
	return err
}

// Delete removes the endpoint and its counts; its queued jobs are dropped
// when a worker takes them.
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, _, err := s.Get(ctx, id); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.hooks.Purge(ctx, id); err != nil {
		return unavailable(err)
	}
	s.apply(localEntry{key: id, deleted: true})
	if err := s.stats.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		s.log.Warn("webhook: counts of a deleted endpoint kept", "id", id, "err", err)
	}
	return nil
}

// Stats are an endpoint's delivery counts: Planned deliveries (one per
// event and endpoint), Delivered ones (2xx), Failed attempts (any other
// answer, a timeout or a refused connection; one delivery may fail many
// times), Dropped deliveries (given up after RetryFor, or the endpoint was
// disabled). Pending is Planned less Delivered and Dropped.
type Stats struct {
	Planned   uint64 `json:"planned"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
	Dropped   uint64 `json:"dropped"`
	Last      *Last  `json:"last,omitempty"`
}

// Last is an endpoint's last delivery attempt.
type Last struct {
	At     time.Time `json:"at"`
	Status int       `json:"status,omitempty"` // the HTTP status; 0 when none came
	OK     bool      `json:"ok"`
	Error  string    `json:"error,omitempty"` // why no status came, bounded
}

// Pending are the deliveries neither made nor dropped yet.
func (st Stats) Pending() uint64 {
	if done := st.Delivered + st.Dropped; done < st.Planned {
		return st.Planned - done
	}
	return 0
}

// count changes an endpoint's counts (compare-and-set, again on a
// concurrent change). A failure is logged: counts are not worth a retry
// of the delivery.
func (s *Service) count(ctx context.Context, id string, fn func(*Stats)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	for range 20 {
		var st Stats
		var rev uint64
		e, err := s.stats.Get(ctx, id)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			s.log.Warn("webhook: counts not read", "id", id, "err", err)
			return
		default:
			rev = e.Revision()
			_ = json.Unmarshal(e.Value(), &st)
		}
		fn(&st)
		data, _ := json.Marshal(st)
		if rev == 0 {
			_, err = s.stats.Create(ctx, id, data)
		} else {
			_, err = s.stats.Update(ctx, id, data, rev)
		}
		if err == nil {
			return
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			s.log.Warn("webhook: counts not saved", "id", id, "err", err)
			return
		}
	}
	s.log.Warn("webhook: counts not saved after many concurrent changes", "id", id)
}

// stats reads an endpoint's counts; none yet is zero counts.
func (s *Service) readStats(ctx context.Context, id string) (Stats, error) {
	var st Stats
	e, err := s.stats.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return st, nil
	}
	if err != nil {
		return st, unavailable(err)
	}
	err = json.Unmarshal(e.Value(), &st)
	return st, err
}

// List are the endpoints, oldest first, with their counts.
func (s *Service) List(ctx context.Context) ([]Listed, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	lister, err := s.hooks.ListKeys(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	out := []Listed{}
	for id := range lister.Keys() {
		ep, _, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		st, err := s.readStats(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, listed(ep, st))
	}
	sortListed(out)
	return out, nil
}

// localEntry lets a change this instance made reach its planner at once,
// before the watch brings it.
type localEntry struct {
	jetstream.KeyValueEntry
	key     string
	value   []byte
	deleted bool
}

func (e localEntry) Key() string   { return e.key }
func (e localEntry) Value() []byte { return e.value }
func (e localEntry) Operation() jetstream.KeyValueOp {
	if e.deleted {
		return jetstream.KeyValuePurge
	}
	return jetstream.KeyValuePut
}
