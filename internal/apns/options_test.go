package apns_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
)

func pemFile(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadKey loads a good .p8 and refuses each kind of bad one with an
// error naming the file and the problem.
func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	srv := apnstest.New(t)
	good, err := srv.KeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	sec1DER, _ := x509.MarshalECPrivateKey(srv.Key())
	notPEM := filepath.Join(dir, "notpem.p8")
	if err := os.WriteFile(notPEM, []byte("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "absent.p8"), "no such file"},
		{"not PEM", notPEM, "no PEM block"},
		{"SEC 1 block", pemFile(t, dir, "sec1.p8", "EC PRIVATE KEY", sec1DER), `"EC PRIVATE KEY"`},
		{"certificate", pemFile(t, dir, "cert.p8", "CERTIFICATE", []byte{1, 2, 3}), `"CERTIFICATE"`},
		{"garbage PKCS #8", pemFile(t, dir, "garbage.p8", "PRIVATE KEY", []byte("garbage")), "not a PKCS #8"},
		{"RSA key", pemFile(t, dir, "rsa.p8", "PRIVATE KEY", rsaDER), "want an ECDSA P-256 key"},
		{"P-384 key", pemFile(t, dir, "p384.p8", "PRIVATE KEY", p384DER), "P-384: want P-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := apns.LoadKey(tt.path)
			if err == nil || k != nil {
				t.Fatalf("loaded %v, want an error", k)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q: want the path and %q", err, tt.want)
			}
		})
	}
	k, err := apns.LoadKey(good)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Equal(srv.Key()) {
		t.Error("loaded another key")
	}
}

// TestNewOptions refuses each bad option, naming it.
func TestNewOptions(t *testing.T) {
	srv := apnstest.New(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name   string
		mutate func(*apns.Options)
		option string
	}{
		{"http endpoint", func(o *apns.Options) { o.Endpoint = "http://api.push.apple.com" }, "Endpoint"},
		{"relative endpoint", func(o *apns.Options) { o.Endpoint = "api.push.apple.com" }, "Endpoint"},
		{"endpoint with a path", func(o *apns.Options) { o.Endpoint = "https://api.push.apple.com/3/device" }, "Endpoint"},
		{"endpoint with a query", func(o *apns.Options) { o.Endpoint = "https://api.push.apple.com?x=1" }, "Endpoint"},
		{"endpoint with a user", func(o *apns.Options) { o.Endpoint = "https://u:p@api.push.apple.com" }, "Endpoint"},
		{"no key", func(o *apns.Options) { o.Key = nil }, "Key"},
		{"P-384 key", func(o *apns.Options) { o.Key = p384 }, "Key"},
		{"short key id", func(o *apns.Options) { o.KeyID = "ABC123" }, "KeyID"},
		{"key id with a space", func(o *apns.Options) { o.KeyID = "ABC 123DEF" }, "KeyID"},
		{"long team id", func(o *apns.Options) { o.TeamID = "ABCDEFGHIJK" }, "TeamID"},
		{"no team id", func(o *apns.Options) { o.TeamID = "" }, "TeamID"},
		{"no topic", func(o *apns.Options) { o.Topic = "" }, "Topic"},
		{"topic with a newline", func(o *apns.Options) { o.Topic = "org.example\nX: y" }, "Topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := apns.Options{Endpoint: srv.URL, Key: srv.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
			tt.mutate(&o)
			c, err := apns.New(apns.Deps{}, o)
			var oe *apns.OptionError
			if !errors.As(err, &oe) || oe.Option != tt.option {
				t.Fatalf("New: %v, %v; want an OptionError for %s", c, err, tt.option)
			}
		})
	}
	for _, endpoint := range []string{"", apns.DevelopmentEndpoint, apns.DefaultEndpoint + "/", "https://127.0.0.1:2197"} {
		o := apns.Options{Endpoint: endpoint, Key: srv.Key(), KeyID: apnstest.KeyID, TeamID: apnstest.TeamID, Topic: apnstest.Topic}
		if _, err := apns.New(apns.Deps{}, o); err != nil {
			t.Errorf("endpoint %q: %v", endpoint, err)
		}
	}
}
