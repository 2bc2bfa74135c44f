package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIdentityGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadIdentity(IdentityConfig{DataDir: dir, Subject: "mailto:ops@newsroom.example"})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "vapid.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	b, err := LoadIdentity(IdentityConfig{DataDir: dir, Subject: "mailto:ops@newsroom.example"})
	if err != nil || b.PublicKey != a.PublicKey {
		t.Fatalf("second start has another key: %v", err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(a.PublicKey)
	if len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("public key is not an uncompressed point: %d bytes", len(raw))
	}
}

func TestIdentityConfigErrors(t *testing.T) {
	priv, pub, _ := GenerateKeys()
	_, otherPub, _ := GenerateKeys()
	keyFile := filepath.Join(t.TempDir(), "k.json")
	os.WriteFile(keyFile, []byte(`{"public_key":"`+pub+`","private_key":"`+priv+`"}`), 0o600)
	cases := []struct {
		name string
		cfg  IdentityConfig
		want string // "" = ok
	}{
		{"both keys", IdentityConfig{PublicKey: pub, PrivateKey: priv, Subject: "mailto:a@b.example"}, ""},
		{"key file", IdentityConfig{KeyFile: keyFile, Subject: "https://news.example/contact"}, ""},
		{"one key only", IdentityConfig{PublicKey: pub, Subject: "mailto:a@b.example"}, "both"},
		{"keys of two pairs", IdentityConfig{PublicKey: otherPub, PrivateKey: priv, Subject: "mailto:a@b.example"}, "does not belong"},
		{"bad private key", IdentityConfig{PublicKey: pub, PrivateKey: "abc", Subject: "mailto:a@b.example"}, "32 bytes"},
		{"missing key file", IdentityConfig{KeyFile: keyFile + ".no", Subject: "mailto:a@b.example"}, "key file"},
		{"empty subject", IdentityConfig{PublicKey: pub, PrivateKey: priv}, "required"},
		{"mailto localhost", IdentityConfig{PublicKey: pub, PrivateKey: priv, Subject: "mailto:root@localhost"}, "localhost"},
		{"doubled mailto", IdentityConfig{PublicKey: pub, PrivateKey: priv, Subject: "mailto:mailto:a@b.example"}, "valid"},
		{"http subject", IdentityConfig{PublicKey: pub, PrivateKey: priv, Subject: "http://news.example"}, "mailto: or https:"},
		{"bare address", IdentityConfig{PublicKey: pub, PrivateKey: priv, Subject: "a@b.example"}, "mailto: or https:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadIdentity(tc.cfg)
			if tc.want == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestVAPIDHeader verifies the JWT as a push service does, and that it is
// signed once per origin and reused.
func TestVAPIDHeader(t *testing.T) {
	id, err := LoadIdentity(IdentityConfig{DataDir: t.TempDir(), Subject: "mailto:ops@newsroom.example"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	h, err := id.Header("https://fcm.googleapis.com", now)
	if err != nil {
		t.Fatal(err)
	}
	tok, k, ok := strings.Cut(strings.TrimPrefix(h, "vapid t="), ", k=")
	if !ok || k != id.PublicKey {
		t.Fatalf("header %q", h)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("jwt %q", tok)
	}
	claims := map[string]any{}
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(cb, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["aud"] != "https://fcm.googleapis.com" || claims["sub"] != "mailto:ops@newsroom.example" ||
		int64(claims["exp"].(float64)) != now.Add(12*time.Hour).Unix() {
		t.Fatalf("claims %v", claims)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(k)
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(key, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("signature does not verify")
	}
	// Reused within its life, renewed near the end, separate per origin.
	if again, _ := id.Header("https://fcm.googleapis.com", now.Add(10*time.Hour)); again != h {
		t.Error("header not reused within its life")
	}
	if renewed, _ := id.Header("https://fcm.googleapis.com", now.Add(11*time.Hour+30*time.Minute)); renewed == h {
		t.Error("header not renewed in its last hour")
	}
	if other, _ := id.Header("https://web.push.apple.com", now); other == h {
		t.Error("one header for two origins")
	}
	if id.Subscriber() != "ops@newsroom.example" {
		t.Errorf("webpush-go subscriber %q: it adds mailto: itself", id.Subscriber())
	}
}
