package push

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
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
// goes under editors, the group of editor-only routes.
func (s *Service) Register(g, editors *gin.RouterGroup) {
	g.GET("/push/key", s.key)
	g.POST("/push/subscriptions", s.subscribe)
	g.DELETE("/push/subscriptions", s.unsubscribe)
	editors.GET("/push/stats", s.statsHandler)
}

func (s *Service) key(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, gin.H{"public_key": s.cfg.Identity.PublicKey})
}

type idAnswer struct {
	ID string `json:"id"`
}

func (s *Service) subscribe(c *gin.Context) {
	var req SubscribeRequest
	if err := httperr.DecodeJSON(c, &req); err != nil {
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
	sub.CreatedAt, sub.UpdatedAt = now, now
	existing, err := s.subs.Get(ctx, sub.ID)
	switch {
	case err == nil:
		var cur Subscription
		if json.Unmarshal(existing.Value(), &cur) == nil {
			sub.CreatedAt = cur.CreatedAt
		}
		b, _ := json.Marshal(sub)
		if _, err := s.subs.Update(ctx, sub.ID, b, existing.Revision()); err != nil {
			httperr.Abort(c, unavailable(err))
			return
		}
		s.index.put(&sub)
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
	b, _ := json.Marshal(sub)
	if _, err := s.subs.Create(ctx, sub.ID, b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) { // created meanwhile by the same browser: take this version
			if _, err := s.subs.Put(ctx, sub.ID, b); err == nil {
				s.index.put(&sub)
				c.JSON(http.StatusOK, idAnswer{ID: sub.ID})
				return
			}
		}
		httperr.Abort(c, unavailable(err))
		return
	}
	s.index.put(&sub)
	s.log.Info("push subscription created", "id", sub.ID, "endpoint", pushpolicy.Redact(sub.Endpoint))
	c.JSON(http.StatusCreated, idAnswer{ID: sub.ID})
}

func (s *Service) unsubscribe(c *gin.Context) {
	var req UnsubscribeRequest
	if err := httperr.DecodeJSON(c, &req); err != nil {
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
	given, _ := decodeB64(req.Auth)
	have, _ := decodeB64(cur.Auth)
	if len(given) != len(have) || subtle.ConstantTimeCompare(given, have) != 1 {
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
