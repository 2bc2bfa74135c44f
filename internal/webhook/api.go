package webhook

import (
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/editor"
	"newsflash/internal/httperr"
)

// Register adds the webhook routes to g, which must let only admins in
// (editor.RequireRole(editor.RoleAdmin)): POST and GET /webhooks,
// DELETE /webhooks/:id, POST /webhooks/:id/rotate.
func (s *Service) Register(g gin.IRoutes) {
	g.POST("/webhooks", s.serveCreate)
	g.GET("/webhooks", s.serveList)
	g.DELETE("/webhooks/:id", s.serveDelete)
	g.POST("/webhooks/:id/rotate", s.serveRotate)
}

// Listed is an endpoint as GET /api/v1/webhooks answers it: no secret.
type Listed struct {
	ID           string     `json:"id"`
	URL          string     `json:"url"`
	Filter       Filter     `json:"filter"`
	Events       []string   `json:"events"`
	AlertsOnly   bool       `json:"alerts_only"`
	CreatedAt    time.Time  `json:"created_at"`
	DisabledAt   *time.Time `json:"disabled_at"`
	LastDelivery *Last      `json:"last_delivery"`
	Delivered    uint64     `json:"delivered"`
	Failed       uint64     `json:"failed"`
	Pending      uint64     `json:"pending"`
	Dropped      uint64     `json:"dropped"`
}

func listed(ep Endpoint, st Stats) Listed {
	f := ep.Filter
	for _, d := range []*[]string{&f.Regions, &f.Topics, &f.Langs, &f.Stories} {
		if *d == nil {
			*d = []string{}
		}
	}
	return Listed{ID: ep.ID, URL: ep.URL, Filter: f, Events: ep.Events, AlertsOnly: ep.AlertsOnly, CreatedAt: ep.CreatedAt,
		DisabledAt: ep.DisabledAt, LastDelivery: st.Last, Delivered: st.Delivered, Failed: st.Failed, Pending: st.Pending(), Dropped: st.Dropped}
}

func sortListed(l []Listed) {
	sort.Slice(l, func(i, j int) bool {
		if !l[i].CreatedAt.Equal(l[j].CreatedAt) {
			return l[i].CreatedAt.Before(l[j].CreatedAt)
		}
		return l[i].ID < l[j].ID
	})
}

func (s *Service) serveCreate(c *gin.Context) {
	var in Input
	if err := httperr.DecodeJSON(c, &in); err != nil {
		httperr.Abort(c, err)
		return
	}
	ep, key, err := s.Create(c.Request.Context(), in, editor.EditorName(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"id": ep.ID, "secret": key})
}

func (s *Service) serveList(c *gin.Context) {
	l, err := s.List(c.Request.Context())
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"webhooks": l})
}

func (s *Service) serveDelete(c *gin.Context) {
	if err := s.Delete(c.Request.Context(), c.Param("id")); err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Service) serveRotate(c *gin.Context) {
	key, err := s.Rotate(c.Request.Context(), c.Param("id"))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "secret": key, "previous_valid_until": s.cfg.Now().UTC().Add(RotationGrace)})
}
