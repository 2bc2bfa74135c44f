package fcm

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
)

// Credentials are a Google service account's, from the JSON key file the
// Firebase console hands out. They print without the private key.
type Credentials struct {
	// ProjectID is the Firebase project messages are sent for.
	ProjectID string
	// ClientEmail is the service account: the issuer of the signed
	// assertion.
	ClientEmail string
	// PrivateKeyID names the key (the assertion's kid); may be empty.
	PrivateKeyID string
	// TokenURI is where access tokens are asked for (an https URL).
	TokenURI string

	keyPEM []byte // the private_key field, PEM
	key    *rsa.PrivateKey
}

// serviceAccount is the key file's JSON; the fields not listed here
// (client_id, auth_uri, …) are not needed and ignored.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// LoadCredentials reads a service-account JSON key file. A missing or bad
// field is an error naming it; the caller adds the flag's name.
func LoadCredentials(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read service-account file: %w", err)
	}
	c, err := ParseCredentials(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCredentials is LoadCredentials for the file's content.
func ParseCredentials(data []byte) (*Credentials, error) {
	var sa serviceAccount
	if err := json.Unmarshal(data, &sa); err != nil {
		return nil, fmt.Errorf("not a service-account JSON file: %w", err)
	}
	if sa.Type != "service_account" {
		return nil, fieldError("type", fmt.Sprintf("is %q, want \"service_account\"", sa.Type))
	}
	if strings.TrimSpace(sa.ProjectID) == "" {
		return nil, fieldError("project_id", "is missing")
	}
	if strings.ContainsAny(sa.ProjectID, "/?#% ") {
		return nil, fieldError("project_id", fmt.Sprintf("%q is not a project id", sa.ProjectID))
	}
	if strings.TrimSpace(sa.ClientEmail) == "" {
		return nil, fieldError("client_email", "is missing")
	}
	if !strings.Contains(sa.ClientEmail, "@") {
		return nil, fieldError("client_email", fmt.Sprintf("%q is not an e-mail address", sa.ClientEmail))
	}
	if sa.PrivateKey == "" {
		return nil, fieldError("private_key", "is missing")
	}
	key, err := parseKey([]byte(sa.PrivateKey))
	if err != nil {
		return nil, fieldError("private_key", err.Error())
	}
	if sa.TokenURI == "" {
		return nil, fieldError("token_uri", "is missing")
	}
	if err := checkHTTPS(sa.TokenURI); err != nil {
		return nil, fieldError("token_uri", err.Error())
	}
	return &Credentials{ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail, PrivateKeyID: sa.PrivateKeyID,
		TokenURI: sa.TokenURI, keyPEM: []byte(sa.PrivateKey), key: key}, nil
}

func fieldError(field, msg string) error {
	return fmt.Errorf("field %s %s", field, msg)
}

// parseKey reads an RSA private key in PEM, PKCS #8 (what Google issues) or
// PKCS #1. It never puts the key in its error.
func parseKey(p []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("is not a PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("is a %T, want an RSA key", k)
		}
		return rk, nil
	}
	rk, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("is not an RSA private key in PKCS #8 or PKCS #1")
	}
	return rk, nil
}

// checkHTTPS accepts an absolute https URL with a host, and no user
// information or fragment.
func checkHTTPS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute https URL", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q has user information or a fragment", raw)
	}
	return nil
}

// String names the account without its key.
func (c Credentials) String() string {
	return fmt.Sprintf("service account %s of project %s", c.ClientEmail, c.ProjectID)
}

// Format keeps every verb (%+v, %#v included) from printing the key.
func (c Credentials) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue keeps slog from printing the key.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }
