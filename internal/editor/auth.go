package editor

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
)

// Editors are the people allowed to write, each known by the SHA-256 hash
// of their token and given a role. It is read-only once built.
type Editors struct {
	list []editorHash
}

type editorHash struct {
	name string
	role string
	hash [sha256.Size]byte
}

// Roles, from the least allowed to the most.
const (
	// RoleReporter posts, corrects and retracts ticker items; it may not
	// alert or schedule alerts.
	RoleReporter = "reporter"
	// RoleEditor does everything about items and alerts. An editors line
	// without a role is an editor.
	RoleEditor = "editor"
	// RoleAdmin is an editor who also manages editor accounts and reads
	// the audit trail.
	RoleAdmin = "admin"
)

var roleRank = map[string]int{RoleReporter: 1, RoleEditor: 2, RoleAdmin: 3}

// ValidRole says whether role is one of the roles.
func ValidRole(role string) bool { return roleRank[role] > 0 }

// Allows says whether role may do what needs at least role need.
func Allows(role, need string) bool { return roleRank[role] > 0 && roleRank[role] >= roleRank[need] }

// CanAlert says whether role may send alerts (or schedule them): editors
// and admins, not reporters.
func CanAlert(role string) bool { return Allows(role, RoleEditor) }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseEditors reads an editors file: one "name:<sha256 hex of the token>"
// or "name:<sha256 hex>:<role>" a line (no role: RoleEditor). Blank lines and lines starting with # are skipped before anything
// else, so a comment may say anything; errors name the line.
func ParseEditors(text string) (*Editors, error) {
	var b builder
	b.place = func(n int) string { return "line " + strconv.Itoa(n) }
	b.other = func(n int) string { return "on line " + strconv.Itoa(n) }
	for n, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); strings.Contains(t, ",") && !strings.HasPrefix(t, "#") {
			return nil, fmt.Errorf("editors line %d: want name:sha256hex, one editor a line (commas separate editors only in --editor-hashes)", n+1)
		}
		if err := b.add(n+1, line); err != nil {
			return nil, err
		}
	}
	return b.done()
}

// ParseEditorList reads the editors of --editor-hashes (and its environment
// variable): "name:sha256hex" entries separated by commas or newlines;
// empty entries and entries starting with # are skipped. Errors name the
// entry, counted from 1.
func ParseEditorList(list string) (*Editors, error) {
	var b builder
	b.place = func(n int) string { return "entry " + strconv.Itoa(n) }
	b.other = func(n int) string { return "in entry " + strconv.Itoa(n) }
	// Empty entries are counted too, so that the number in an error is the
	// one a reader counts.
	for n, entry := range strings.Split(strings.ReplaceAll(list, "\n", ","), ",") {
		if err := b.add(n+1, entry); err != nil {
			return nil, err
		}
	}
	return b.done()
}

// builder collects editors, refusing a name or a token hash given twice.
type builder struct {
	place func(n int) string // "line 3", "entry 3"
	other func(n int) string // "on line 3", "in entry 3"
	list  []editorHash
	names map[string]int            // name → where it was given
	where map[[sha256.Size]byte]int // hash → index in list
	at    []int                     // where list[i] was given
}

