package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/httperr"
	"newsflash/internal/limit"
)

// DeviceRequest is the body of POST /api/v1/devices.
type DeviceRequest struct {
	Platform string     `json:"platform"`
	Token    string     `json:"token"`
	Filter   FilterJSON `json:"filter"`
	Prefs    Prefs      `json:"prefs"`
}

// DeviceKey is the body of DELETE /api/v1/devices.
type DeviceKey struct {
	Platform string `json:"platform"`
	Token    string `json:"token"`
}

// Device token bounds: an APNs device token is hex (32 bytes today, longer
// allowed); an FCM registration token is an opaque string of URL-safe
// characters and colons.
const (
	minAPNsToken = 64
	maxAPNsToken = 200
	minFCMToken  = 100
	maxFCMToken  = 4096
)

// DeviceID is the id of a platform's device token: the same device is
// always the same record, and never a web subscription's (IDFor of an
// endpoint, an https URL).
func DeviceID(platform, token string) string { return IDFor(platform + ":" + token) }

// checkDevice checks a platform and token: 400 naming the field, or 503
// platform_disabled when the platform is known but not configured here.
// The token is returned as stored (an APNs token in lower case).
func (s *Service) checkDevice(name, token string) (platform, string, error) {
	var p platform
	switch name {
	case PlatformAndroid:
		p = platformAndroid
	case PlatformIOS:
		p = platformIOS
	default:
		return 0, "", invalidField("platform", "invalid_platform", `platform must be "android" or "ios"`)
	}
	if s.senders[p] == nil {
		return 0, "", &httperr.Error{Status: http.StatusServiceUnavailable, Code: "platform_disabled", Field: "platform",
			Message: fmt.Sprintf("%s push is not configured on this server", name)}
	}
	switch p {
	case platformIOS:
		if len(token) < minAPNsToken || len(token) > maxAPNsToken || !isHex(token) {
			return 0, "", invalidField("token", "invalid_token", "an iOS device token is %d to %d hex digits", minAPNsToken, maxAPNsToken)
		}
		token = strings.ToLower(token)
	case platformAndroid:
		if len(token) < minFCMToken || len(token) > maxFCMToken || !isFCMToken(token) {
			return 0, "", invalidField("token", "invalid_token", "an Android (FCM registration) token is %d to %d characters of A-Z a-z 0-9 _ : -", minFCMToken, maxFCMToken)
		}
	}
	return p, token, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isFCMToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// registerDevice is POST /api/v1/devices: 201 with the device's id when it
// is new, 200 when the platform and token were registered already (the
// filter is replaced). The device's token is its only secret: the app that
// has it may change or remove its record.
func (s *Service) registerDevice(c *gin.Context) {
	var req DeviceRequest
	if err := decodeJSON(c, &req); err != nil {
		httperr.Abort(c, err)
		return
	}
	p, token, err := s.checkDevice(req.Platform, req.Token)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	f, err := s.parseFilter(req.Filter)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	prefs, err := checkPrefs(req.Prefs, s.cfg.Stories)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.Timeout)
	defer cancel()
	now := s.cfg.Now().UTC().Truncate(1e6)
	dev := Subscription{ID: DeviceID(req.Platform, token), Platform: req.Platform, Token: token,
		Filter: FilterJSON{Regions: f.Regions, Topics: f.Topics, Langs: f.Langs}, Prefs: prefs,
		CreatedAt: now, UpdatedAt: now, PrefsAt: now}
	// At most two rounds: a Create that loses the race with another
	// request for the same token becomes a replacement.
	for range 2 {
		existing, err := s.subs.Get(ctx, dev.ID)
		switch {
		case err == nil:
			var cur Subscription
			if err := json.Unmarshal(existing.Value(), &cur); err != nil {
				httperr.Abort(c, fmt.Errorf("stored device %s: %w", dev.ID, err))
				return
			}
			dev.CreatedAt = cur.CreatedAt // the failure count starts again
			if samePrefs(&dev, &cur) {
				dev.PrefsAt = cur.PrefsAt // an app re-registering as it starts changes nothing
			}
			b, _ := json.Marshal(dev)
			if _, err := s.subs.Update(ctx, dev.ID, b, existing.Revision()); err != nil {
				httperr.Abort(c, unavailable(err))
				return
			}
			s.index.put(&dev)
			c.JSON(http.StatusOK, idAnswer{ID: dev.ID})
			return
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			httperr.Abort(c, unavailable(err))
			return
		}
		if ok, wait := s.limit.Allow(limit.Key(c.ClientIP()), s.cfg.Now()); !ok {
			httperr.Abort(c, &httperr.Error{Status: http.StatusTooManyRequests, Code: "too_many_subscriptions",
				Message: "too many new subscriptions from this address; try again later", RetryAfter: httperr.Seconds(wait)})
			return
		}
		b, _ := json.Marshal(dev)
		_, err = s.subs.Create(ctx, dev.ID, b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			httperr.Abort(c, unavailable(err))
			return
		}
		s.index.put(&dev)
		s.log.Info("push device registered", "id", dev.ID, "platform", p.String(), "token", tokenPrefix(token))
		c.JSON(http.StatusCreated, idAnswer{ID: dev.ID})
		return
	}
	httperr.Abort(c, unavailable(errors.New("the device kept changing")))
}

// unregisterDevice is DELETE /api/v1/devices: 204, or 404 when the
// platform has no such token.
func (s *Service) unregisterDevice(c *gin.Context) {
	var req DeviceKey
	if err := decodeJSON(c, &req); err != nil {
		httperr.Abort(c, err)
		return
	}
	_, token, err := s.checkDevice(req.Platform, req.Token)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.Timeout)
	defer cancel()
	id := DeviceID(req.Platform, token)
	e, err := s.subs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		httperr.Abort(c, httperr.New(http.StatusNotFound, "not_found", "no device with this platform and token"))
		return
	}
	if err != nil {
		httperr.Abort(c, unavailable(err))
		return
	}
	if err := s.subs.Delete(ctx, id, jetstream.LastRevision(e.Revision())); err != nil {
		httperr.Abort(c, unavailable(err))
		return
	}
	s.index.remove(id)
	c.Status(http.StatusNoContent)
}
