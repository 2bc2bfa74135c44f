package pushsink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var _ http.Handler = (*Sink)(nil)

// ServeHTTP takes a push: POST <base>/push/<id>. The checks run in this
// order, and the first that fails decides the answer: the path names an
// issued id (404) and the method is POST (405); the subscription is not
// Gone (410); Content-Encoding is aes128gcm, TTL a non-negative integer,
// Topic (if any) at most 32 base64url characters and Urgency (if any) one
// of RFC 8030's four (400); the body fits Options.MaxBodyBytes (413); the
// VAPID Authorization is present (401) and valid, with aud this request's
// origin (403); the body decrypts with the subscription's keys (400). An
// accepted request is answered with the next queued Response, else 201
// Created with a Location.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer r.Body.Close()
	at := s.now()
	id, ok := pushID(r.URL.Path)
	if !ok {
		drain(r.Body)
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		http.Error(w, ErrUnknownSubscription.Error(), http.StatusNotFound)
		return
	}
	m := Message{
		SubID:   id,
		TTL:     r.Header.Get("TTL"),
		Topic:   r.Header.Get("Topic"),
		Urgency: r.Header.Get("Urgency"),
		At:      at,
	}
	if r.Method != http.MethodPost {
		drain(r.Body)
		w.Header().Set("Allow", http.MethodPost)
		s.refuse(w, nil, &m, http.StatusMethodNotAllowed, fmt.Errorf("%w: %s", ErrMethod, r.Method))
		return
	}

	s.mu.Lock()
	sub := s.subs[id]
	var gone bool
	var n int
	if sub != nil {
		gone, n = sub.gone, s.seen
		if !gone {
			s.seen++
		}
	}
	s.mu.Unlock()
	switch {
	case sub == nil:
		drain(r.Body)
		s.refuse(w, nil, &m, http.StatusNotFound, ErrUnknownSubscription)
		return
	case gone:
		drain(r.Body)
		s.refuse(w, sub, &m, http.StatusGone, ErrGone)
		return
	}
	if err := checkHeaders(r.Header); err != nil {
		drain(r.Body)
		s.refuse(w, sub, &m, http.StatusBadRequest, err)
		return
	}

	inspect := n%s.sample == 0
	if !inspect {
		// The load-test path: no crypto, nothing kept but the counts.
		size, err := io.Copy(io.Discard, io.LimitReader(r.Body, int64(s.maxBody)+1))
		if err != nil {
			s.refuse(w, sub, &m, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
			return
		}
		if size > int64(s.maxBody) {
			s.refuse(w, sub, &m, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: over %d bytes", ErrTooLarge, s.maxBody))
			return
		}
		_, k, err := parseVAPIDHeader(r.Header.Get("Authorization"))
		if err == nil && s.vapidKey != nil {
			err = s.checkKey(k)
		}
		if err != nil {
			s.refuse(w, sub, &m, vapidStatus(err), err)
			return
		}
		s.accept(w, r, sub, nil)
		return
	}

	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	body, err := readBody(r.Body, *bp)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.refuse(w, sub, &m, status, err)
		return
	}
	claims, err := s.vapid.verify(r.Header.Get("Authorization"), origin(r), at)
	if err == nil && s.vapidKey != nil && !bytes.Equal(claims.key, s.vapidKey) {
		err = fmt.Errorf("%w: k is not the application server key this sink expects", ErrVAPID)
	}
	if err != nil {
		s.refuse(w, sub, &m, vapidStatus(err), err)
		return
	}
	m.VAPIDSub, m.VAPIDAud, m.VAPIDExp = claims.sub, claims.aud, claims.exp
	plain, err := decrypt(sub.priv, sub.auth, body, true)
	if err != nil {
		s.refuse(w, sub, &m, http.StatusBadRequest, err)
		return
	}
	m.Payload = bytes.Clone(plain) // plain is in the pooled buffer
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	s.accept(w, r, sub, &m)
}