// add reads one line or entry, found at n.
func (b *builder) add(n int, text string) error {
	text = strings.TrimSpace(text)
	if text == "" || strings.HasPrefix(text, "#") {
		return nil
	}
	name, hexHash, ok := strings.Cut(text, ":")
	if !ok || !nameRE.MatchString(name) {
		return fmt.Errorf("editors %s: want name:sha256hex[:role] with a name of letters, digits and ._@-", b.place(n))
	}
	hexHash, role, hasRole := strings.Cut(strings.TrimPrefix(hexHash, "sha256:"), ":")
	if !hasRole {
		role = RoleEditor
	} else if !ValidRole(role) {
		return fmt.Errorf("editors %s (%s): unknown role %q: want reporter, editor or admin", b.place(n), name, role)
	}
	raw, err := hex.DecodeString(hexHash)
	if err != nil || len(raw) != sha256.Size {
		return fmt.Errorf("editors %s (%s): the hash must be 64 hex digits (SHA-256 of the token)", b.place(n), name)
	}
	if first, ok := b.names[name]; ok {
		return fmt.Errorf("editors %s: editor %q appears twice (first %s)", b.place(n), name, b.other(first))
	}
	h := editorHash{name: name, role: role}
	copy(h.hash[:], raw)
	// One token for two names would sign its holder in as either, and
	// Lookup could only pick one of them.
	if i, ok := b.where[h.hash]; ok {
		return fmt.Errorf("editors %s: editor %q has the same token hash as editor %q %s; give each editor a token of their own",
			b.place(n), name, b.list[i].name, b.other(b.at[i]))
	}
	if b.names == nil {
		b.names, b.where = map[string]int{}, map[[sha256.Size]byte]int{}
	}
	b.names[name] = n
	b.where[h.hash] = len(b.list)
	b.list = append(b.list, h)
	b.at = append(b.at, n)
	return nil
}

func (b *builder) done() (*Editors, error) {
	if len(b.list) == 0 {
		return nil, errors.New("editors: no editor configured")
	}
	return &Editors{list: b.list}, nil
}

// Names lists the editors' names.
func (e *Editors) Names() []string {
	out := make([]string, len(e.list))
	for i, h := range e.list {
		out[i] = h.name
	}
	return out
}

// Has says whether an editor of that name is configured.
func (e *Editors) Has(name string) bool {
	for _, h := range e.list {
		if h.name == name {
			return true
		}
	}
	return false
}

// Lookup returns the editor whose token this is. It compares against every
// editor in constant time, so the time taken says nothing about the token.
func (e *Editors) Lookup(token string) (string, bool) {
	name, _, ok := e.lookup(sha256.Sum256([]byte(token)))
	return name, ok
}

// Role is the role of the editor whose token this is.
func (e *Editors) Role(token string) (string, bool) {
	_, role, ok := e.lookup(sha256.Sum256([]byte(token)))
	return role, ok
}

func (e *Editors) lookup(sum [sha256.Size]byte) (name, role string, ok bool) {
	found := -1
	for i := range e.list {
		if subtle.ConstantTimeCompare(sum[:], e.list[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", "", false
	}
	return e.list[found].name, e.list[found].role, true
}

// CheckName says why name cannot name an editor.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("editor name %q: use 1-64 letters, digits and ._@-", name)
	}
	return nil
}

// NewToken returns a fresh random token and the editors line for name
// (without a role: an editor).
func NewToken(name string) (token, line string, err error) {
	if err := CheckName(name); err != nil {
		return "", "", err
	}
	token, sum, err := newToken()
	if err != nil {
		return "", "", err
	}
	return token, name + ":" + hex.EncodeToString(sum[:]), nil
}

// NewTokenRole is NewToken with the role written in the line.
func NewTokenRole(name, role string) (token, line string, err error) {
	if !ValidRole(role) {
		return "", "", fmt.Errorf("role %q: want reporter, editor or admin", role)
	}
	token, line, err = NewToken(name)
	if err != nil {
		return "", "", err
	}
	return token, line + ":" + role, nil
}

// newToken is a fresh random token and its SHA-256.
func newToken() (string, [sha256.Size]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [sha256.Size]byte{}, err
	}
	token := "nf_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, sha256.Sum256([]byte(token)), nil
}

// BootstrapName is the editor created when none is configured; it is an
// admin, so that it can make the newsroom's accounts.
const BootstrapName = "newsroom"

