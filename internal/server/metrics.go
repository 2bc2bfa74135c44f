package server

import (
	"net/http"
	"net/netip"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
)

// defaultMetricsAllow are the addresses that may read /metrics by default:
// loopback and private networks, where Prometheus scrapes from.
var defaultMetricsAllow = []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}

func metricsAllow(list []string) ([]netip.Prefix, error) {
	if len(list) == 0 {
		list = defaultMetricsAllow
	}
	return prefixes("metrics allow-list", list)
}

// serveMetrics is GET /metrics for the allowed client addresses (judged
// like every limit: X-Forwarded-For only from --trusted-proxies).
func (s *Server) serveMetrics(allow []netip.Prefix) gin.HandlerFunc {
	h := s.metrics.Handler()
	return func(c *gin.Context) {
		a, err := netip.ParseAddr(c.ClientIP())
		ok := false
		if err == nil {
			a = a.Unmap()
			for _, p := range allow {
				if p.Contains(a) {
					ok = true
					break
				}
			}
		}
		if !ok {
			httperr.Abort(c, httperr.New(http.StatusForbidden, "forbidden", "metrics are not served to this address (--metrics-allow)"))
			return
		}
		h.ServeHTTP(c.Writer, c.Request)
	}
}
