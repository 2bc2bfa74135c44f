package fcmtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"newsflash/internal/fcm"
)

const grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxAssertionLife is Google's limit on exp - iat.
const maxAssertionLife = time.Hour

// clockSkew is how far in the future an assertion's iat may be.
const clockSkew = time.Minute

// serveToken is the OAuth 2.0 token endpoint: a JWT bearer grant (RFC
// 7523) whose assertion is signed by the service account's key.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "want a form")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	s.mu.Lock()
	if len(s.grantFail) > 0 {
		a := s.grantFail[0]
		s.grantFail = s.grantFail[1:]
		s.mu.Unlock()
		write(w, a)
		return
	}
	s.mu.Unlock()
	if g := r.PostForm.Get("grant_type"); g != grantType {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q", g))
		return
	}
	if err := s.checkAssertion(r.PostForm.Get("assertion")); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := "ya29.fcmtest-" + hex.EncodeToString(b)
	s.mu.Lock()
	life := s.expiresIn
	s.tokens[tok] = s.opts.Now().Add(life)
	s.grants++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": max(int(life/time.Second), 1), "token_type": "Bearer"})
}

// checkAssertion checks the signed JWT: RS256 with the account's key, the
// account as issuer, the token endpoint as audience, FCM's scope, and sane
// times.
func (s *Server) checkAssertion(a string) error {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return errors.New("assertion is not a JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	if err := decodePart(parts[0], &hdr); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if hdr.Alg != "RS256" {
		return fmt.Errorf("alg %q, want RS256", hdr.Alg)
	}
	if hdr.Kid != "" && hdr.Kid != s.keyID {
		return errors.New("unknown kid")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("invalid signature")
	}
	var c struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}
	if err := decodePart(parts[1], &c); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	now := s.opts.Now()
	iat, exp := time.Unix(c.Iat, 0), time.Unix(c.Exp, 0)
	switch {
	case c.Iss != s.opts.ClientEmail:
		return fmt.Errorf("iss %q is not the service account", c.Iss)
	case c.Aud != s.TokenURI():
		return fmt.Errorf("aud %q is not the token endpoint", c.Aud)
	case !slices.Contains(strings.Fields(c.Scope), fcm.Scope):
		return fmt.Errorf("scope %q lacks %s", c.Scope, fcm.Scope)
	case c.Iat == 0 || iat.After(now.Add(clockSkew)):
		return errors.New("iat missing or in the future")
	case c.Exp == 0 || !exp.After(now):
		return errors.New("assertion expired")
	case exp.Sub(iat) > maxAssertionLife || !exp.After(iat):
		return errors.New("exp must be after iat, within an hour")
	}
	return nil
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return errors.New("not base64url")
	}
	return json.Unmarshal(b, v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func write(w http.ResponseWriter, a Answer) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	w.WriteHeader(a.Status)
	w.Write([]byte(a.Body))
}
