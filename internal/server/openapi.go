package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"newsflash/docs"
)

// serveOpenAPI is GET /api/v1/openapi.json: the contract in docs/openapi.yaml
// as JSON, converted once here, with an ETag so that clients revalidate
// cheaply.
func serveOpenAPI() (gin.HandlerFunc, error) {
	body, err := docs.OpenAPIJSON()
	if err != nil {
		return nil, fmt.Errorf("api contract: %w", err)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	return func(c *gin.Context) {
		c.Header("ETag", etag)
		c.Header("Cache-Control", "public, max-age=300")
		for _, t := range strings.Split(c.GetHeader("If-None-Match"), ",") {
			if t = strings.TrimSpace(t); t == etag || t == "W/"+etag || t == "*" {
				c.Status(http.StatusNotModified)
				return
			}
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	}, nil
}
