package fcmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/news"
)

// maxTTL is FCM's longest ttl, 28 days.
const maxTTL = 28 * 24 * 3600

var ttlPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

// request is messages:send's body; unknown fields are refused, as FCM does.
type request struct {
	Message *struct {
		Token        string            `json:"token"`
		Notification *Notification     `json:"notification"`
		Data         map[string]string `json:"data"`
		Android      *Android          `json:"android"`
	} `json:"message"`
}

func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		write(w, Answer{Status: http.StatusHTTPVersionNotSupported,
			Body: ErrorBody(505, "FAILED_PRECONDITION", "fcmtest answers the send path over HTTP/2 only, got "+r.Proto)})
		return
	}
	if r.Method != http.MethodPost {
		write(w, Answer{Status: http.StatusMethodNotAllowed, Body: ErrorBody(405, "INVALID_ARGUMENT", "POST only")})
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, issued := s.tokens[tok]
	valid := ok && issued && s.opts.Now().Before(exp)
	s.mu.Unlock()
	if !valid {
		write(w, Unauthenticated())
		return
	}
	if p := r.PathValue("project"); p != s.opts.ProjectID {
		write(w, Answer{Status: http.StatusForbidden, Body: ErrorBody(403, "PERMISSION_DENIED",
			fmt.Sprintf("Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s'", p))})
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		write(w, InvalidArgument("Content-Type"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		write(w, InvalidArgument("message"))
		return
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		msg := "Invalid JSON payload received."
		if err != nil {
			msg += " " + err.Error()
		}
		write(w, Answer{Status: http.StatusBadRequest, Body: ErrorBody(400, "INVALID_ARGUMENT", msg, BadRequest("", msg))})
		return
	}
	if req.Message == nil {
		write(w, InvalidArgument("message"))
		return
	}
	m := Message{Token: req.Message.Token, Notification: req.Message.Notification, Data: req.Message.Data}
	if req.Message.Android != nil {
		m.Android = *req.Message.Android
	}
	if field, err := check(m, req.Message.Android != nil); err != nil {
		write(w, Answer{Status: http.StatusBadRequest, Body: ErrorBody(400, "INVALID_ARGUMENT", err.Error(),
			FcmError("INVALID_ARGUMENT"), BadRequest(field, err.Error()))})
		return
	}
	s.mu.Lock()
	s.attempts[m.Token]++
	var a Answer
	scripted := false
	if q := s.next[m.Token]; len(q) > 0 {
		a, scripted = q[0], true
		if len(q) == 1 {
			delete(s.next, m.Token)
		} else {
			s.next[m.Token] = q[1:]
		}
	} else {
		a, scripted = s.always[m.Token]
	}
	if !scripted {
		s.accepted++
		if !s.opts.Discard {
			s.messages = append(s.messages, m)
		}
		a = Answer{Status: http.StatusOK,
			Body: fmt.Sprintf(`{"name":"projects/%s/messages/0:%d%%fcmtest"}`, s.opts.ProjectID, s.accepted)}
	}
	delay := s.delay
	s.mu.Unlock()
	if !wait(r, delay) {
		return
	}
	write(w, a)
}

// wait waits d, or until the request ends; it says whether to answer.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

var (
	itemKeys    = []string{"type", "id", "seq", "version", "lang", "priority"} // and url, optional
	retractKeys = []string{"type", "id"}
)

// check is FCM's validation and Newsflash's conventions, strictly: it
// returns the field at fault.
func check(m Message, hasAndroid bool) (string, error) {
	if m.Token == "" {
		//lint:ignore ST1005 FCM's own wording, played back to clients
		return "message", errors.New("Recipient of the message is not set.")
	}
	if m.Data == nil {
		return "message.data", errors.New("data is missing")
	}
	if !hasAndroid {
		return "message.android", errors.New("android is missing")
	}
	a := m.Android
	if a.TTL != "" {
		if !ttlPattern.MatchString(a.TTL) {
			//lint:ignore ST1005 FCM's own wording, played back to clients
			return "message.android.ttl", fmt.Errorf("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), %q", a.TTL)
		}
		if secs, _ := strconv.ParseFloat(strings.TrimSuffix(a.TTL, "s"), 64); secs > maxTTL {
			return "message.android.ttl", errors.New("ttl longer than 28 days")
		}
	}
	switch a.Priority {
	case "HIGH", "NORMAL":
	default:
		//lint:ignore ST1005 FCM's own wording, played back to clients
		return "message.android.priority", fmt.Errorf("Invalid value at 'message.android.priority', %q", a.Priority)
	}
	id := m.Data["id"]
	if id == "" {
		return "message.data.id", errors.New("id is missing")
	}
	switch m.Data["type"] {
	case fcm.KindRetract:
		if err := keys(m.Data, retractKeys, nil); err != nil {
			return "message.data", err
		}
		switch {
		case m.Notification != nil:
			return "message.notification", errors.New("a retract is data-only")
		case a.Priority != "HIGH":
			return "message.android.priority", errors.New("a retract is sent with priority HIGH")
		case a.Notification != nil || a.CollapseKey != "":
			return "message.android", errors.New("a retract has no android notification or collapse_key")
		}
		return "", nil
	case fcm.KindItem, fcm.KindUpdate:
	default:
		return "message.data.type", fmt.Errorf("type %q", m.Data["type"])
	}
	if err := keys(m.Data, itemKeys, []string{"url", "receipt"}); err != nil {
		return "message.data", err
	}
	for _, k := range []string{"seq", "version"} {
		if _, err := strconv.ParseUint(m.Data[k], 10, 64); err != nil {
			return "message.data." + k, fmt.Errorf("%s %q is not a number", k, m.Data[k])
		}
	}
	p := m.Data["priority"]
	switch p {
	case news.PriorityFlash, news.PriorityUrgent, news.PriorityBreaking:
	default:
		return "message.data.priority", fmt.Errorf("priority %q", p)
	}
	n := m.Notification
	switch {
	case n == nil || n.Title == "" || n.Body == "":
		return "message.notification", errors.New("an item has a notification with title and body")
	case a.TTL == "":
		return "message.android.ttl", errors.New("ttl is missing")
	case a.CollapseKey != id:
		return "message.android.collapse_key", fmt.Errorf("collapse_key %q, want the item id", a.CollapseKey)
	case a.Priority != map[bool]string{true: "HIGH", false: "NORMAL"}[p != news.PriorityBreaking]:
		return "message.android.priority", fmt.Errorf("priority %s for a %s item", a.Priority, p)
	case a.Notification == nil:
		return "message.android.notification", errors.New("android notification is missing")
	case a.Notification.Tag != id:
		return "message.android.notification.tag", fmt.Errorf("tag %q, want the item id", a.Notification.Tag)
	case a.Notification.ChannelID != "newsflash_"+p:
		return "message.android.notification.channel_id", fmt.Errorf("channel_id %q for a %s item", a.Notification.ChannelID, p)
	}
	size := len(n.Title) + len(n.Body)
	for k, v := range m.Data {
		size += len(k) + len(v)
	}
	if size > fcm.MaxPayload {
		return "message", fmt.Errorf("Message is too big: %d bytes", size)
	}
	return "", nil
}

// keys checks that data has every key of want, and no other but optional.
func keys(data map[string]string, want, optional []string) error {
	for _, k := range want {
		if _, ok := data[k]; !ok {
			return fmt.Errorf("data.%s is missing", k)
		}
	}
	for k := range data {
		if !slices.Contains(want, k) && !slices.Contains(optional, k) {
			return fmt.Errorf("data.%s is not expected", k)
		}
	}
	return nil
}
