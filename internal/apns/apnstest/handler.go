package apnstest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Payload is the body of a notification as Newsflash sends it.
type Payload struct {
	APS       APS        `json:"aps"`
	Newsflash *Newsflash `json:"newsflash"`
	// Receipt is the alert's receipt token (an alert's only).
	Receipt string `json:"receipt,omitempty"`
}

// APS is the aps dictionary.
type APS struct {
	Alert             *Alert  `json:"alert,omitempty"`
	Sound             *string `json:"sound,omitempty"`
	InterruptionLevel *string `json:"interruption-level,omitempty"`
	ContentAvailable  *int    `json:"content-available,omitempty"`
}

// Alert is aps.alert.
type Alert struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Newsflash is the app's own dictionary.
type Newsflash struct {
	Type    string  `json:"type"`
	ID      string  `json:"id"`
	Seq     *uint64 `json:"seq,omitempty"`
	Version *int    `json:"version,omitempty"`
	URL     *string `json:"url,omitempty"`
	Lang    *string `json:"lang,omitempty"`
}

// maxBody is the largest body APNs accepts.
const maxBody = 4096

// refusal is an answer with what was wrong.
type refusal struct {
	status int
	reason string
	detail string
}

func refuse(status int, reason, format string, args ...any) *refusal {
	return &refusal{status, reason, fmt.Sprintf(format, args...)}
}

// ServeHTTP answers POST /3/device/{token} as APNs does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(*conn)
	apnsID := r.Header.Get("Apns-Id")
	if apnsID == "" {
		apnsID = newUUID()
	}
	w.Header().Set("Apns-Id", apnsID)
	if c == nil || r.ProtoMajor != 2 {
		http.Error(w, "HTTP/2 only", http.StatusHTTPVersionNotSupported)
		return
	}
	n, ref := s.check(c, r)
	if ref != nil {
		s.mu.Lock()
		s.rejections = append(s.rejections, Rejection{ref.status, ref.reason, ref.detail})
		s.mu.Unlock()
		s.answer(w, ref.status, ref.reason, "")
		return
	}
	a, scripted := s.scripted(n.DeviceToken)
	s.mu.Lock()
	delay := s.delay
	if !scripted && s.record {
		s.notes = append(s.notes, *n)
	}
	s.mu.Unlock()
	if !scripted {
		s.accepted.Add(1)
		a = Answer{Status: http.StatusOK}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	s.answer(w, a.Status, a.Reason, a.RetryAfter)
}

