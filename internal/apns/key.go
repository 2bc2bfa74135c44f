package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadKey reads an APNs signing key: the .p8 file Apple issues, a PEM
// "PRIVATE KEY" block holding a PKCS #8 P-256 ECDSA key. Its errors name the
// file and what is wrong with it, never the key.
func LoadKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("apns key %s: %w", path, err)
	}
	key, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("apns key %s: %w", path, err)
	}
	return key, nil
}

// ParseKey is LoadKey for the file's contents.
func ParseKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block: want the .p8 file from Apple (-----BEGIN PRIVATE KEY-----)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q: want \"PRIVATE KEY\" (PKCS #8), as in Apple's .p8 file", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 private key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key: want an ECDSA P-256 key", k)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("an ECDSA key on %s: want P-256", key.Curve.Params().Name)
	}
	return key, nil
}
