package live

import (
	"net/http"

	"newsflash/internal/httperr"
	"newsflash/internal/limit"
)

// Readers past the limits are refused before the upgrade, with a JSON error
// and Retry-After: a load balancer sends a refused reader elsewhere, and
// readers already connected are never dropped to make room.
var (
	errFull = &httperr.Error{Status: http.StatusServiceUnavailable, Code: "server_full",
		Message: "this server has as many readers as it takes; try again shortly", RetryAfter: "5"}
	errTooManyReaders = &httperr.Error{Status: http.StatusTooManyRequests, Code: "too_many_readers",
		Message: "too many open readers from this address; close one first", RetryAfter: "30"}
)

// admit counts a new reader from addr against the instance's and the
// address's limits; the reader's unsubscribe (or release, if it never
// subscribed) gives the place back.
func (h *Hub) admit(addr string) (key string, err error) {
	key = limit.Key(addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opts.MaxReaders > 0 && h.admitted >= h.opts.MaxReaders {
		return "", errFull
	}
	if !h.perAddr.Acquire(key) {
		return "", errTooManyReaders
	}
	h.admitted++
	return key, nil
}

// release gives back a place taken by admit.
func (h *Hub) release(key string) {
	h.mu.Lock()
	h.admitted--
	h.mu.Unlock()
	h.perAddr.Release(key)
}