func (s *Server) answer(w http.ResponseWriter, status int, reason, retryAfter string) {
	if status == http.StatusOK {
		w.WriteHeader(status)
		return
	}
	body := map[string]any{"reason": reason}
	if status == http.StatusGone {
		body["timestamp"] = s.clock().UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// check applies APNs' checks and Newsflash's conventions to a request.
func (s *Server) check(c *conn, r *http.Request) (*Notification, *refusal) {
	if r.Method != http.MethodPost {
		return nil, refuse(http.StatusMethodNotAllowed, "MethodNotAllowed", "method %s", r.Method)
	}
	device, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok || strings.Contains(device, "/") {
		return nil, refuse(http.StatusNotFound, "BadPath", "path %q", r.URL.Path)
	}
	if device == "" {
		return nil, refuse(http.StatusBadRequest, "MissingDeviceToken", "no device token")
	}
	if !hexToken(device) {
		return nil, refuse(http.StatusBadRequest, "BadDeviceToken", "device token is not 64 to 200 hex digits")
	}
	for name, v := range r.Header {
		if len(v) > 1 && (name == "Authorization" || strings.HasPrefix(name, "Apns-")) {
			return nil, refuse(http.StatusBadRequest, "DuplicateHeaders", "%s repeated", name)
		}
	}
	if ref := s.checkToken(c, r.Header.Get("Authorization")); ref != nil {
		return nil, ref
	}
	h, ref := checkHeaders(r.Header)
	if ref != nil {
		return nil, ref
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "BadRequest", "read body: %v", err)
	}
	if len(body) > maxBody {
		return nil, refuse(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "body over %d bytes", maxBody)
	}
	if len(body) == 0 {
		return nil, refuse(http.StatusBadRequest, "PayloadEmpty", "no body")
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return nil, refuse(http.StatusBadRequest, "BadPayload", "body: %v", err)
	}
	if ref := checkPayload(h, &p); ref != nil {
		return nil, ref
	}
	return &Notification{DeviceToken: device, Header: h, Body: body, Payload: p, Conn: c.id, At: s.clock()}, nil
}

func hexToken(s string) bool {
	if len(s) < 64 || len(s) > 200 || len(s)%2 != 0 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkToken verifies the provider token and that the connection does not
// change tokens too often.
func (s *Server) checkToken(c *conn, auth string) *refusal {
	if auth == "" {
		return refuse(http.StatusForbidden, "MissingProviderToken", "no authorization header")
	}
	raw, ok := strings.CutPrefix(auth, "bearer ")
	if !ok || raw == "" {
		return refuse(http.StatusForbidden, "InvalidProviderToken", "authorization is not \"bearer <jwt>\"")
	}
	now := s.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	// A token this connection used before: requests made before a renewal
	// may still be in flight with the previous one.
	for _, t := range []*seenToken{c.cur, c.prev} {
		if t != nil && t.raw == raw {
			if now.Sub(t.iat) > TokenLifetime {
				return refuse(http.StatusForbidden, "ExpiredProviderToken", "issued %s ago", now.Sub(t.iat))
			}
			return nil
		}
	}
	s.mu.Lock()
	t := s.tokens[raw]
	s.mu.Unlock()
	if t == nil {
		iat, err := s.verify(raw)
		if err != nil {
			return refuse(http.StatusForbidden, "InvalidProviderToken", "%v", err)
		}
		s.mu.Lock()
		if t = s.tokens[raw]; t == nil {
			t = &seenToken{raw: raw, iat: iat, first: now}
			s.tokens[raw] = t
		}
		s.mu.Unlock()
	}
	if t.iat.After(now.Add(time.Minute)) {
		return refuse(http.StatusForbidden, "InvalidProviderToken", "issued in the future (%s)", t.iat)
	}
	if now.Sub(t.iat) > TokenLifetime {
		return refuse(http.StatusForbidden, "ExpiredProviderToken", "issued %s ago", now.Sub(t.iat))
	}
	if c.cur != nil && t.first.Sub(c.cur.first) < TokenMinRenewal {
		return refuse(http.StatusTooManyRequests, "TooManyProviderTokenUpdates",
			"a token first used %s after the last", t.first.Sub(c.cur.first))
	}
	s.mu.Lock()
	if c.cur != nil {
		s.changes++
	}
	t.accepted = true
	s.mu.Unlock()
	c.prev, c.cur = c.cur, t
	return nil
}

// verify checks a provider token's signature, header and claims, and
// returns its issue time.
func (s *Server) verify(raw string) (time.Time, error) {
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	if err != nil {
		return time.Time{}, err
	}
	if len(tok.Header) != 2 || tok.Header["kid"] != KeyID {
		return time.Time{}, fmt.Errorf("header %v: want alg ES256 and kid %s only", tok.Header, KeyID)
	}
	if len(claims) != 2 || claims["iss"] != TeamID {
		return time.Time{}, fmt.Errorf("claims %v: want iss %s and iat only", claims, TeamID)
	}
	n, ok := claims["iat"].(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("iat %v: want a number", claims["iat"])
	}
	sec, err := n.Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("iat %v: want whole seconds", n)
	}
	return time.Unix(sec, 0), nil
}

// apnsHeaders are the request headers kept with a notification.
var apnsHeaders = []string{"Apns-Topic", "Apns-Push-Type", "Apns-Priority", "Apns-Expiration", "Apns-Collapse-Id", "Apns-Id"}

// checkHeaders checks the apns-* headers and returns them.
func checkHeaders(in http.Header) (http.Header, *refusal) {
	h := http.Header{}
	for _, name := range apnsHeaders {
		if v, ok := in[name]; ok {
			h[name] = v
		}
	}
	for name := range in {
		if strings.HasPrefix(name, "Apns-") && h[name] == nil {
			return nil, refuse(http.StatusBadRequest, "BadRequest", "unexpected header %s", name)
		}
	}
	switch topic := h.Get("Apns-Topic"); topic {
	case "":
		return nil, refuse(http.StatusBadRequest, "MissingTopic", "no apns-topic")
	case Topic:
	default:
		return nil, refuse(http.StatusBadRequest, "BadTopic", "apns-topic %q, want %q", topic, Topic)
	}
	if id, ok := h["Apns-Id"]; ok && !isUUID(id[0]) {
		return nil, refuse(http.StatusBadRequest, "BadMessageId", "apns-id %q", id[0])
	}
	pushType, prio := h.Get("Apns-Push-Type"), h.Get("Apns-Priority")
	exp, hasExp := h["Apns-Expiration"]
	if hasExp {
		if n, err := strconv.ParseInt(exp[0], 10, 64); err != nil || n < 0 {
			return nil, refuse(http.StatusBadRequest, "BadExpirationDate", "apns-expiration %q", exp[0])
		}
	}
	collapse, hasCollapse := h["Apns-Collapse-Id"]
	switch pushType {
	case "alert":
		if prio != "10" && prio != "5" {
			return nil, refuse(http.StatusBadRequest, "BadPriority", "apns-priority %q for an alert, want 10 or 5", prio)
		}
		if !hasExp {
			return nil, refuse(http.StatusBadRequest, "BadExpirationDate", "no apns-expiration on an alert")
		}
		if !hasCollapse || collapse[0] == "" || len(collapse[0]) > 64 {
			return nil, refuse(http.StatusBadRequest, "BadCollapseId", "apns-collapse-id %q, want the item id", collapse)
		}
	case "background":
		if prio != "5" {
			return nil, refuse(http.StatusBadRequest, "BadPriority", "apns-priority %q for a background push, want 5", prio)
		}
		if hasCollapse {
			return nil, refuse(http.StatusBadRequest, "BadCollapseId", "apns-collapse-id on a retraction")
		}
	default:
		return nil, refuse(http.StatusBadRequest, "InvalidPushType", "apns-push-type %q, want alert or background", pushType)
	}
	return h, nil
}

// checkPayload checks the body against the headers.
func checkPayload(h http.Header, p *Payload) *refusal {
	bad := func(format string, args ...any) *refusal {
		return refuse(http.StatusBadRequest, "BadPayload", format, args...)
	}
	nf := p.Newsflash
	if nf == nil || nf.ID == "" {
		return bad("no newsflash.id")
	}
	a := p.APS
	if h.Get("Apns-Push-Type") == "background" {
		if a.Alert != nil || a.Sound != nil || a.InterruptionLevel != nil || a.ContentAvailable == nil || *a.ContentAvailable != 1 {
			return bad("aps of a retraction: want content-available 1 only")
		}
		if nf.Type != "retract" || nf.Seq != nil || nf.Version != nil || nf.URL != nil || nf.Lang != nil {
			return bad("newsflash of a retraction: want type retract and id only")
		}
		return nil
	}
	switch {
	case a.ContentAvailable != nil:
		return bad("content-available on an alert")
	case a.Alert == nil || a.Alert.Title == "" || a.Alert.Body == "":
		return bad("aps.alert: want a title and a body")
	case a.InterruptionLevel == nil || *a.InterruptionLevel != "active" && *a.InterruptionLevel != "time-sensitive":
		return bad("interruption-level: want active or time-sensitive")
	}
	urgent := h.Get("Apns-Priority") == "10"
	if urgent != (a.Sound != nil) || a.Sound != nil && *a.Sound != "default" {
		return bad("sound: want \"default\" with priority 10 only")
	}
	if *a.InterruptionLevel == "time-sensitive" && !urgent {
		return bad("time-sensitive with priority 5")
	}
	switch {
	case nf.Type != "item" && nf.Type != "update":
		return bad("newsflash.type %q: want item or update", nf.Type)
	case nf.ID != h.Get("Apns-Collapse-Id"):
		return refuse(http.StatusBadRequest, "BadCollapseId", "apns-collapse-id %q is not the item id %q", h.Get("Apns-Collapse-Id"), nf.ID)
	case nf.Seq == nil || *nf.Seq == 0, nf.Version == nil || *nf.Version < 1:
		return bad("newsflash: want seq and version")
	case nf.Lang == nil || *nf.Lang == "", nf.URL != nil && *nf.URL == "":
		return bad("newsflash: want lang, and url only when there is one")
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
