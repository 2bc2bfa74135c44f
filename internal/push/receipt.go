package push

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// A receipt is the token an alert's payload carries so that the reader's
// service worker or app can say it showed or opened the notification
// (POST /api/v1/push/receipts). It is bound to (item, platform,
// subscription) by an HMAC under a key every instance shares, and it holds
// neither the subscription id nor anything that links one reader's
// receipts of two alerts:
//
//	version (1) | item id (12, the raw bytes of its base32) | platform (1) | nonce (12) | tag (12)
//
// nonce = HMAC(key, "nonce" | item | subscription)[:12], so the same
// (item, subscription) always gets the same receipt (a job redone after a
// crash sends the same one, and dedupe counts it once), and a reader's
// nonce differs from alert to alert. tag = HMAC(key, "tag" | item |
// platform | nonce)[:12] lets any instance check a receipt without the
// subscription.
const (
	receiptVersion  = 1
	receiptIDLen    = 12
	receiptNonceLen = 12
	receiptTagLen   = 12
	receiptRawLen   = 1 + receiptIDLen + 1 + receiptNonceLen + receiptTagLen
	// receiptKeyName is the key's name in the keys bucket.
	receiptKeyName = "receipt"
)

// receiptSpace is what a receipt adds to a payload at most:
// ,"receipt":"<token>" (the token is base64url of receiptRawLen bytes).
var receiptSpace = len(`,"receipt":""`) + base64.RawURLEncoding.EncodedLen(receiptRawLen)

// itemIDEncoding is news.NewID's: base32 of 12 random bytes, lower case.
var itemIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// receiptKey signs and checks receipts; the zero key signs nothing
// (receipt returns "").
type receiptKey struct {
	k    []byte // 32 bytes, never logged
	ok   bool
	macs *sync.Pool // of keyed HMAC-SHA256 hashes: a send makes two MACs
}

// mac is the HMAC-SHA256 under k of the parts, its first n bytes written
// to out.
func (k *receiptKey) mac(out []byte, parts ...[]byte) {
	if k.macs == nil {
		m := hmac.New(sha256.New, k.k)
		for _, p := range parts {
			m.Write(p)
		}
		copy(out, m.Sum(nil))
		return
	}
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	for _, p := range parts {
		m.Write(p)
	}
	var sum [sha256.Size]byte
	copy(out, m.Sum(sum[:0]))
	k.macs.Put(m)
}

// newReceiptKey is a key of 32 bytes.
func newReceiptKey(key []byte) receiptKey {
	return receiptKey{k: key, ok: true, macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// errBadReceipt is a receipt that is malformed or not signed by the key.
var errBadReceipt = errors.New("invalid receipt")

// receipt is the token of an item's alert to a subscription on a platform,
// or "" when the item id is not news.NewID's form (no token can hold it).
func (k *receiptKey) receipt(item string, plat platform, sub string) string {
	if !k.ok {
		return ""
	}
	var raw [receiptRawLen]byte
	raw[0] = receiptVersion
	if n, err := itemIDEncoding.Decode(raw[1:1+receiptIDLen], []byte(item)); err != nil || n != receiptIDLen ||
		itemIDEncoding.EncodeToString(raw[1:1+receiptIDLen]) != item {
		return ""
	}
	raw[1+receiptIDLen] = byte(plat)
	k.mac(raw[2+receiptIDLen:2+receiptIDLen+receiptNonceLen], []byte("nonce"), raw[1:1+receiptIDLen], []byte(sub))
	k.mac(raw[2+receiptIDLen+receiptNonceLen:], []byte("tag"), raw[1:2+receiptIDLen+receiptNonceLen])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// receiptOf is what a checked receipt says.
type receiptOf struct {
	item  string
	plat  platform
	nonce [receiptNonceLen]byte
}

// check verifies a receipt: errBadReceipt unless it is well formed and its
// tag is the key's (compared in constant time).
func (k *receiptKey) check(tok string) (receiptOf, error) {
	if !k.ok || len(tok) != base64.RawURLEncoding.EncodedLen(receiptRawLen) {
		return receiptOf{}, errBadReceipt
	}
	var raw [receiptRawLen]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(tok)); err != nil || n != receiptRawLen {
		return receiptOf{}, errBadReceipt
	}
	head := raw[:2+receiptIDLen+receiptNonceLen]
	var tag [receiptTagLen]byte
	k.mac(tag[:], []byte("tag"), head[1:])
	if raw[0] != receiptVersion || !hmac.Equal(tag[:], raw[len(head):]) {
		return receiptOf{}, errBadReceipt
	}
	r := receiptOf{item: itemIDEncoding.EncodeToString(raw[1 : 1+receiptIDLen]), plat: platform(raw[1+receiptIDLen])}
	if r.plat >= numPlatforms {
		return receiptOf{}, errBadReceipt
	}
	copy(r.nonce[:], raw[2+receiptIDLen:])
	return r, nil
}

// loadReceiptKey reads the receipt key of the keys bucket, or makes it:
// Create, so the first instance's key wins and the others read it.
func loadReceiptKey(ctx context.Context, kv jetstream.KeyValue) (receiptKey, error) {
	for range 2 {
		e, err := kv.Get(ctx, receiptKeyName)
		if err == nil {
			if len(e.Value()) != 32 {
				return receiptKey{}, fmt.Errorf("receipt key: stored key of %d bytes, want 32", len(e.Value()))
			}
			return newReceiptKey(e.Value()), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return receiptKey{}, fmt.Errorf("receipt key: %w", err)
		}
		k := make([]byte, 32)
		_, _ = rand.Read(k) // never fails (crypto/rand)
		if _, err := kv.Create(ctx, receiptKeyName, k); err == nil {
			return newReceiptKey(k), nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return receiptKey{}, fmt.Errorf("receipt key: %w", err)
		}
		// Another instance made it first: read that one.
	}
	return receiptKey{}, errors.New("receipt key: made and lost twice")
}
