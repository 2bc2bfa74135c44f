package story

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"newsflash/internal/editor"
	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// Register adds the story routes: the reads under public (the /api/v1
// group), the changes under editors (the /api/v1 group after
// RequireEditor), where a reporter is refused with 403 forbidden.
func (s *Store) Register(public, editors *gin.RouterGroup) {
	public.GET("/stories", s.serveList)
	public.GET("/stories/:slug", s.serveGet)
	w := editors.Group("/stories", editor.RequireRole(editor.RoleEditor))
	w.POST("", s.serveCreate)
	w.PATCH("/:slug", s.servePatch)
	w.POST("/:slug/close", s.serveClose)
}

type listAnswer struct {
	Stories []Story `json:"stories"`
}

func (s *Store) serveList(c *gin.Context) {
	status := c.DefaultQuery("status", StatusOpen)
	switch status {
	case StatusOpen, StatusClosed:
	case "all":
		status = ""
	default:
		httperr.Abort(c, httperr.Field(http.StatusBadRequest, "invalid_status", "status", "status must be open, closed or all"))
		return
	}
	c.JSON(http.StatusOK, listAnswer{Stories: s.List(status)})
}

type storyAnswer struct {
	Story Story       `json:"story"`
	Items []news.Item `json:"items"`
}

func (s *Store) serveGet(c *gin.Context) {
	st, ok := s.Get(c.Param("slug"))
	if !ok {
		httperr.Abort(c, errNotFound)
		return
	}
	items := s.deps.Log.List(news.Filter{Stories: []string{st.Slug}}, 0, MaxItems)
	ans := storyAnswer{Story: st, Items: make([]news.Item, len(items))}
	for i, it := range items {
		ans.Items[i] = it.Public()
	}
	c.JSON(http.StatusOK, ans)
}

func changeOf(c *gin.Context) Change { return Change{By: editor.EditorName(c), Client: c.ClientIP()} }

func (s *Store) serveCreate(c *gin.Context) {
	var d Draft
	if err := httperr.DecodeJSON(c, &d); err != nil {
		httperr.Abort(c, err)
		return
	}
	st, err := s.Create(c.Request.Context(), d, changeOf(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Header("Location", "/api/v1/stories/"+st.Slug)
	c.JSON(http.StatusCreated, st)
}

func (s *Store) servePatch(c *gin.Context) {
	if !news.ValidStory(c.Param("slug")) {
		httperr.Abort(c, errNotFound)
		return
	}
	var p Patch
	if err := httperr.DecodeJSON(c, &p); err != nil {
		httperr.Abort(c, err)
		return
	}
	st, err := s.Update(c.Request.Context(), c.Param("slug"), p, changeOf(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

func (s *Store) serveClose(c *gin.Context) {
	st, err := s.Close(c.Request.Context(), c.Param("slug"), changeOf(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}
