package editor

import (
	"bufio"
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
	"strings"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
)

// Editors are the people allowed to write, each known by the SHA-256 hash
// of their token. It is read-only once built.
type Editors struct {
	list []editorHash
}

type editorHash struct {
	name string
	hash [sha256.Size]byte
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseEditors reads lines "name:<sha256 hex of the token>"; blank lines and
// lines starting with # are skipped, and commas separate entries too (for
// an environment variable).
func ParseEditors(text string) (*Editors, error) {
	e := &Editors{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(text, ",", "\n")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hexHash, ok := strings.Cut(line, ":")
		if !ok || !nameRE.MatchString(name) {
			return nil, fmt.Errorf("editors entry %d: want name:sha256hex with a name of letters, digits and ._@-", n)
		}
		raw, err := hex.DecodeString(strings.TrimPrefix(hexHash, "sha256:"))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("editors entry %d (%s): the hash must be 64 hex digits (SHA-256 of the token)", n, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("editors entry %d: editor %q appears twice", n, name)
		}
		seen[name] = true
		var h editorHash
		h.name = name
		copy(h.hash[:], raw)
		e.list = append(e.list, h)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(e.list) == 0 {
		return nil, errors.New("editors: no editor configured")
	}
	return e, nil
}

// Names lists the editors' names.
func (e *Editors) Names() []string {
	out := make([]string, len(e.list))
	for i, h := range e.list {
		out[i] = h.name
	}
	return out
}

// Lookup returns the editor whose token this is. It compares against every
// editor in constant time, so the time taken says nothing about the token.
func (e *Editors) Lookup(token string) (string, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range e.list {
		if subtle.ConstantTimeCompare(sum[:], e.list[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return e.list[found].name, true
}

// NewToken returns a fresh random token and the editors line for name.
func NewToken(name string) (token, line string, err error) {
	if !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("editor name %q: use 1-64 letters, digits and ._@-", name)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	token = "nf_" + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(token))
	return token, name + ":" + hex.EncodeToString(sum[:]), nil
}

// BootstrapName is the editor created when none is configured.
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
	return &Editors{list: []editorHash{{name: BootstrapName, hash: sum}}}, nil
}

const editorKey = "newsflash.editor"

// RequireEditor is middleware that admits only requests with a valid
// "Authorization: Bearer <token>" and records the editor's name.
func (e *Editors) RequireEditor() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="newsflash"`)
			httperr.Abort(c, httperr.New(http.StatusUnauthorized, "missing_token", "this endpoint needs an editor token: Authorization: Bearer <token>"))
			return
		}
		name, ok := e.Lookup(strings.TrimSpace(token))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="newsflash", error="invalid_token"`)
			httperr.Abort(c, httperr.New(http.StatusUnauthorized, "invalid_token", "the editor token is not valid"))
			return
		}
		c.Set(editorKey, name)
		c.Next()
	}
}

// EditorName returns the signed-in editor's name.
func EditorName(c *gin.Context) string { return c.GetString(editorKey) }
