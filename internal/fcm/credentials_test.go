package fcm_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"newsflash/internal/fcm"
)

// TestLoadCredentials checks the key file fields, each bad one an error
// that names it.
func TestLoadCredentials(t *testing.T) {
	s := standIn(t)
	var good map[string]any
	if err := json.Unmarshal(s.CredentialsJSON(), &good); err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	cases := []struct {
		name  string
		field string
		value any // nil: remove the field
		want  string
	}{
		{"type missing", "type", nil, "field type"},
		{"type user", "type", "authorized_user", "field type"},
		{"project_id missing", "project_id", nil, "field project_id is missing"},
		{"project_id blank", "project_id", "  ", "field project_id is missing"},
		{"project_id with a slash", "project_id", "a/b", "field project_id"},
		{"project_id a number", "project_id", 7, "not a service-account JSON file"},
		{"client_email missing", "client_email", nil, "field client_email is missing"},
		{"client_email not an address", "client_email", "newsflash", "field client_email"},
		{"private_key missing", "private_key", nil, "field private_key is missing"},
		{"private_key not PEM", "private_key", "MIIEv...", "field private_key is not a PEM block"},
		{"private_key garbage PEM", "private_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "field private_key is not an RSA private key"},
		{"private_key EC", "private_key", ecPEM, "field private_key is a *ecdsa.PrivateKey"},
		{"token_uri missing", "token_uri", nil, "field token_uri is missing"},
		{"token_uri http", "token_uri", "http://oauth2.googleapis.com/token", "field token_uri"},
		{"token_uri relative", "token_uri", "/token", "field token_uri"},
		{"token_uri with user", "token_uri", "https://u:p@oauth2.googleapis.com/token", "field token_uri"},
	}
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			if tc.value == nil {
				delete(m, tc.field)
			} else {
				m[tc.field] = tc.value
			}
			b, _ := json.Marshal(m)
			path := filepath.Join(dir, fmt.Sprintf("sa%d.json", i))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := fcm.LoadCredentials(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadCredentials = %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "MII") {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		os.WriteFile(path, []byte("project_id: x"), 0o600)
		if _, err := fcm.LoadCredentials(path); err == nil || !strings.Contains(err.Error(), "not a service-account JSON file") {
			t.Errorf("LoadCredentials = %v", err)
		}
	})
	t.Run("no file", func(t *testing.T) {
		if _, err := fcm.LoadCredentials(filepath.Join(dir, "absent.json")); err == nil || !strings.Contains(err.Error(), "read service-account file") {
			t.Errorf("LoadCredentials = %v", err)
		}
	})
	t.Run("PKCS #1 key", func(t *testing.T) {
		block, _ := pem.Decode([]byte(good["private_key"].(string)))
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for f, v := range good {
			m[f] = v
		}
		m["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}))
		b, _ := json.Marshal(m)
		if _, err := fcm.ParseCredentials(b); err != nil {
			t.Errorf("ParseCredentials: %v", err)
		}
	})
	t.Run("good", func(t *testing.T) {
		path, err := s.CredentialsFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		c, err := fcm.LoadCredentials(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.ProjectID != s.ProjectID() || c.TokenURI != s.TokenURI() || c.ClientEmail == "" || c.PrivateKeyID == "" {
			t.Errorf("credentials = %s %+v", c.ProjectID, c)
		}
	})
}

// TestCredentialsNeverPrintKey prints credentials every way a log line
// might, and looks for the key.
func TestCredentialsNeverPrintKey(t *testing.T) {
	s := standIn(t)
	c := s.Credentials()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("loaded", "credentials", c, "value", *c)
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&buf, f+"\n", c)
		fmt.Fprintf(&buf, f+"\n", *c)
	}
	out := buf.String()
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "MII") || strings.Contains(out, "keyPEM") {
		t.Errorf("the key was printed:\n%s", out)
	}
	if !strings.Contains(out, c.ClientEmail) {
		t.Errorf("credentials print without their account:\n%s", out)
	}
}
