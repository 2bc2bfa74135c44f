package pushsink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxVAPIDLifetime is how far ahead exp may be (RFC 8292 section 2).
const maxVAPIDLifetime = 24 * time.Hour

// VerifyVAPID checks an RFC 8292 Authorization header of the form
// "vapid t=<jwt>, k=<base64url public key>" as a push service does: the JWT
// must be ES256 and signed by k (a 65-byte uncompressed P-256 point), its
// aud must equal audience (the endpoint's origin, scheme://host[:port]), its
// exp must be after now and at most 24 hours ahead, and its sub must be a
// mailto: or https: URI whose scheme is not doubled ("mailto:mailto:x" is a
// classic sender bug). It returns the verified sub and exp and k as sent.
//
// A missing header or another scheme is ErrNoVAPID; every other failure
// wraps ErrVAPID.
func VerifyVAPID(authorization, audience string, now time.Time) (sub string, exp time.Time, publicKey string, err error) {
	c, err := verifyVAPID(authorization, audience, now)
	if err != nil {
		return "", time.Time{}, "", err
	}
	return c.sub, c.exp, c.k, nil
}

// vapidClaims is what verifyVAPID proved.
type vapidClaims struct {
	sub, aud string
	exp      time.Time
	k        string // as sent
	key      []byte // k decoded
}

func verifyVAPID(authorization, audience string, now time.Time) (vapidClaims, error) {
	c, err := verifyToken(authorization, audience)
	if err != nil {
		return vapidClaims{}, err
	}
	return c, c.checkExp(now)
}

