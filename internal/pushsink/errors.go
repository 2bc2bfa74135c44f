package pushsink

import "errors"

// Why a request was refused. Message.Err wraps one of these (or, rarely, is
// the error reading the body); test with errors.Is.
var (
	// ErrUnknownSubscription: the path names no subscription (404).
	ErrUnknownSubscription = errors.New("pushsink: unknown subscription")
	// ErrGone: the subscription was ended with Gone (410).
	ErrGone = errors.New("pushsink: subscription gone")
	// ErrMethod: the request was not a POST (405).
	ErrMethod = errors.New("pushsink: method not allowed")
	// ErrHeader: Content-Encoding, TTL, Topic or Urgency is missing or
	// malformed (400).
	ErrHeader = errors.New("pushsink: bad push header")
	// ErrTooLarge: the body is over Options.MaxBodyBytes (413).
	ErrTooLarge = errors.New("pushsink: body too large")
	// ErrNoVAPID: there is no Authorization header with the vapid scheme
	// (401).
	ErrNoVAPID = errors.New("pushsink: no vapid authorization")
	// ErrVAPID: the vapid authorization is present but invalid: malformed,
	// bad signature, wrong aud, exp or sub, or a k= other than
	// Options.VAPIDPublicKey (403, as RFC 8292 section 4.2 suggests).
	ErrVAPID = errors.New("pushsink: invalid vapid authorization")
	// ErrDecrypt: the body is not an RFC 8291 message for this
	// subscription's keys (400).
	ErrDecrypt = errors.New("pushsink: cannot decrypt")
)
