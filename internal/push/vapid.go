package push

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// IdentityConfig says where the VAPID keys come from: both keys given, or a
// key file, or else a pair generated on first start and kept in DataDir.
type IdentityConfig struct {
	PublicKey, PrivateKey string // base64url
	KeyFile               string // JSON {"public_key","private_key"}
	DataDir               string // where a generated pair is kept (vapid.json, mode 0600)
	// Subject is the contact sent to push services: "mailto:ops@example.com"
	// or "https://example.com/contact". Required.
	Subject string
}

// Identity is the server's VAPID key pair and contact. It signs the VAPID
// JWT once per push-service origin and reuses it for hours (RFC 8292
// allows up to 24 h), which saves an ECDSA signature per send.
type Identity struct {
	PublicKey  string // base64url uncompressed P-256 point
	privateKey string // base64url scalar; never logged
	key        *ecdsa.PrivateKey
	subject    string // as sent in the JWT: "mailto:..." or "https://..."

	mu      sync.Mutex
	headers map[string]signed // audience → header
}

type signed struct {
	header string
	exp    time.Time
}

// headerLife is how long a signed VAPID header is used; renewed when less
// than headerRenew is left.
const (
	headerLife  = 12 * time.Hour
	headerRenew = time.Hour
)

type keyFile struct {
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// LoadIdentity builds the identity, generating and storing a key pair on the
// first start when none is configured.
func LoadIdentity(cfg IdentityConfig) (*Identity, error) {
	subject, err := checkSubject(cfg.Subject)
	if err != nil {
		return nil, err
	}
	pub, priv := cfg.PublicKey, cfg.PrivateKey
	switch {
	case pub != "" || priv != "":
		if pub == "" || priv == "" {
			return nil, errors.New("vapid: give both --vapid-public-key and --vapid-private-key, or neither")
		}
	case cfg.KeyFile != "":
		if pub, priv, err = readKeyFile(cfg.KeyFile); err != nil {
			return nil, err
		}
	default:
		path := filepath.Join(cfg.DataDir, "vapid.json")
		pub, priv, err = readKeyFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			if priv, pub, err = GenerateKeys(); err != nil {
				return nil, err
			}
			if err = writeKeyFile(path, pub, priv); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
	}
	key, err := parseKeys(pub, priv)
	if err != nil {
		return nil, err
	}
	return &Identity{PublicKey: pub, privateKey: priv, key: key, subject: subject, headers: map[string]signed{}}, nil
}

// CheckSubject reports whether s is an acceptable VAPID contact.
func CheckSubject(s string) error {
	_, err := checkSubject(s)
	return err
}

// CheckKeys reports whether the two keys form a VAPID key pair.
func CheckKeys(publicKey, privateKey string) error {
	if publicKey == "" || privateKey == "" {
		return errors.New("give both keys, or neither")
	}
	_, err := parseKeys(publicKey, privateKey)
	return err
}

// checkSubject accepts mailto: and https: contacts; Apple refuses a mailto
// at localhost with 403.
func checkSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("vapid subject is required: --vapid-subject mailto:you@your-newsroom.example or https://your-site.example/contact")
	case strings.HasPrefix(s, "mailto:"):
		addr, err := mail.ParseAddress(strings.TrimPrefix(s, "mailto:"))
		if err != nil || strings.Contains(addr.Address, "mailto:") {
			return "", fmt.Errorf("vapid subject %q: not a valid e-mail address", s)
		}
		host := strings.ToLower(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:])
		if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "127.0.0.1" {
			return "", fmt.Errorf("vapid subject %q: a mailto at localhost is refused by Apple's push service", s)
		}
		return "mailto:" + addr.Address, nil
	case strings.HasPrefix(s, "https:"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("vapid subject %q: not a valid https URL", s)
		}
		return s, nil
	}
	return "", fmt.Errorf("vapid subject %q: want a mailto: or https: URI", s)
}

// GenerateKeys returns a fresh VAPID key pair, base64url encoded.
func GenerateKeys() (privateKey, publicKey string, err error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.RawURLEncoding.EncodeToString(k.Bytes()), base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), nil
}

func parseKeys(pub, priv string) (*ecdsa.PrivateKey, error) {
	d, err := decodeB64(priv)
	if err != nil || len(d) != 32 {
		return nil, errors.New("vapid private key: want base64url of 32 bytes")
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("vapid private key: %w", err)
	}
	p, err := decodeB64(pub)
	if err != nil {
		return nil, errors.New("vapid public key: not base64url")
	}
	kp, err := k.PublicKey.Bytes()
	if err != nil || !bytes.Equal(kp, p) {
		return nil, errors.New("vapid: the public key does not belong to the private key")
	}
	return k, nil
}

func readKeyFile(path string) (pub, priv string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("vapid key file: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil || kf.PublicKey == "" || kf.PrivateKey == "" {
		return "", "", fmt.Errorf("vapid key file %s: want JSON {\"public_key\",\"private_key\"}", path)
	}
	return kf.PublicKey, kf.PrivateKey, nil
}

func writeKeyFile(path, pub, priv string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(keyFile{PublicKey: pub, PrivateKey: priv}, "", "  ")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("vapid key file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Header returns "vapid t=<jwt>, k=<public key>" for a push-service origin
// ("https://host"), signing anew only when the cached one is close to expiry.
func (id *Identity) Header(audience string, now time.Time) (string, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if s, ok := id.headers[audience]; ok && now.Add(headerRenew).Before(s.exp) {
		return s.header, nil
	}
	exp := now.Add(headerLife)
	claims, _ := json.Marshal(map[string]any{"aud": audience, "exp": exp.Unix(), "sub": id.subject})
	input := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, id.key, sum[:])
	if err != nil {
		return "", err
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	h := "vapid t=" + input + "." + base64.RawURLEncoding.EncodeToString(sig[:]) + ", k=" + id.PublicKey
	if len(id.headers) > 1024 { // origins are few; bound the map anyway
		clear(id.headers)
	}
	id.headers[audience] = signed{header: h, exp: exp}
	return h, nil
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))

// Subscriber is the contact in the form webpush-go wants (it prefixes
// "mailto:" itself, so a mailto subject is passed bare), for sending with
// webpush-go, the reference implementation in tests.
func (id *Identity) Subscriber() string { return strings.TrimPrefix(id.subject, "mailto:") }

// Subject is the contact as sent in the JWT.
func (id *Identity) Subject() string { return id.subject }
