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
// different request can be refused.
type Claim struct {
	ItemID string `json:"item_id"`
	Hash   string `json:"hash"`
}

// ClaimKey stores c under (editor, key) unless a claim is there already, in
// which case it returns that one and created = false. Claims expire after the
// idempotency window.
func (s *Stream) ClaimKey(ctx context.Context, editor, key string, c Claim) (got Claim, created bool, err error) {
	sum := sha256.Sum256([]byte(editor + "\x00" + key))
	k := hex.EncodeToString(sum[:])
	val, err := json.Marshal(c)
	if err != nil {
		return Claim{}, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if _, err = s.idem.Create(ctx, k, val); err == nil {
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
	return got, false, nil
}