// verifyToken is verifyVAPID without the clock: the header's form, k, the
// signature, aud and sub, everything that is the same for every request
// carrying this header.
func verifyToken(authorization, audience string) (vapidClaims, error) {
	t, k, err := parseVAPIDHeader(authorization)
	if err != nil {
		return vapidClaims{}, err
	}
	key, err := decodeB64URL(k)
	if err != nil {
		return vapidClaims{}, fmt.Errorf("%w: k is not base64url: %v", ErrVAPID, err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), key)
	if err != nil {
		return vapidClaims{}, fmt.Errorf("%w: k is not an uncompressed P-256 point: %v", ErrVAPID, err)
	}

	h64, rest, ok1 := strings.Cut(t, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return vapidClaims{}, fmt.Errorf("%w: t is not a compact JWS", ErrVAPID)
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeJSON(h64, &header); err != nil {
		return vapidClaims{}, fmt.Errorf("%w: JWT header: %v", ErrVAPID, err)
	}
	if header.Alg != "ES256" {
		return vapidClaims{}, fmt.Errorf("%w: JWT alg %q, want ES256", ErrVAPID, header.Alg)
	}
	sig, err := decodeB64URL(s64)
	if err != nil || len(sig) != 64 {
		return vapidClaims{}, fmt.Errorf("%w: JWT signature is not 64 bytes of base64url r||s", ErrVAPID)
	}
	digest := sha256.Sum256([]byte(t[:len(h64)+1+len(p64)]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return vapidClaims{}, fmt.Errorf("%w: JWT signature does not verify against k", ErrVAPID)
	}

	var claims struct {
		Aud string      `json:"aud"`
		Exp json.Number `json:"exp"`
		Sub string      `json:"sub"`
	}
	if err := decodeJSON(p64, &claims); err != nil {
		return vapidClaims{}, fmt.Errorf("%w: JWT claims: %v", ErrVAPID, err)
	}
	if claims.Aud != audience {
		return vapidClaims{}, fmt.Errorf("%w: aud %q, want %q", ErrVAPID, claims.Aud, audience)
	}
	expSec, err := claims.Exp.Int64()
	if err != nil {
		f, ferr := claims.Exp.Float64()
		if ferr != nil {
			return vapidClaims{}, fmt.Errorf("%w: exp %q is not a NumericDate", ErrVAPID, claims.Exp)
		}
		expSec = int64(f)
	}
	if err := checkSub(claims.Sub); err != nil {
		return vapidClaims{}, err
	}
	return vapidClaims{sub: claims.Sub, aud: claims.Aud, exp: time.Unix(expSec, 0), k: k, key: key}, nil
}

// checkExp: exp must be after now and at most 24 hours ahead.
func (c vapidClaims) checkExp(now time.Time) error {
	if !c.exp.After(now) {
		return fmt.Errorf("%w: expired: exp %s is not after %s", ErrVAPID, c.exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if c.exp.Sub(now) > maxVAPIDLifetime {
		return fmt.Errorf("%w: exp %s is more than 24h ahead", ErrVAPID, c.exp.UTC().Format(time.RFC3339))
	}
	return nil
}

// vapidCache remembers the tokens verifyToken accepted, so that a sender
// reusing its signed header (RFC 8292 allows it, and push services cache
// the same way) costs one ECDSA verification, not one per request. exp is
// still checked on every request. It has its own lock, never held with
// Sink.mu.
type vapidCache struct {
	mu sync.Mutex
	ok map[vapidKey]vapidClaims
}

type vapidKey struct{ authorization, audience string }

// maxVAPIDCache bounds the cache; a sender has one header per origin.
const maxVAPIDCache = 1024

// verify is verifyVAPID through the cache.
func (vc *vapidCache) verify(authorization, audience string, now time.Time) (vapidClaims, error) {
	key := vapidKey{authorization, audience}
	vc.mu.Lock()
	c, ok := vc.ok[key]
	vc.mu.Unlock()
	if !ok {
		var err error
		if c, err = verifyToken(authorization, audience); err != nil {
			return vapidClaims{}, err
		}
		vc.mu.Lock()
		if vc.ok == nil || len(vc.ok) >= maxVAPIDCache {
			vc.ok = make(map[vapidKey]vapidClaims)
		}
		vc.ok[key] = c
		vc.mu.Unlock()
	}
	return c, c.checkExp(now)
}

// parseVAPIDHeader splits "vapid t=..., k=..." into t and k. Parameter
// names are case-insensitive and values may be quoted (RFC 9110 auth-param).
func parseVAPIDHeader(h string) (t, k string, err error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", "", ErrNoVAPID
	}
	scheme, params, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "vapid") {
		return "", "", fmt.Errorf("%w: scheme %q", ErrNoVAPID, scheme)
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ",")
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return "", "", fmt.Errorf("%w: malformed parameter %q", ErrVAPID, p)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		switch {
		case strings.EqualFold(name, "t"):
			t = val
		case strings.EqualFold(name, "k"):
			k = val
		}
	}
	if t == "" || k == "" {
		return "", "", fmt.Errorf("%w: need both t= and k=", ErrVAPID)
	}
	return t, k, nil
}

// checkSub accepts a mailto: address or an https: URL (RFC 8292 section
// 2.1), and refuses a doubled scheme.
func checkSub(sub string) error {
	if rest, ok := cutPrefixFold(sub, "mailto:"); ok {
		if hasURIScheme(rest) {
			return fmt.Errorf("%w: sub %q has a doubled scheme", ErrVAPID, sub)
		}
		if !strings.Contains(rest, "@") {
			return fmt.Errorf("%w: sub %q is not a mailto: address", ErrVAPID, sub)
		}
		return nil
	}
	if rest, ok := cutPrefixFold(sub, "https:"); ok {
		if hasURIScheme(strings.TrimPrefix(rest, "//")) {
			return fmt.Errorf("%w: sub %q has a doubled scheme", ErrVAPID, sub)
		}
		if u, err := url.Parse(sub); err != nil || u.Host == "" {
			return fmt.Errorf("%w: sub %q is not an https: URL with a host", ErrVAPID, sub)
		}
		return nil
	}
	return fmt.Errorf("%w: sub %q is neither a mailto: nor an https: URI", ErrVAPID, sub)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func hasURIScheme(s string) bool {
	_, m := cutPrefixFold(s, "mailto:")
	_, h := cutPrefixFold(s, "https:")
	return m || h
}

// decodeB64URL decodes base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func decodeJSON(b64 string, v any) error {
	raw, err := decodeB64URL(b64)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
