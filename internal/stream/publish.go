package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
)

// wireEvent is an event as stored: the seq is the message's own. Client,
// Before and Confirmed are kept for the audit trail (see news.Event).
type wireEvent struct {
	Type   string     `json:"type"`
	Item   news.Item  `json:"item"`
	Alert  bool       `json:"alert,omitempty"`
	Client string     `json:"client,omitempty"`
	Before *news.Item `json:"before,omitempty"`
	// Confirmed: the alert went out with confirm over the flood guard.
	Confirmed bool `json:"confirmed,omitempty"`
}

// Publish appends an event for ev.Item.ID to the stream and returns its seq
// once JetStream has stored it. expectLast is the seq of the item's current
// version (0 for a new item): if the item has changed since, nothing is
// written and the error is ErrConflict. msgID lets JetStream drop a repeat of
// the same publish (nats.go retries).
func (s *Stream) Publish(ctx context.Context, ev news.Event, expectLast uint64, msgID string) (seq uint64, duplicate bool, err error) {
	if !s.nc.IsConnected() {
		return 0, false, fmt.Errorf("%w: nats %s", ErrUnavailable, s.nc.Status())
	}
	it := ev.Item
	it.Seq = 0
	data, err := json.Marshal(wireEvent{Type: ev.Type, Item: it, Alert: ev.Alert, Client: ev.Client, Before: ev.Before, Confirmed: ev.Confirmed})
	if err != nil {
		return 0, false, fmt.Errorf("encode event: %w", err)
	}
	msg := &nats.Msg{Subject: s.Layout().ItemSubject(ev.Item.ID), Data: data, Header: nats.Header{}}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	ack, err := s.js.PublishMsg(ctx, msg,
		jetstream.WithExpectStream(s.Layout().NewsStream()),
		jetstream.WithMsgID(msgID),
		jetstream.WithExpectLastSequencePerSubject(expectLast))
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, false, ErrConflict
		}
		return 0, false, fmt.Errorf("%w: publish %s: %v", ErrUnavailable, ev.Item.ID, err)
	}
	return ack.Sequence, ack.Duplicate, nil
}

func isWrongLastSeq(err error) bool {
	var jerr jetstream.JetStreamError
	if errors.As(err, &jerr) && jerr.APIError() != nil {
		return jerr.APIError().ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
	}
	return false
}

// Current reads an item's current version from the stream (not from any
// cache): the seq it returns is the one to pass to Publish as expectLast.
func (s *Stream) Current(ctx context.Context, id string) (news.Item, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	m, err := s.str.GetLastMsgForSubject(ctx, s.Layout().ItemSubject(id))
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return news.Item{}, ErrNotFound
		}
		return news.Item{}, fmt.Errorf("%w: read item %s: %v", ErrUnavailable, id, err)
	}
	ev, err := decode(m.Data, m.Sequence)
	if err != nil {
		return news.Item{}, err
	}
	return ev.Item, nil
}

// DecodeEvent reads an event as the stream stores it (the audit stream keeps
// the same bytes) and stamps it with seq, the news stream's sequence of it.
func DecodeEvent(data []byte, seq uint64) (news.Event, error) { return decode(data, seq) }

// decode reads a stored event and stamps it with its seq.
func decode(data []byte, seq uint64) (news.Event, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return news.Event{}, fmt.Errorf("decode event %d: %w", seq, err)
	}
	switch w.Type {
	case news.EventItem, news.EventUpdate, news.EventRetract:
	default:
		return news.Event{}, fmt.Errorf("decode event %d: unknown type %q", seq, w.Type)
	}
	if !news.ValidID(w.Item.ID) {
		return news.Event{}, fmt.Errorf("decode event %d: bad item id %q", seq, w.Item.ID)
	}
	w.Item.Seq = seq
	if w.Type == news.EventItem || w.Item.PublishedSeq == 0 {
		w.Item.PublishedSeq = seq
	}
	return news.Event{Type: w.Type, Seq: seq, Item: w.Item, Alert: w.Alert, Client: w.Client, Before: w.Before, Confirmed: w.Confirmed}, nil
}
