package push

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/httperr"
	"newsflash/internal/limit"
	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
)

// Register adds the public push routes under g (the /api/v1 group); stats
// goes under editors, the group of editor-only routes. Without Web Push
// (no Identity) its routes answer 503 push_disabled, and the devices of a
// platform not configured answer 503 platform_disabled.
func (s *Service) Register(g, editors *gin.RouterGroup) {
	if s.senders[platformWeb] != nil {
		g.GET("/push/key", s.key)
		g.POST("/push/subscriptions", s.subscribe)
		g.DELETE("/push/subscriptions", s.unsubscribe)
	} else {
		g.GET("/push/key", WebDisabled)
		g.POST("/push/subscriptions", WebDisabled)
		g.DELETE("/push/subscriptions", WebDisabled)
	}
	g.POST("/push/receipts", s.postReceipt)
	g.POST("/devices", s.registerDevice)
	g.DELETE("/devices", s.unregisterDevice)
	editors.GET("/push/stats", s.statsHandler)
}

// WebDisabled answers a Web Push route of a server without Web Push.
func WebDisabled(c *gin.Context) {
	httperr.Abort(c, &httperr.Error{Status: http.StatusServiceUnavailable, Code: "push_disabled",
		Message: "Web Push is not configured on this server (no --vapid-subject)"})
}

// PlatformsDisabled answers a devices route of a server with no app
// platform configured.
func PlatformsDisabled(c *gin.Context) {
	httperr.Abort(c, &httperr.Error{Status: http.StatusServiceUnavailable, Code: "platform_disabled", Field: "platform",
		Message: "app push is not configured on this server (no FCM or APNs settings)"})
}

func (s *Service) key(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, gin.H{"public_key": s.cfg.Identity.PublicKey})
}

type idAnswer struct {
	ID string `json:"id"`
}

// decodeJSON reads a JSON body that must be declared application/json.
// httperr.DecodeJSON also takes a body without Content-Type (curl does not
// send one); the push endpoints are for browsers, which always declare it,
// and a body without it, text/plain or a form is what a page of another
// site can make a visitor's browser send without asking the server first
// (a CORS "simple" request), subscribing or unsubscribing the visitor.
func decodeJSON(c *gin.Context, dst any) error {
	if c.ContentType() != "application/json" {
		return httperr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be JSON sent with Content-Type: application/json")
	}
	return httperr.DecodeJSON(c, dst)
}

func (s *Service) subscribe(c *gin.Context) {
	var req SubscribeRequest
	if err := decodeJSON(c, &req); err != nil {
		httperr.Abort(c, err)
		return
	}
	sub, err := s.validate(req)
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.Timeout)
	defer cancel()
	now := s.cfg.Now().UTC().Truncate(1e6)
	sub.CreatedAt, sub.UpdatedAt, sub.PrefsAt = now, now, now
	b, _ := json.Marshal(sub)
	// At most two rounds: a Create that loses the race with another
	// request for the same endpoint becomes a replacement, with its check.
	for range 2 {
		existing, err := s.subs.Get(ctx, sub.ID)
		switch {
		case err == nil:
			if err := s.replace(ctx, &sub, existing); err != nil {
				httperr.Abort(c, err)
				return
			}
			c.JSON(http.StatusOK, idAnswer{ID: sub.ID})
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
		_, err = s.subs.Create(ctx, sub.ID, b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // created meanwhile: replace it, if the auth matches
		}
		if err != nil {
			httperr.Abort(c, unavailable(err))
			return
		}
		s.index.put(&sub)
		s.log.Info("push subscription created", "id", sub.ID, "endpoint", pushpolicy.Redact(sub.Endpoint))
		c.JSON(http.StatusCreated, idAnswer{ID: sub.ID})
		return
	}
	httperr.Abort(c, unavailable(errors.New("the subscription kept changing")))
}

// replace stores sub over the existing record of its endpoint, only when
// sub carries the stored auth secret: the endpoint URL alone (which the
// push service, proxies and logs may see) must not let anyone change the
// keys a message is encrypted for, nor the filter. The browser that
// subscribed still has its auth secret and may change its filter (and
// p256dh) by posting again. The failure counts start again.
func (s *Service) replace(ctx context.Context, sub *Subscription, existing jetstream.KeyValueEntry) error {
	var cur Subscription
	if err := json.Unmarshal(existing.Value(), &cur); err != nil {
		return fmt.Errorf("stored subscription %s: %w", sub.ID, err)
	}
	if !sameAuth(sub.Auth, cur.Auth) {
		return httperr.Field(http.StatusForbidden, "subscription_exists", "subscription.keys.auth",
			"this endpoint is subscribed with another auth secret; only the browser that subscribed can change it (or unsubscribe it first)")
	}
	sub.CreatedAt = cur.CreatedAt
	if samePrefs(sub, &cur) {
		sub.PrefsAt = cur.PrefsAt // browsers post again on every visit: that changes nothing
	}
	b, _ := json.Marshal(sub)
	if _, err := s.subs.Update(ctx, sub.ID, b, existing.Revision()); err != nil {
		return unavailable(err)
	}
	s.index.put(sub)
	return nil
}

// sameAuth compares two base64url auth secrets as bytes, in constant time.
func sameAuth(given, stored string) bool {
	g, err1 := decodeB64(given)
	h, err2 := decodeB64(stored)
	return err1 == nil && err2 == nil && len(g) == len(h) && subtle.ConstantTimeCompare(g, h) == 1
}

func (s *Service) unsubscribe(c *gin.Context) {
	var req UnsubscribeRequest
	if err := decodeJSON(c, &req); err != nil {
		httperr.Abort(c, err)
		return
	}
	if strings.TrimSpace(req.Endpoint) == "" {
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_endpoint", "endpoint", "endpoint is required"))
		return
	}
	if strings.TrimSpace(req.Auth) == "" {
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_auth", "auth", "auth is required"))
		return
	}
	notFound := httperr.New(http.StatusNotFound, "not_found", "no subscription with this endpoint and auth")
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.Timeout)
	defer cancel()
	id := IDFor(strings.TrimSpace(req.Endpoint))
	e, err := s.subs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		httperr.Abort(c, notFound)
		return
	}
	if err != nil {
		httperr.Abort(c, unavailable(err))
		return
	}
	var cur Subscription
	if err := json.Unmarshal(e.Value(), &cur); err != nil {
		httperr.Abort(c, err)
		return
	}
	if !sameAuth(req.Auth, cur.Auth) {
		httperr.Abort(c, notFound)
		return
	}
	if err := s.subs.Delete(ctx, id, jetstream.LastRevision(e.Revision())); err != nil {
		httperr.Abort(c, unavailable(err))
		return
	}
	s.index.remove(id)
	c.Status(http.StatusNoContent)
}

func (s *Service) statsHandler(c *gin.Context) {
	item := c.Query("item")
	if item != "" && !news.ValidID(item) {
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_item", "item", "item must be an item id"))
		return
	}
	c.JSON(http.StatusOK, s.statsFor(item, 50))
}

func unavailable(err error) error {
	return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the subscription store is unavailable; try again", Cause: err, RetryAfter: "2"}
}
