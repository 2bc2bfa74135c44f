package pushsink

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Subscription is what a browser's PushSubscription.toJSON() gives: the
// endpoint and the keys, base64url without padding.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// ID is the subscription id: the last path segment of the endpoint, as in
// Message.SubID.
func (s Subscription) ID() string {
	id, _ := pushID(s.Endpoint)
	return id
}

// Message is one request the sink received for a subscription id.
type Message struct {
	SubID   string // the id in the endpoint path
	Payload []byte // decrypted plaintext (nil if Err); shared, do not modify
	// TTL, Topic and Urgency are the request headers as received.
	TTL, Topic, Urgency string
	// VAPIDSub, VAPIDAud and VAPIDExp are the verified VAPID claims.
	VAPIDSub, VAPIDAud string
	VAPIDExp           time.Time
	Err                error // why the request was refused, nil if accepted
	Status             int   // the status the sink answered
	At                 time.Time
}

// Response is a scripted answer to an accepted request (see Respond).
type Response struct {
	Status     int           // 0 means 201 Created
	RetryAfter string        // Retry-After header, if not empty
	Delay      time.Duration // wait this long before answering, or until the request's context ends
}

// Options configures a Sink. The zero value is a sink that checks and
// decrypts everything, accepts any VAPID key and uses the wall clock.
type Options struct {
	// VAPIDPublicKey, if set (base64url uncompressed point), must equal the
	// k= in every Authorization header; another key is refused with 403.
	// Default: any key. New panics if it is not a P-256 point.
	VAPIDPublicKey string
	// DecryptSample: decrypt and verify only 1 request in N, counted over
	// all subscriptions, the first one included (0 or 1 = every request);
	// for load tests, where one item to 100,000 subscriptions must not
	// cost the sink 100,000 decryptions. Requests
	// that are not decrypted still have their headers, body size and
	// Authorization form (and k, with VAPIDPublicKey) checked, and when
	// accepted they are counted (Count, Accepted, Wait) but not kept in
	// Messages, so memory stays flat under load.
	DecryptSample int
	// MaxBodyBytes is the largest body accepted; larger bodies are refused
	// with 413. Default 4096, the size RFC 8030 and RFC 8291 require a push
	// service to carry (webpush-go's default record size fills it exactly).
	MaxBodyBytes int
	// Now is the clock for VAPID exp and Message.At. Default time.Now.
	Now func() time.Time
}

// Sink is a local Web Push service. It is an http.Handler: mount it at any
// base URL and pass that URL to Subscribe.
type Sink struct {
	// Set at construction.
	vapidKey []byte // decoded Options.VAPIDPublicKey, nil for any
	sample   int
	maxBody  int
	now      func() time.Time
	bufs     sync.Pool  // *[]byte of cap maxBody+1, for bodies being decrypted
	vapid    vapidCache // verified VAPID tokens; its own lock

	mu       sync.Mutex
	subs     map[string]*subscription // guarded by mu
	strays   map[string][]Message     // requests to unknown ids; guarded by mu
	accepted int                      // guarded by mu
	refused  int                      // guarded by mu
	seen     int                      // requests that reached the checks, for DecryptSample; guarded by mu
	notify   chan struct{}            // closed on the next accept, if a Wait needs it; guarded by mu
}

// subscription is the sink's side of one Subscription.
type subscription struct {
	// Set at construction.
	priv *ecdh.PrivateKey
	auth []byte

	// Guarded by Sink.mu.
	gone     bool
	queue    []Response
	msgs     []Message
	accepted int
}

// New returns a Sink with no subscriptions.
func New(opts Options) *Sink {
	s := &Sink{
		sample:  max(opts.DecryptSample, 1),
		maxBody: opts.MaxBodyBytes,
		now:     opts.Now,
		subs:    make(map[string]*subscription),
		strays:  make(map[string][]Message),
	}
	if opts.VAPIDPublicKey != "" {
		k, err := decodeB64URL(opts.VAPIDPublicKey)
		if err == nil {
			_, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k)
		}
		if err != nil {
			panic(fmt.Sprintf("pushsink: Options.VAPIDPublicKey is not a base64url uncompressed P-256 point: %v", err))
		}
		s.vapidKey = k
	}
	if s.maxBody <= 0 {
		s.maxBody = 4096
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.bufs.New = func() any {
		b := make([]byte, s.maxBody+1)
		return &b
	}
	return s
}

// Subscribe makes a subscription as a browser would: a fresh P-256 key pair
// and 16-byte auth secret, and the endpoint baseURL + "/push/" + a random
// id. The sink keeps the private key to decrypt what is pushed to it.
func (s *Sink) Subscribe(baseURL string) (Subscription, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Subscription{}, fmt.Errorf("pushsink: base URL %q is not an absolute http(s) URL", baseURL)
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return Subscription{}, fmt.Errorf("pushsink: generate key: %w", err)
	}
	auth := make([]byte, authLen)
	rand.Read(auth)
	idb := make([]byte, 16)
	rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)

	s.mu.Lock()
	s.subs[id] = &subscription{priv: priv, auth: auth}
	s.mu.Unlock()

	var sub Subscription
	sub.Endpoint = strings.TrimRight(baseURL, "/") + "/push/" + id
	sub.Keys.P256dh = base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes())
	sub.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	return sub, nil
}

// Respond queues answers for the next accepted requests to subID, in
// order; once they are used up the answer is 201 Created again. Refused
// requests do not use them. It panics if subID is unknown.
func (s *Sink) Respond(subID string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.mustSub(subID)
	sub.queue = append(sub.queue, rs...)
}

// Gone ends subID as a user unsubscribing would: every later request to it
// is refused with 410 Gone. It panics if subID is unknown.
func (s *Sink) Gone(subID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSub(subID).gone = true
}

// Messages returns a copy of what subID received, accepted and refused, in
// the order the sink finished checking them (arrival order for one sender
// at a time). Accepted requests skipped by Options.DecryptSample are not
// kept. An id the sink never issued gives the requests refused with 404.
func (s *Sink) Messages(subID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subs[subID]; sub != nil {
		return slices.Clone(sub.msgs)
	}
	return slices.Clone(s.strays[subID])
}

// Count returns how many requests the sink accepted and refused, over all
// subscriptions.
func (s *Sink) Count() (accepted, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.refused
}

// Accepted returns how many requests to subID were accepted, including
// those DecryptSample did not decrypt.
func (s *Sink) Accepted(subID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subs[subID]; sub != nil {
		return sub.accepted
	}
	return 0
}

// Wait blocks until at least accepted requests have been accepted over all
// subscriptions, or ctx ends; then it returns an error wrapping ctx.Err().
// An accepted request counts as soon as it is checked, before any Delay.
func (s *Sink) Wait(ctx context.Context, accepted int) error {
	for {
		s.mu.Lock()
		got := s.accepted
		if got >= accepted {
			s.mu.Unlock()
			return nil
		}
		if s.notify == nil {
			s.notify = make(chan struct{})
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("pushsink: %d of %d accepted requests: %w", got, accepted, ctx.Err())
		}
	}
}

// mustSub returns subID's subscription. s.mu must be held.
func (s *Sink) mustSub(subID string) *subscription {
	sub := s.subs[subID]
	if sub == nil {
		panic(fmt.Sprintf("pushsink: unknown subscription %q", subID))
	}
	return sub
}