// accept counts an accepted request, keeps m if not nil, and answers with
// the next queued Response.
func (s *Sink) accept(w http.ResponseWriter, r *http.Request, sub *subscription, m *Message) {
	rs := Response{Status: http.StatusCreated}
	s.mu.Lock()
	if len(sub.queue) > 0 {
		rs = sub.queue[0]
		sub.queue = sub.queue[1:]
		if rs.Status == 0 {
			rs.Status = http.StatusCreated
		}
	}
	s.accepted++
	sub.accepted++
	seq := sub.accepted
	if m != nil {
		m.Status = rs.Status
		sub.msgs = append(sub.msgs, *m)
	}
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
	s.mu.Unlock()

	if rs.Delay > 0 {
		t := time.NewTimer(rs.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if rs.RetryAfter != "" {
		w.Header().Set("Retry-After", rs.RetryAfter)
	}
	if rs.Status == http.StatusCreated {
		// RFC 8030 section 5: the push message resource.
		w.Header().Set("Location", r.URL.Path+"/m/"+strconv.Itoa(seq))
	}
	w.WriteHeader(rs.Status)
}

// refuse records m as refused with status and err, under sub if it is an
// issued subscription, and answers.
func (s *Sink) refuse(w http.ResponseWriter, sub *subscription, m *Message, status int, err error) {
	m.Status, m.Err = status, err
	s.mu.Lock()
	s.refused++
	if sub != nil {
		sub.msgs = append(sub.msgs, *m)
	} else {
		s.strays[m.SubID] = append(s.strays[m.SubID], *m)
	}
	s.mu.Unlock()
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "vapid")
	}
	http.Error(w, err.Error(), status)
}

func (s *Sink) checkKey(k string) error {
	key, err := decodeB64URL(k)
	if err != nil || !bytes.Equal(key, s.vapidKey) {
		return fmt.Errorf("%w: k is not the application server key this sink expects", ErrVAPID)
	}
	return nil
}

// checkHeaders checks the RFC 8030 and RFC 8188 headers of a push.
func checkHeaders(h http.Header) error {
	if ce := h.Get("Content-Encoding"); !strings.EqualFold(ce, "aes128gcm") {
		return fmt.Errorf("%w: Content-Encoding %q, want aes128gcm", ErrHeader, ce)
	}
	ttl := h.Get("TTL")
	if ttl == "" {
		return fmt.Errorf("%w: no TTL", ErrHeader)
	}
	if _, err := strconv.ParseUint(ttl, 10, 63); err != nil {
		return fmt.Errorf("%w: TTL %q is not a non-negative integer", ErrHeader, ttl)
	}
	if topic := h.Get("Topic"); topic != "" && !validTopic(topic) {
		return fmt.Errorf("%w: Topic %q is not at most 32 base64url characters", ErrHeader, topic)
	}
	switch u := h.Get("Urgency"); u {
	case "", "very-low", "low", "normal", "high":
	default:
		return fmt.Errorf("%w: Urgency %q is not very-low, low, normal or high", ErrHeader, u)
	}
	return nil
}

// validTopic: RFC 8030 section 5.4, at most 32 characters of the URL and
// filename safe base64 alphabet.
func validTopic(t string) bool {
	if len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func vapidStatus(err error) int {
	if errors.Is(err, ErrNoVAPID) {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// origin is the audience a VAPID JWT for this request must name.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// pushID returns the id in a path or URL ending in /push/<id>.
func pushID(path string) (string, bool) {
	i := strings.LastIndex(path, "/push/")
	if i < 0 {
		return "", false
	}
	id := path[i+len("/push/"):]
	if id == "" || strings.ContainsAny(id, "/?#") {
		return "", false
	}
	return id, true
}

// readBody reads all of body into buf, whose length is the limit plus one.
func readBody(body io.Reader, buf []byte) ([]byte, error) {
	n, err := io.ReadFull(body, buf)
	switch {
	case err == nil:
		drain(body)
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, len(buf)-1)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:n], nil
	default:
		return nil, fmt.Errorf("read body: %w", err)
	}
}

// drain reads what is left of a body (up to a limit), so the connection can
// be reused.
func drain(body io.Reader) {
	io.Copy(io.Discard, io.LimitReader(body, 1<<20))
}
