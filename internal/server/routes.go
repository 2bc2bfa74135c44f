package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/editor"
	"newsflash/internal/httperr"
	"newsflash/internal/live"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func (s *Server) routes(api *editor.API) (*gin.Engine, error) {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// X-Forwarded-For is believed only from the trusted proxies (none by
	// default).
	if err := e.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	assets := map[string]bool{}
	for _, p := range s.assets.Paths() {
		assets[p] = true
	}
	e.Use(s.requestLog(), s.recover(), securityHeaders(assets), s.countRefusals())
	e.NoRoute(func(c *gin.Context) {
		httperr.Abort(c, httperr.New(http.StatusNotFound, "no_route", "no such endpoint"))
	})
	e.NoMethod(func(c *gin.Context) {
		httperr.Abort(c, httperr.New(http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint does not take "+c.Request.Method))
	})

	for _, p := range s.assets.Paths() {
		e.GET(p, gin.WrapH(s.assets))
		e.HEAD(p, gin.WrapH(s.assets))
	}
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	allow, err := metricsAllow(s.cfg.MetricsAllow)
	if err != nil {
		return nil, err
	}
	e.GET("/metrics", s.serveMetrics(allow))

	v1 := e.Group("/api/v1", s.cors())
	// Streams have no overall deadline; the hub bounds each write itself.
	v1.GET("/ws", s.readerConnects(), s.hub.ServeWS)
	v1.GET("/sse", s.readerConnects(), s.hub.ServeSSE)
	rest := v1.Group("", s.limits(), s.authFailures(), s.apiRequests())
	contract, err := serveOpenAPI()
	if err != nil {
		return nil, err
	}
	rest.GET("/openapi.json", contract)
	api.Register(rest)
	s.audit.Register(rest.Group("", s.cfg.Editors.RequireEditor()))
	if s.push != nil {
		s.push.Register(rest, rest.Group("", s.cfg.Editors.RequireEditor()))
	} else {
		off := func(c *gin.Context) {
			httperr.Abort(c, &httperr.Error{Status: http.StatusServiceUnavailable, Code: "push_disabled",
				Message: "Web Push is not configured on this server (no --vapid-subject)"})
		}
		rest.GET("/push/key", off)
		rest.POST("/push/subscriptions", off)
		rest.DELETE("/push/subscriptions", off)
		rest.GET("/push/stats", s.cfg.Editors.RequireEditor(), off)
	}
	return e, nil
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.stream.Ready(ctx); err != nil {
		_ = c.Error(err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "nats"})
		return
	}
	if !s.hub.Ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "catching up with the stream"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "seq": s.hist.Head(), "readers": s.hub.Readers()})
}

// limits bounds the body and the time of a non-streaming request.
func (s *Server) limits() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes)
		rc := http.NewResponseController(c.Writer)
		deadline := time.Now().Add(s.cfg.RequestTimeout)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		c.Next()
		// net/http does not reset write deadlines between requests on a
		// kept-alive connection: clear it for the next request.
		_ = rc.SetWriteDeadline(time.Time{})
	}
}

// cors lets the allowed origins read the public API, WebSocket and SSE from
// their pages. Writes are never allowed by CORS: editors use the same origin
// or a server-side client.
func (s *Server) cors() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" {
			c.Next()
			return
		}
		c.Header("Vary", "Origin")
		if (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) &&
			live.OriginAllowed(c.Request, s.cfg.Live.AllowedOrigins) {
			c.Header("Access-Control-Allow-Origin", origin)
		}
		c.Next()
	}
}

// requestLog writes one line per request at info (warn for 5xx), without
// query strings' secrets or headers.
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		if !s.log.Enabled(c.Request.Context(), level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.ClientIP()),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
		}
		if ed := editor.EditorName(c); ed != "" {
			attrs = append(attrs, slog.String("editor", ed))
		}
		if len(c.Errors) > 0 {
			attrs = append(attrs, slog.String("err", c.Errors.Last().Error()))
		}
		s.log.LogAttrs(context.Background(), level, "request", attrs...)
	}
}

// recover turns a panic into a JSON 500 and a logged stack.
func (s *Server) recover() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		s.log.Error("panic in handler", "path", c.Request.URL.Path, "panic", rec)
		httperr.Abort(c, httperr.New(http.StatusInternalServerError, "internal", "internal error"))
	})
}
