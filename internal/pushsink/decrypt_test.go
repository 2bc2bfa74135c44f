package pushsink

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
)

// RFC 8291 section 5 and Appendix A: the user agent's keys, the auth
// secret and the message the application server sent.
const (
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	rfcPlain     = "When I grow up, I want to be a watermelon"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

func rfcKey(t *testing.T) *ecdh.PrivateKey {
	t.Helper()
	priv, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	// The appendix's ua_public must be the public half of its ua_private.
	if got := base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()); got != rfcUAPublic {
		t.Fatalf("ua_public = %s, want %s", got, rfcUAPublic)
	}
	return priv
}

func TestDecryptRFC8291AppendixA(t *testing.T) {
	body := b64(t, rfcBody)
	got, err := Decrypt(rfcKey(t), b64(t, rfcAuth), body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != rfcPlain {
		t.Fatalf("plaintext %q, want %q", got, rfcPlain)
	}
	if !bytes.Equal(body, b64(t, rfcBody)) {
		t.Fatal("Decrypt modified its input")
	}
}

func TestDecryptRefuses(t *testing.T) {
	priv := rfcKey(t)
	other, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := b64(t, rfcBody)
	flip := func(i int) []byte {
		b := bytes.Clone(body)
		b[i] ^= 1
		return b
	}
	wrongAuth := b64(t, rfcAuth)
	wrongAuth[0] ^= 1
	for _, tc := range []struct {
		name string
		priv *ecdh.PrivateKey
		auth []byte
		body []byte
	}{
		{"empty body", priv, b64(t, rfcAuth), nil},
		{"header only", priv, b64(t, rfcAuth), body[:headerLen]},
		{"wrong private key", other, b64(t, rfcAuth), body},
		{"wrong auth secret", priv, wrongAuth, body},
		{"short auth secret", priv, b64(t, rfcAuth)[:15], body},
		{"tampered salt", priv, b64(t, rfcAuth), flip(0)},
		{"tampered ciphertext", priv, b64(t, rfcAuth), flip(len(body) - 1)},
		{"idlen not 65", priv, b64(t, rfcAuth), flip(20)},
		{"record size below 18", priv, b64(t, rfcAuth), append(append(bytes.Clone(body[:16]), 0, 0, 0, 17), body[20:]...)},
		{"more than one record", priv, b64(t, rfcAuth), append(append(bytes.Clone(body[:16]), 0, 0, 0, 20), body[20:]...)},
		{"sender key not on the curve", priv, b64(t, rfcAuth), flip(40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decrypt(tc.priv, tc.auth, tc.body)
			t.Log(err)
			if !errors.Is(err, ErrDecrypt) || got != nil {
				t.Fatalf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}
