package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Message encryption for Web Push (RFC 8291) in the aes128gcm content
// coding (RFC 8188), with the standard library only.
//
// Every message gets a fresh ephemeral P-256 key pair and a fresh 16-byte
// salt (RFC 8291 section 3.1, RFC 8188 section 2.1). The body is one
// record: the 86-byte header (salt, rs, idlen 65, the ephemeral public key
// as keyid), then the plaintext, the last-record delimiter 0x02 and zero
// padding, sealed with AES-128-GCM. As webpush-go did with the same
// RecordSize, the padding makes every body exactly recordSize bytes long and
// rs is recordSize, so the length says nothing about the content.

const (
	saltLen   = 16
	keyLen    = 65 // an uncompressed P-256 point
	authLen   = 16 // the subscription's auth secret
	tagLen    = 16 // AES-GCM
	headerLen = saltLen + 4 + 1 + keyLen

	// maxPlaintext is the most a body of recordSize bytes carries: the
	// record holds the plaintext, the delimiter and the tag.
	maxPlaintext = recordSize - headerLen - tagLen - 1
)

// errBadKeys is wrapped by every error about a subscription's p256dh or
// auth: no request can be encrypted for it.
var errBadKeys = errors.New("bad push subscription keys")

// subKeys are a subscription's keys as encryption uses them, decoded once
// when the subscription enters the index. They are never modified.
type subKeys struct {
	ua   *ecdh.PublicKey // the user agent's public key (p256dh)
	auth [authLen]byte   // the auth secret
}

// parseSubKeys decodes a subscription's base64url p256dh (a 65-byte
// uncompressed P-256 point) and auth (16 bytes). The error says which key is
// wrong and why, never its value.
func parseSubKeys(p256dh, auth string) (*subKeys, error) {
	p, err := decodeB64(p256dh)
	if err != nil {
		return nil, fmt.Errorf("%w: p256dh is not base64url", errBadKeys)
	}
	if len(p) != keyLen || p[0] != 4 {
		return nil, fmt.Errorf("%w: p256dh is %d bytes, want a %d-byte uncompressed P-256 point", errBadKeys, len(p), keyLen)
	}
	ua, err := ecdh.P256().NewPublicKey(p)
	if err != nil {
		return nil, fmt.Errorf("%w: p256dh is not a point on P-256", errBadKeys)
	}
	a, err := decodeB64(auth)
	if err != nil {
		return nil, fmt.Errorf("%w: auth is not base64url", errBadKeys)
	}
	if len(a) != authLen {
		return nil, fmt.Errorf("%w: auth is %d bytes, want %d", errBadKeys, len(a), authLen)
	}
	k := &subKeys{ua: ua}
	copy(k.auth[:], a)
	return k, nil
}

// encrypt returns the body of a push message carrying plaintext: a new
// slice of recordSize bytes, encrypted with a fresh key pair and salt.
func (k *subKeys) encrypt(plaintext []byte) ([]byte, error) {
	if len(plaintext) > maxPlaintext {
		return nil, fmt.Errorf("push payload of %d bytes: over the %d that fit one record", len(plaintext), maxPlaintext)
	}
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var salt [saltLen]byte
	_, _ = rand.Read(salt[:]) // never fails (crypto/rand, Go 1.24)
	body := make([]byte, recordSize)
	if err := k.seal(body, eph, salt[:], recordSize, plaintext); err != nil {
		return nil, err
	}
	return body, nil
}

// seal writes the whole message into body, whose length decides the
// padding: the record is body[headerLen:], plaintext, 0x02, zeros and the
// tag. eph and salt must be fresh for every message; tests pass RFC 8291's.
func (k *subKeys) seal(body []byte, eph *ecdh.PrivateKey, salt []byte, rs uint32, plaintext []byte) error {
	// RFC 8188 section 2: rs is at least 18 and the record no longer than rs.
	if len(salt) != saltLen || rs < tagLen+2 || len(body) < headerLen+len(plaintext)+1+tagLen || uint64(len(body)-headerLen) > uint64(rs) {
		return errors.New("push encryption: body, salt or record size does not fit")
	}
	ecdhSecret, err := eph.ECDH(k.ua)
	if err != nil {
		return fmt.Errorf("push encryption: %w", err)
	}
	asPub := eph.PublicKey().Bytes()

	// The header (RFC 8188 section 2.1), keyid = as_public (RFC 8291 section 4).
	copy(body, salt)
	binary.BigEndian.PutUint32(body[saltLen:], rs)
	body[saltLen+4] = keyLen
	copy(body[saltLen+5:headerLen], asPub)

	// RFC 8291 section 3.4 and RFC 8188 section 2.2 and 2.3; every output is
	// at most one SHA-256 block, so HKDF-Expand is a single HMAC with the
	// counter byte 0x01 after the info:
	//   PRK_key = HMAC(auth_secret, ecdh_secret)
	//   IKM     = HMAC(PRK_key, "WebPush: info" || 0x00 || ua_public || as_public || 0x01)
	//   PRK     = HMAC(salt, IKM)
	//   CEK     = HMAC(PRK, "Content-Encoding: aes128gcm" || 0x00 || 0x01)[:16]
	//   NONCE   = HMAC(PRK, "Content-Encoding: nonce" || 0x00 || 0x01)[:12]
	var info [len(infoPrefix) + 2*keyLen + 1]byte
	n := copy(info[:], infoPrefix)
	n += copy(info[n:], k.ua.Bytes())
	n += copy(info[n:], asPub)
	info[n] = 1
	prkKey := hmacSHA256(k.auth[:], ecdhSecret)
	ikm := hmacSHA256(prkKey[:], info[:])
	prk := hmacSHA256(salt, ikm[:])
	cek := hmacSHA256(prk[:], cekInfo)
	nonce := hmacSHA256(prk[:], nonceInfo)

	block, err := aes.NewCipher(cek[:16])
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	// RFC 8188 section 2: data, the delimiter of the last record, padding.
	record := body[headerLen : len(body)-tagLen]
	n = copy(record, plaintext)
	record[n] = 0x02
	clear(record[n+1:])
	gcm.Seal(record[:0], nonce[:12], record, nil)
	return nil
}

const infoPrefix = "WebPush: info\x00"

var (
	cekInfo   = []byte("Content-Encoding: aes128gcm\x00\x01")
	nonceInfo = []byte("Content-Encoding: nonce\x00\x01")
)

// hmacSHA256 is HMAC-SHA-256 (RFC 2104) for a key of at most 64 bytes and
// a message of at most maxHMACMsg bytes, computed in stack buffers: the
// five HMACs of a message cost no allocation.
func hmacSHA256(key, msg []byte) [sha256.Size]byte {
	if len(key) > sha256.BlockSize || len(msg) > maxHMACMsg {
		panic("push: hmacSHA256 key or message too long")
	}
	var in [sha256.BlockSize + maxHMACMsg]byte
	copy(in[:], key)
	for i := range sha256.BlockSize {
		in[i] ^= 0x36
	}
	copy(in[sha256.BlockSize:], msg)
	inner := sha256.Sum256(in[:sha256.BlockSize+len(msg)])
	var out [sha256.BlockSize + sha256.Size]byte
	copy(out[:], key)
	for i := range sha256.BlockSize {
		out[i] ^= 0x5c
	}
	copy(out[sha256.BlockSize:], inner[:])
	return sha256.Sum256(out[:])
}

// maxHMACMsg is the longest HMAC message above: the IKM info.
const maxHMACMsg = len(infoPrefix) + 2*keyLen + 1
