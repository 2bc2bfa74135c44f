package pushsink

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// The RFC 8188 header of a Web Push message (RFC 8291 section 4): salt,
// record size, key id length and key id, which is the application server's
// uncompressed P-256 public key.
const (
	saltLen   = 16
	keyIDLen  = 65
	headerLen = saltLen + 4 + 1 + keyIDLen
	tagLen    = 16
	authLen   = 16
)

// Decrypt opens an RFC 8291 Web Push message as the user agent does: body
// is the aes128gcm content coding (RFC 8188) of one record, priv and
// authSecret are the subscription's P-256 private key and 16-byte auth
// secret. It returns the plaintext with the padding removed. Every failure
// wraps ErrDecrypt.
func Decrypt(priv *ecdh.PrivateKey, authSecret, body []byte) ([]byte, error) {
	return decrypt(priv, authSecret, body, false)
}

// decrypt is Decrypt; with inPlace it decrypts over body's ciphertext and
// returns a slice of body, which saves an allocation on the hot path.
func decrypt(priv *ecdh.PrivateKey, authSecret, body []byte, inPlace bool) ([]byte, error) {
	if priv == nil || priv.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: need a P-256 private key", ErrDecrypt)
	}
	if len(authSecret) != authLen {
		return nil, fmt.Errorf("%w: auth secret is %d bytes, want %d", ErrDecrypt, len(authSecret), authLen)
	}
	if len(body) < saltLen+5 {
		return nil, fmt.Errorf("%w: body of %d bytes is shorter than the content-coding header", ErrDecrypt, len(body))
	}
	salt := body[:saltLen]
	rs := binary.BigEndian.Uint32(body[saltLen:])
	if idlen := int(body[saltLen+4]); idlen != keyIDLen {
		return nil, fmt.Errorf("%w: keyid is %d bytes, want the %d-byte sender public key", ErrDecrypt, idlen, keyIDLen)
	}
	if rs < tagLen+2 {
		return nil, fmt.Errorf("%w: record size %d is below the minimum of %d", ErrDecrypt, rs, tagLen+2)
	}
	if len(body) < headerLen+tagLen+1 {
		return nil, fmt.Errorf("%w: body of %d bytes has no room for a record", ErrDecrypt, len(body))
	}
	keyID, ct := body[saltLen+5:headerLen], body[headerLen:]
	if uint64(len(ct)) > uint64(rs) {
		// RFC 8291 section 4: a push message is a single record.
		return nil, fmt.Errorf("%w: %d bytes of records with record size %d: more than one record", ErrDecrypt, len(ct), rs)
	}

	asPub, err := ecdh.P256().NewPublicKey(keyID)
	if err != nil {
		return nil, fmt.Errorf("%w: sender public key: %v", ErrDecrypt, err)
	}
	ecdhSecret, err := priv.ECDH(asPub)
	if err != nil {
		return nil, fmt.Errorf("%w: ecdh: %v", ErrDecrypt, err)
	}

	// RFC 8291 section 3.4:
	//   PRK_key = HKDF-Extract(salt=auth_secret, IKM=ecdh_secret)
	//   IKM = HKDF-Expand(PRK_key, "WebPush: info" || 0x00 || ua_public || as_public, 32)
	// then RFC 8188 section 2.2 and 2.3 with the message's salt:
	//   PRK = HKDF-Extract(salt, IKM)
	//   CEK = HKDF-Expand(PRK, "Content-Encoding: aes128gcm" || 0x00, 16)
	//   NONCE = HKDF-Expand(PRK, "Content-Encoding: nonce" || 0x00, 12) XOR SEQ, SEQ = 0
	uaPub := priv.PublicKey().Bytes()
	prkKey, err := hkdf.Extract(sha256.New, ecdhSecret, authSecret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, "WebPush: info\x00"+string(uaPub)+string(keyID), 32)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	var dst []byte
	if inPlace {
		dst = ct[:0]
	}
	p, err := gcm.Open(dst, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: record does not authenticate (wrong keys or tampered body)", ErrDecrypt)
	}

	// RFC 8188 section 2: the plaintext is data || delimiter || zero
	// padding, and the delimiter of the last (here: only) record is 0x02.
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		return nil, fmt.Errorf("%w: record has no padding delimiter", ErrDecrypt)
	}
	if p[i] != 0x02 {
		return nil, fmt.Errorf("%w: padding delimiter is %#02x, want 0x02 for the last record", ErrDecrypt, p[i])
	}
	return p[:i:i], nil
}
