package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Account changes, the Action of an Account record.
const (
	AccountCreate = "create"
	AccountRole   = "role"
	AccountRotate = "rotate"
	AccountRevoke = "revoke"
)

// Account is the value of an editor's key in Layout.EditorsBucket: the
// account as the last change left it, and that change (who, when, from
// where). A revoked account keeps a record (Action AccountRevoke, no Hash)
// so that the revocation is in the audit trail with its author; the name
// may be taken again.
type Account struct {
	Name    string    `json:"name"`
	Role    string    `json:"role,omitempty"`
	Hash    string    `json:"hash,omitempty"` // hex SHA-256 of the token, never the token
	Created time.Time `json:"created"`
	Action  string    `json:"action"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Client  string    `json:"client,omitempty"`
}

// Revoked says whether the account no longer signs anyone in.
func (a Account) Revoked() bool { return a.Action == AccountRevoke }

// EncodeAccount is the bucket value of a.
func EncodeAccount(a Account) ([]byte, error) { return json.Marshal(a) }

// DecodeAccount reads a bucket value (or its copy in the audit stream).
func DecodeAccount(data []byte) (Account, error) {
	var a Account
	if err := json.Unmarshal(data, &a); err != nil {
		return Account{}, fmt.Errorf("decode editor account: %w", err)
	}
	if a.Name == "" || a.Action == "" {
		return Account{}, fmt.Errorf("decode editor account: no name or action")
	}
	return a, nil
}

// editorsConfig is the bucket of editor accounts: one key per editor.
//
// The audit stream copies the bucket's stream (sourcing), which reads it a
// moment after each write, and after a restart or an outage from where it
// stopped. A bucket that kept only each key's last value would drop a
// change replaced before the copy read it (a role change, then a rotation
// at once): the bucket keeps each key's last KeyValueMaxHistory (64)
// values, so a change is lost to the audit only if 64 later changes of the
// same account come while the copy is stalled.
func (s *Stream) editorsConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:       s.Layout().EditorsBucket(),
		Description:  "Newsflash editor accounts made at runtime (token hashes only)",
		History:      jetstream.KeyValueMaxHistory,
		MaxValueSize: 1024,
		Storage:      jetstream.FileStorage,
		Replicas:     s.cfg.Replicas,
	}
}

// Editors is the bucket of editor accounts.
func (s *Stream) Editors(ctx context.Context) (jetstream.KeyValue, error) {
	return s.js.KeyValue(ctx, s.Layout().EditorsBucket())
}
