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
	"newsflash/internal/push"
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
	// Every route but the streams (filled in below) gets the request limits.
	streams := map[string]bool{}
	e.Use(s.requestLog(), s.recover(), securityHeaders(assets), s.countRefusals(), s.limits(streams),
		s.noBodies(map[string]bool{"DELETE /api/v1/push/subscriptions": true, "DELETE /api/v1/devices": true}))
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
	e.GET("/readyz", s.serveReady)
	allow, err := metricsAllow(s.cfg.MetricsAllow)
	if err != nil {
		return nil, err
	}
	e.GET("/metrics", s.serveMetrics(allow))
	// The feeds are public reads like GET /api/v1/items, bounded alike.
	s.feeds.Register(e.Group("", s.authFailures(), s.apiRequests()))

	v1 := e.Group("/api/v1", s.cors())
	// Streams have no overall deadline; the hub bounds each write itself.
	stream := func(path string, h gin.HandlerFunc) {
		v1.GET(path, s.readerConnects(), h)
		streams[v1.BasePath()+path] = true
	}
	stream("/ws", s.hub.ServeWS)
	stream("/sse", s.hub.ServeSSE)
	rest := v1.Group("", s.authFailures(), s.apiRequests())
	contract, err := serveOpenAPI()
	if err != nil {
		return nil, err
	}
	rest.GET("/openapi.json", contract)
	api.Register(rest)
	s.editors.Register(rest)
	s.stories.Register(rest, rest.Group("", s.editors.RequireEditor()))
	s.audit.Register(rest.Group("", s.editors.RequireEditor(), editor.RequireRole(editor.RoleAdmin)))
	s.hooks.Register(rest.Group("", s.editors.RequireEditor(), editor.RequireRole(editor.RoleAdmin)))
	if s.push != nil {
		s.push.Register(rest, rest.Group("", s.editors.RequireEditor()))
	} else {
		off := push.WebDisabled
		rest.GET("/push/key", off)
		rest.POST("/push/subscriptions", off)
		rest.DELETE("/push/subscriptions", off)
		rest.POST("/push/receipts", off)
		rest.POST("/devices", push.PlatformsDisabled)
		rest.DELETE("/devices", push.PlatformsDisabled)
		rest.GET("/push/stats", s.editors.RequireEditor(), off)
	}
	return e, nil
}

func (s *Server) serveReady(c *gin.Context) {
	if err := s.ready.get(c.Request.Context()); err != nil {
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

// limits bounds the body and the time of every request but those to the
// streaming routes (their patterns are the keys of streams; unknown paths
// are bounded too): a body that is promised and never sent, or an answer
// never read, holds the connection only until the deadline.
//
// The write deadline is not cleared here after the handler: net/http flushes
// what is left of the answer after the handler returns, and that flush must
// be bounded too. net/http clears the write deadline itself once the answer
// is flushed (Go 1.26 server.go, after finishRequest), and sets a read
// deadline of its own before reading the next request on the connection.
func (s *Server) limits(streams map[string]bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if streams[c.FullPath()] {
			c.Next()
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes)
		rc := http.NewResponseController(c.Writer)
		deadline := time.Now().Add(s.cfg.RequestTimeout)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		c.Next()
	}
}

// bodyless are the methods whose requests take no body, but for the routes
// given to noBodies.
var bodyless = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodDelete: true, http.MethodOptions: true}

var errBodyNotAllowed = httperr.New(http.StatusRequestEntityTooLarge, "body_not_allowed", "this request takes no body")

// noBodies answers 413 body_not_allowed to a request that takes no body and
// has one (a Content-Length above 0 or a chunked body), except on the routes
// in takeBody ("METHOD /pattern"). The body is not read: the answer goes at
// once and the connection is closed after it. net/http still looks for the
// end of the body (up to 256 KiB) before closing, so that a client sending
// it is not reset before it reads the answer: the read deadline bounds that,
// on the streams too.
func (s *Server) noBodies(takeBody map[string]bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.ContentLength == 0 || !bodyless[r.Method] || takeBody[r.Method+" "+c.FullPath()] {
			c.Next()
			return
		}
		deadline := time.Now().Add(s.cfg.RequestTimeout)
		rc := http.NewResponseController(c.Writer)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		c.Header("Connection", "close")
		httperr.Abort(c, errBodyNotAllowed)
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
