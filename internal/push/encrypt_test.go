package push

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"newsflash/internal/pushsink"
)

// RFC 8291 Appendix A: the application server's ephemeral key and salt,
// the user agent's keys, and the message the application server sent.
const (
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	rfcPlain     = "When I grow up, I want to be a watermelon"
)

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

// TestSealRFC8291AppendixA encrypts the RFC's example with its ephemeral
// key and salt and must give its body byte for byte.
func TestSealRFC8291AppendixA(t *testing.T) {
	keys, err := parseSubKeys(rfcUAPublic, rfcAuth)
	if err != nil {
		t.Fatal(err)
	}
	eph, err := ecdh.P256().NewPrivateKey(unb64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	want := unb64(t, rfcBody)
	body := make([]byte, headerLen+len(rfcPlain)+1+tagLen) // the example has no padding
	if err := keys.seal(body, eph, unb64(t, rfcSalt), 4096, []byte(rfcPlain)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("body\n%s\nwant\n%s", base64.RawURLEncoding.EncodeToString(body), rfcBody)
	}
	ua, err := ecdh.P256().NewPrivateKey(unb64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pushsink.Decrypt(ua, unb64(t, rfcAuth), body); err != nil || string(got) != rfcPlain {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
}

func TestHMACSHA256(t *testing.T) {
	for _, n := range [][2]int{{16, 32}, {32, 145}, {16, 0}, {64, maxHMACMsg}, {0, 1}} {
		key, msg := make([]byte, n[0]), make([]byte, n[1])
		rand.Read(key)
		rand.Read(msg)
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if got := hmacSHA256(key, msg); !bytes.Equal(got[:], m.Sum(nil)) {
			t.Fatalf("key %d bytes, message %d bytes: %x, want %x", n[0], n[1], got, m.Sum(nil))
		}
	}
}

// uaKeys is a user agent's side of a subscription.
func uaKeys(t testing.TB) (*ecdh.PrivateKey, []byte, *subKeys) {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	keys, err := parseSubKeys(encodeB64(priv.PublicKey().Bytes()), encodeB64(auth))
	if err != nil {
		t.Fatal(err)
	}
	return priv, auth, keys
}

// TestEncryptDecryptsWithPushsink opens our messages with pushsink's
// decryption, written apart from this one, for sizes up to the largest.
func TestEncryptDecryptsWithPushsink(t *testing.T) {
	priv, auth, keys := uaKeys(t)
	for _, n := range []int{0, 1, 41, 100, 1000, MaxPayload, maxPlaintext} {
		plain := make([]byte, n)
		rand.Read(plain)
		if n > 0 {
			plain[n-1] = 0 // a trailing zero must survive the unpadding
		}
		body, err := keys.encrypt(plain)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(body) != recordSize {
			t.Fatalf("%d bytes: body is %d bytes, want %d", n, len(body), recordSize)
		}
		got, err := pushsink.Decrypt(priv, auth, body)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: decrypted %d bytes that differ", n, len(got))
		}
	}
	if _, err := keys.encrypt(make([]byte, maxPlaintext+1)); err == nil {
		t.Fatalf("%d bytes encrypted; want an error", maxPlaintext+1)
	}
}

// TestEncryptFresh: the same payload twice gives two different ephemeral
// keys, salts and ciphertexts.
func TestEncryptFresh(t *testing.T) {
	_, _, keys := uaKeys(t)
	a, err := keys.encrypt([]byte(rfcPlain))
	if err != nil {
		t.Fatal(err)
	}
	b, err := keys.encrypt([]byte(rfcPlain))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case bytes.Equal(a[:saltLen], b[:saltLen]):
		t.Fatal("same salt twice")
	case bytes.Equal(a[saltLen+5:headerLen], b[saltLen+5:headerLen]):
		t.Fatal("same ephemeral key twice")
	case bytes.Equal(a[headerLen:], b[headerLen:]):
		t.Fatal("same ciphertext twice")
	}
}

func TestParseSubKeysRefuses(t *testing.T) {
	pub, offCurve, auth := keyInputs(t)
	for _, tc := range []struct {
		name, p256dh, auth, want string
	}{
		{"p256dh not base64", "BCVx!!!" + rfcUAPublic[7:], auth, "p256dh is not base64url"},
		{"p256dh short", encodeB64(pub[:64]), auth, "p256dh is 64 bytes"},
		{"p256dh compressed", encodeB64(append([]byte{2}, pub[1:33]...)), auth, "p256dh is 33 bytes"},
		{"p256dh not uncompressed", encodeB64(append([]byte{5}, pub[1:]...)), auth, "want a 65-byte uncompressed"},
		{"p256dh off the curve", encodeB64(offCurve), auth, "not a point on P-256"},
		{"auth not base64", encodeB64(pub), "abc$def", "auth is not base64url"},
		{"auth short", encodeB64(pub), encodeB64(make([]byte, 15)), "auth is 15 bytes, want 16"},
		{"auth empty", encodeB64(pub), "", "auth is 0 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := parseSubKeys(tc.p256dh, tc.auth)
			if k != nil || !errors.Is(err, errBadKeys) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseSubKeys = %v, %v; want errBadKeys saying %q", k, err, tc.want)
			}
		})
	}
}

// keyInputs are a valid subscription public key, the same point moved off
// the curve, and a valid auth secret (base64url), for tests of bad keys.
func keyInputs(t *testing.T) (pub, offCurve []byte, auth string) {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub = priv.PublicKey().Bytes()
	offCurve = bytes.Clone(pub)
	offCurve[64] ^= 1
	return pub, offCurve, encodeB64(make([]byte, 16))
}
