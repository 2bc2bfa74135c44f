package editor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/httperr"
	"newsflash/internal/stream"
)

// DefaultAccountsTimeout bounds one operation on the accounts' bucket.
const DefaultAccountsTimeout = 5 * time.Second

// AccountsDeps wire Accounts. KV and Static are required.
type AccountsDeps struct {
	// KV is the bucket of accounts (stream.Stream.Editors); its layout
	// names the keys.
	KV     jetstream.KeyValue
	Layout stream.Layout
	// Static are the editors of the editors file, the environment or the
	// bootstrap token: they sign in as before and cannot be changed here.
	Static *Editors
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// AccountsOptions are the settings of Accounts; a zero field means its
// default.
type AccountsOptions struct {
	// Timeout bounds one bucket operation. Default DefaultAccountsTimeout.
	Timeout time.Duration
}

// Accounts signs editors in: the static ones and the accounts made at
// runtime, which every instance keeps in memory from a watch of the
// bucket, so a revoked or rotated token stops on every instance as soon as
// the change reaches it. Last use is kept per instance, in memory.
type Accounts struct {
	// set at construction
	kv      jetstream.KeyValue
	layout  stream.Layout
	static  *Editors
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration
	watch   jetstream.KeyWatcher
	done    chan struct{} // closed when the watch goroutine ends

	mu       sync.RWMutex
	byName   map[string]account // guarded by mu: the live runtime accounts
	byHash   map[[sha256.Size]byte]string
	revs     map[string]uint64 // guarded by mu: the last revision applied, per name
	lastUsed sync.Map          // name → time.Time
}

type account struct {
	stream.Account
	hash [sha256.Size]byte
	rev  uint64
}

// OpenAccounts loads the accounts and starts the goroutine that keeps them
// up to date; Close stops it.
func OpenAccounts(ctx context.Context, deps AccountsDeps, opts AccountsOptions) (*Accounts, error) {
	if deps.KV == nil || deps.Static == nil {
		return nil, errors.New("editor accounts: KV and Static are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultAccountsTimeout
	}
	a := &Accounts{kv: deps.KV, layout: deps.Layout, static: deps.Static, log: deps.Logger, now: deps.Now, timeout: opts.Timeout,
		done: make(chan struct{}), byName: map[string]account{}, byHash: map[[sha256.Size]byte]string{}, revs: map[string]uint64{}}
	// The watch lives until Close, not until ctx (start-up) ends.
	w, err := stream.LoadWatch(ctx, deps.KV, "editor accounts", a.applyEntry)
	if err != nil {
		return nil, err
	}
	a.watch = w
	go a.follow()
	return a, nil
}

// follow applies the bucket's changes until Close stops the watch.
func (a *Accounts) follow() {
	defer close(a.done)
	for e := range a.watch.Updates() {
		if e != nil {
			a.applyEntry(e)
		}
	}
}

// Close stops the watch and waits for its goroutine.
func (a *Accounts) Close() {
	_ = a.watch.Stop()
	<-a.done
}

func (a *Accounts) applyEntry(e jetstream.KeyValueEntry) {
	name, ok := a.layout.EditorFromSubject("$KV." + e.Bucket() + "." + e.Key())
	if !ok {
		a.log.Warn("editor accounts: skipping a key that names no editor", "key", e.Key())
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		a.apply(name, nil, e.Revision())
		return
	}
	acc, err := stream.DecodeAccount(e.Value())
	if err != nil || acc.Name != name {
		a.log.Error("editor accounts: skipping an undecodable account; it signs no one in", "editor", name, "err", err)
		a.apply(name, nil, e.Revision())
		return
	}
	a.apply(name, &acc, e.Revision())
}

// apply makes acc (nil: none) the account of name, unless a later revision
// was applied already (the watch and this instance's own changes race).
func (a *Accounts) apply(name string, acc *stream.Account, rev uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rev <= a.revs[name] {
		return
	}
	a.revs[name] = rev
	if old, ok := a.byName[name]; ok {
		delete(a.byHash, old.hash)
		delete(a.byName, name)
	}
	if acc == nil || acc.Revoked() {
		return
	}
	raw, err := hex.DecodeString(acc.Hash)
	if err != nil || len(raw) != sha256.Size || !ValidRole(acc.Role) {
		a.log.Error("editor accounts: an account with a bad hash or role signs no one in", "editor", name, "role", acc.Role)
		return
	}
	var sum [sha256.Size]byte
	copy(sum[:], raw)
	a.byName[name] = account{Account: *acc, hash: sum, rev: rev}
	a.byHash[sum] = name
}

// lookup finds the editor of a token's SHA-256: a static editor first (in
// constant time), then a runtime account (a map lookup of the hash, which
// says nothing about the token). An account whose name is also a static
// editor's signs no one in: the static editor is that name.
func (a *Accounts) lookup(sum [sha256.Size]byte) (name, role string, ok bool) {
	if name, role, ok = a.static.lookup(sum); !ok {
		a.mu.RLock()
		name, ok = a.byHash[sum]
		role = a.byName[name].Role
		a.mu.RUnlock()
		if ok && a.static.Has(name) {
			return "", "", false
		}
	}
	if ok {
		a.lastUsed.Store(name, a.now())
	}
	return name, role, ok
}

// Lookup returns the editor, static or runtime, whose token this is.
func (a *Accounts) Lookup(token string) (string, bool) {
	name, _, ok := a.lookup(sha256.Sum256([]byte(token)))
	return name, ok
}

// RequireEditor is Editors.RequireEditor with the runtime accounts too.
func (a *Accounts) RequireEditor() gin.HandlerFunc { return requireEditor(a.lookup) }

// OptionalEditor is Editors.OptionalEditor with the runtime accounts too.
func (a *Accounts) OptionalEditor() gin.HandlerFunc { return optionalEditor(a.lookup) }

// Errors of the account operations.
var (
	errNameTaken    = httperr.Field(http.StatusConflict, "name_taken", "name", "an editor of that name exists")
	errStaticEditor = httperr.New(http.StatusConflict, "static_editor", "this editor is configured in the editors file or the environment; change it there")
	errNoEditor     = httperr.New(http.StatusNotFound, "not_found", "no such editor account")
	errBusy         = httperr.New(http.StatusConflict, "conflict", "the account was changed at the same time; try again")
)

// unavailable is the answer when the bucket did not answer; the change may
// or may not have been stored (a retry tells: 404, name_taken, or done).
func unavailable(what, name string, err error) error {
	return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", RetryAfter: "2",
		Message: "the editor accounts store did not answer; try again", Cause: fmt.Errorf("%s editor account %s: %w", what, name, err)}
}

func checkRole(role string) error {
	if !ValidRole(role) {
		return httperr.Field(http.StatusBadRequest, "invalid_role", "role", fmt.Sprintf("unknown role %q: want reporter, editor or admin", role))
	}
	return nil
}

func checkName(name string) error {
	if err := CheckName(name); err != nil {
		return httperr.Field(http.StatusBadRequest, "invalid_name", "name", "name must be 1-64 letters, digits and ._@-, starting with a letter or digit")
	}
	return nil
}

// Change is who makes an account change, and from where.
type Change struct {
	By     string
	Client string
}

// Create makes an account and returns its token, the only time it is
// known: the bucket keeps its SHA-256. A revoked account's name may be
// taken again.
func (a *Accounts) Create(ctx context.Context, name, role string, by Change) (string, stream.Account, error) {
	if err := checkName(name); err != nil {
		return "", stream.Account{}, err
	}
	if err := checkRole(role); err != nil {
		return "", stream.Account{}, err
	}
	if a.static.Has(name) {
		return "", stream.Account{}, errNameTaken
	}
	token, sum, err := newToken()
	if err != nil {
		return "", stream.Account{}, err
	}
	now := a.now().UTC()
	acc := stream.Account{Name: name, Role: role, Hash: hex.EncodeToString(sum[:]), Created: now,
		Action: stream.AccountCreate, By: by.By, At: now, Client: by.Client}
	data, err := stream.EncodeAccount(acc)
	if err != nil {
		return "", stream.Account{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	key := a.layout.EditorKey(name)
	rev, err := a.kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		// Taken, unless by a revoked account.
		cur, gerr := a.kv.Get(ctx, key)
		if gerr != nil {
			return "", stream.Account{}, unavailable("read", name, gerr)
		}
		if old, derr := stream.DecodeAccount(cur.Value()); derr != nil || !old.Revoked() {
			return "", stream.Account{}, errNameTaken
		}
		rev, err = a.kv.Update(ctx, key, data, cur.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return "", stream.Account{}, errNameTaken
		}
	}
	if err != nil {
		return "", stream.Account{}, unavailable("store", name, err)
	}
	a.apply(name, &acc, rev)
	return token, acc, nil
}

// modify changes a live runtime account with fn, against concurrent
// changes: fn's result is stored only over the revision it saw.
func (a *Accounts) modify(ctx context.Context, name string, fn func(acc *stream.Account) (changed bool, err error)) (stream.Account, error) {
	if a.static.Has(name) {
		return stream.Account{}, errStaticEditor
	}
	if CheckName(name) != nil {
		return stream.Account{}, errNoEditor
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	key := a.layout.EditorKey(name)
	for range 3 {
		cur, err := a.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return stream.Account{}, errNoEditor
		}
		if err != nil {
			return stream.Account{}, unavailable("read", name, err)
		}
		acc, err := stream.DecodeAccount(cur.Value())
		if err != nil {
			return stream.Account{}, err
		}
		if acc.Revoked() {
			return stream.Account{}, errNoEditor
		}
		changed, err := fn(&acc)
		if err != nil || !changed {
			return acc, err
		}
		data, err := stream.EncodeAccount(acc)
		if err != nil {
			return stream.Account{}, err
		}
		rev, err := a.kv.Update(ctx, key, data, cur.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return stream.Account{}, unavailable("store", name, err)
		}
		a.apply(name, &acc, rev)
		return acc, nil
	}
	return stream.Account{}, errBusy
}

// SetRole changes an account's role. The same role again changes nothing.
func (a *Accounts) SetRole(ctx context.Context, name, role string, by Change) (stream.Account, error) {
	if err := checkRole(role); err != nil {
		return stream.Account{}, err
	}
	return a.modify(ctx, name, func(acc *stream.Account) (bool, error) {
		if acc.Role == role {
			return false, nil
		}
		acc.Role, acc.Action, acc.By, acc.At, acc.Client = role, stream.AccountRole, by.By, a.now().UTC(), by.Client
		return true, nil
	})
}

// Rotate gives an account a new token; the old one stops at once.
func (a *Accounts) Rotate(ctx context.Context, name string, by Change) (string, stream.Account, error) {
	token, sum, err := newToken()
	if err != nil {
		return "", stream.Account{}, err
	}
	acc, err := a.modify(ctx, name, func(acc *stream.Account) (bool, error) {
		acc.Hash, acc.Action, acc.By, acc.At, acc.Client = hex.EncodeToString(sum[:]), stream.AccountRotate, by.By, a.now().UTC(), by.Client
		return true, nil
	})
	if err != nil {
		return "", stream.Account{}, err
	}
	return token, acc, nil
}

// Revoke ends an account: its token stops at once. Its record stays, with
// no hash, so the revocation has an author in the audit trail.
func (a *Accounts) Revoke(ctx context.Context, name string, by Change) error {
	_, err := a.modify(ctx, name, func(acc *stream.Account) (bool, error) {
		acc.Hash, acc.Action, acc.By, acc.At, acc.Client = "", stream.AccountRevoke, by.By, a.now().UTC(), by.Client
		return true, nil
	})
	return err
}

// AccountInfo is what GET /api/v1/editors shows of an editor: never a token
// or its hash. LastUsed is this instance's last sign-in of the editor since
// it started (nil: none).
type AccountInfo struct {
	Name     string     `json:"name"`
	Role     string     `json:"role"`
	Static   bool       `json:"static"`
	Created  *time.Time `json:"created"`
	LastUsed *time.Time `json:"last_used"`
}

// List is every editor who can sign in, by name: the static ones
// (Static, no Created) and the live runtime accounts.
func (a *Accounts) List() []AccountInfo {
	var out []AccountInfo
	for _, h := range a.static.list {
		out = append(out, AccountInfo{Name: h.name, Role: h.role, Static: true})
	}
	a.mu.RLock()
	for name, acc := range a.byName {
		if a.static.Has(name) {
			continue
		}
		created := acc.Created
		out = append(out, AccountInfo{Name: name, Role: acc.Role, Created: &created})
	}
	a.mu.RUnlock()
	for i := range out {
		if t, ok := a.lastUsed.Load(out[i].Name); ok {
			at := t.(time.Time).UTC()
			out[i].LastUsed = &at
		}
	}
	slices.SortFunc(out, func(x, y AccountInfo) int { return strings.Compare(x.Name, y.Name) })
	return out
}
