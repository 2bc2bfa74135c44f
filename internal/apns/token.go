package apns

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// RenewAfter is the age at which the provider token is replaced: Apple
	// wants a renewal between 20 and 60 minutes, and this leaves 20 minutes
	// for clocks that disagree.
	RenewAfter = 40 * time.Minute
	// MinRenewal is the youngest token replaced after APNs calls it
	// expired: renewing sooner is refused (TooManyProviderTokenUpdates).
	MinRenewal = 20 * time.Minute
)

// providerToken is one signed JWT and when it was issued (its iat).
type providerToken struct {
	// authorization is the header's value, "bearer <jwt>", made once for
	// every request that uses the token.
	authorization []string
	iat           time.Time
}

// signer makes the provider token and hands the current one to every send.
type signer struct {
	// Set at construction.
	key       *ecdsa.PrivateKey
	kid, iss  string
	now       func() time.Time
	headerB64 string // the JWT header, encoded once

	cur atomic.Pointer[providerToken] // read without a lock; written under mu
	mu  sync.Mutex                    // one renewal at a time
}

func newSigner(key *ecdsa.PrivateKey, kid, iss string, now func() time.Time) *signer {
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"ES256", kid})
	return &signer{key: key, kid: kid, iss: iss, now: now, headerB64: base64.RawURLEncoding.EncodeToString(h)}
}

// token returns the current token, making a new one when there is none or it
// is RenewAfter old.
func (s *signer) token() (*providerToken, error) {
	if t := s.cur.Load(); t != nil && s.now().Sub(t.iat) < RenewAfter {
		return t, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.cur.Load(); t != nil && s.now().Sub(t.iat) < RenewAfter {
		return t, nil // another send renewed it meanwhile
	}
	return s.renewLocked()
}

// expired is called when APNs refused old as expired. It returns the token
// to retry with: one another send already made, or a new one if old is at
// least MinRenewal old. It returns nil when old is too young to replace.
func (s *signer) expired(old *providerToken) (*providerToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.cur.Load(); t != old {
		return t, nil
	}
	if s.now().Sub(old.iat) < MinRenewal {
		return nil, nil
	}
	return s.renewLocked()
}

func (s *signer) renewLocked() (*providerToken, error) {
	iat := s.now().Truncate(time.Second)
	claims, _ := json.Marshal(struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{s.iss, iat.Unix()})
	jwt, err := s.sign(s.headerB64 + "." + base64.RawURLEncoding.EncodeToString(claims))
	if err != nil {
		return nil, err
	}
	t := &providerToken{authorization: []string{"bearer " + jwt}, iat: iat}
	s.cur.Store(t)
	return t, nil
}

// sign appends the ES256 signature (RFC 7518 §3.4: the 32-byte r and s,
// concatenated, not the ASN.1 form crypto/ecdsa's SignASN1 gives).
func (s *signer) sign(input string) (string, error) {
	sum := sha256.Sum256([]byte(input))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign provider token: %w", err)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig[:]), nil
}
