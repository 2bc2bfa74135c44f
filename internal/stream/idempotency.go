package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Claim records that an editor's Idempotency-Key stands for one item. Hash
// fingerprints the request it came with, so a reuse of the key for a
// different request can be refused. Seq is set once the item is published
// (the seq of its first event): from then on the key must never publish
// again, even when the item has left the stream (retracted and aged out).
type Claim struct {
	ItemID string `json:"item_id"`
	Hash   string `json:"hash"`
	Seq    uint64 `json:"seq,omitempty"`

	key string // bucket key, set by ClaimKey
	rev uint64 // bucket revision, set by ClaimKey
}

// Published reports whether the claim's item was published.
func (c Claim) Published() bool { return c.Seq != 0 }

// ClaimKey stores c under (editor, key) unless a claim is there already, in
// which case it returns that one and created = false. Claims expire after the
// idempotency window.
func (s *Stream) ClaimKey(ctx context.Context, editor, key string, c Claim) (got Claim, created bool, err error) {
	sum := sha256.Sum256([]byte(editor + "\x00" + key))
	k := hex.EncodeToString(sum[:])
	c.Seq = 0
	val, err := json.Marshal(c)
	if err != nil {
		return Claim{}, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	rev, err := s.idem.Create(ctx, k, val)
	if err == nil {
		c.key, c.rev = k, rev
		return c, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return Claim{}, false, fmt.Errorf("%w: claim idempotency key: %v", ErrUnavailable, err)
	}
	e, err := s.idem.Get(ctx, k)
	if err != nil {
		return Claim{}, false, fmt.Errorf("%w: read idempotency key: %v", ErrUnavailable, err)
	}
	if err := json.Unmarshal(e.Value(), &got); err != nil {
		return Claim{}, false, fmt.Errorf("decode idempotency claim: %w", err)
	}
	got.key, got.rev = k, e.Revision()
	return got, false, nil
}

// ClaimPublished records in c, a claim ClaimKey returned, that its item
// was published with seq. It fails if the claim changed since it was read.
func (s *Stream) ClaimPublished(ctx context.Context, c Claim, seq uint64) error {
	if c.key == "" {
		return errors.New("claim published: not a claim read by ClaimKey")
	}
	c.Seq = seq
	val, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if _, err := s.idem.Update(ctx, c.key, val, c.rev); err != nil {
		return fmt.Errorf("%w: record idempotency key as published: %v", ErrUnavailable, err)
	}
	return nil
}

// InAudit reports whether the audit stream holds an event of the item:
// whether it was ever published, for as long as the audit trail keeps it,
// after the news stream has let it go. The audit stream copies the news
// stream asynchronously: an event published a moment ago may not be there
// yet.
func (s *Stream) InAudit(ctx context.Context, id string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	_, err := s.audit.GetLastMsgForSubject(ctx, s.Layout().ItemSubject(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: read audit of item %s: %v", ErrUnavailable, id, err)
	}
	return true, nil
}