// Bootstrap returns the single editor kept in dataDir, creating it on the
// first start. Its token is stored in dataDir/editor-token (mode 0600); the
// log says where that file is, never the token (logs are shipped and kept
// where a secret must not go).
func Bootstrap(dataDir string, log *slog.Logger) (*Editors, error) {
	path := filepath.Join(dataDir, "editor-token")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		token, _, err := NewToken(BootstrapName)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		if _, err := f.WriteString(token + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		log.Warn("no editors configured: created the first editor; its token is in the token file (read it there, it is not logged)",
			"editor", BootstrapName, "token_file", path)
		raw = []byte(token)
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return nil, fmt.Errorf("%s is empty: delete it to create a new editor token", path)
	}
	sum := sha256.Sum256([]byte(token))
	return &Editors{list: []editorHash{{name: BootstrapName, role: RoleAdmin, hash: sum}}}, nil
}

const (
	editorKey = "newsflash.editor"
	roleKey   = "newsflash.role"
)

// signer finds the editor of a token's SHA-256.
type signer func(sum [sha256.Size]byte) (name, role string, ok bool)

// RequireEditor is middleware that admits only requests with a valid
// "Authorization: Bearer <token>" and records the editor's name and role.
func (e *Editors) RequireEditor() gin.HandlerFunc { return requireEditor(e.lookup) }

// OptionalEditor is middleware for reads that anyone may make and editors
// see more of (a retracted item's text). A request without a bearer token
// goes on as the public; one with a valid token as that editor; one with
// an invalid token is refused with 401 as on the write endpoints, so that
// it is counted by the failure limit like any other guess. Other
// Authorization schemes (a site's Basic auth in front) are left alone.
func (e *Editors) OptionalEditor() gin.HandlerFunc { return optionalEditor(e.lookup) }

func requireEditor(find signer) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c)
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="newsflash"`)
			httperr.Abort(c, httperr.New(http.StatusUnauthorized, "missing_token", "this endpoint needs an editor token: Authorization: Bearer <token>"))
			return
		}
		signIn(c, find, token)
	}
}

func optionalEditor(find signer) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c)
		if !ok {
			c.Next()
			return
		}
		signIn(c, find, token)
	}
}

// bearerToken is the request's non-empty "Authorization: Bearer" token.
func bearerToken(c *gin.Context) (string, bool) {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// signIn goes on as the token's editor, or refuses an invalid token.
func signIn(c *gin.Context, find signer, token string) {
	name, role, ok := find(sha256.Sum256([]byte(token)))
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="newsflash", error="invalid_token"`)
		httperr.Abort(c, httperr.New(http.StatusUnauthorized, "invalid_token", "the editor token is not valid"))
		return
	}
	c.Set(editorKey, name)
	c.Set(roleKey, role)
	c.Next()
}

// Auth signs editors in: *Editors (the static ones) and *Accounts (those
// and the accounts made at runtime).
type Auth interface {
	RequireEditor() gin.HandlerFunc
	OptionalEditor() gin.HandlerFunc
}

var (
	_ Auth = (*Editors)(nil)
	_ Auth = (*Accounts)(nil)
)

// EditorName returns the signed-in editor's name.
func EditorName(c *gin.Context) string { return c.GetString(editorKey) }

// Role returns the signed-in editor's role ("" for the public).
func Role(c *gin.Context) string { return c.GetString(roleKey) }

// RequireRole is middleware, after RequireEditor, that refuses with 403
// forbidden an editor whose role is below need.
func RequireRole(need string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !Allows(Role(c), need) {
			httperr.Abort(c, &httperr.Error{Status: http.StatusForbidden, Code: "forbidden",
				Message: "this needs the " + need + " role (yours: " + Role(c) + ")"})
			return
		}
		c.Next()
	}
}

// ErrAlertForbidden is the answer to a reporter asking for an alert.
var ErrAlertForbidden = &httperr.Error{Status: http.StatusForbidden, Code: "forbidden", Field: "alert",
	Message: "reporters work on ticker items only: sending an alert, or changing an item whose alert was sent, needs the editor role"}
