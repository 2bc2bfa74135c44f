package editor

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/httperr"
	"newsflash/internal/stream"
)

// Register adds the editor account routes under g (the /api/v1 group):
// all of them need an admin, but GET /editors/me, which any editor may ask.
func (a *Accounts) Register(g *gin.RouterGroup) {
	g.GET("/editors/me", a.RequireEditor(), serveMe)
	adm := g.Group("/editors", a.RequireEditor(), RequireRole(RoleAdmin))
	adm.GET("", a.serveList)
	adm.POST("", a.serveCreate)
	adm.PATCH("/:name", a.serveSetRole)
	adm.POST("/:name/token", a.serveRotate)
	adm.DELETE("/:name", a.serveRevoke)
}

// accountAnswer is an account as the API answers a change: the token only
// when one was just made.
type accountAnswer struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Token   string    `json:"token,omitempty"`
}

func answer(acc stream.Account, token string) accountAnswer {
	return accountAnswer{Name: acc.Name, Role: acc.Role, Created: acc.Created, Token: token}
}

func changeBy(c *gin.Context) Change { return Change{By: EditorName(c), Client: c.ClientIP()} }

// serveMe answers who the token belongs to and the role it has, so a
// client (the newsroom console) shows only what that role may do. The
// server still checks every request.
func serveMe(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"name": EditorName(c), "role": Role(c)})
}

func (a *Accounts) serveList(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"editors": a.List()})
}

func (a *Accounts) serveCreate(c *gin.Context) {
	var body struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := httperr.DecodeJSON(c, &body); err != nil {
		httperr.Abort(c, err)
		return
	}
	token, acc, err := a.Create(c.Request.Context(), body.Name, body.Role, changeBy(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, answer(acc, token))
}

func (a *Accounts) serveSetRole(c *gin.Context) {
	var body struct {
		Role string `json:"role"`
	}
	if err := httperr.DecodeJSON(c, &body); err != nil {
		httperr.Abort(c, err)
		return
	}
	acc, err := a.SetRole(c.Request.Context(), c.Param("name"), body.Role, changeBy(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.JSON(http.StatusOK, answer(acc, ""))
}

func (a *Accounts) serveRotate(c *gin.Context) {
	token, acc, err := a.Rotate(c.Request.Context(), c.Param("name"), changeBy(c))
	if err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, answer(acc, token))
}

func (a *Accounts) serveRevoke(c *gin.Context) {
	if err := a.Revoke(c.Request.Context(), c.Param("name"), changeBy(c)); err != nil {
		httperr.Abort(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
