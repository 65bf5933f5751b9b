package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Me is the current user.
type Me struct {
	ID int64 `json:"id" example:"1"`
	// Issuer and Subject identify the user at the identity vendor.
	Issuer    string    `json:"issuer" example:"https://example.okta.com/oauth2/default"`
	Subject   string    `json:"subject" example:"00u1abcd2EFGH3ijk4x7"`
	Email     *string   `json:"email" example:"alice@example.com"`
	Name      *string   `json:"name" example:"Alice"`
	CreatedAt time.Time `json:"created_at" example:"2026-11-24T12:00:00Z"`
}

// getMe returns the user the token belongs to.
//
//	@Summary		The current user
//	@Description	Created on the first authenticated request from the token's issuer and subject; email and name follow the token's claims.
//	@ID				getMe
//	@Tags			users
//	@Produce		json
//	@Success		200	{object}	Me
//	@Failure		401	{object}	Problem	"missing or invalid bearer token"
//	@Failure		429	{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/me [get]
func (s *Server) getMe(c *gin.Context) {
	if !noQuery(c) {
		return
	}
	u, err := s.reader(c).UserGetByID(c.Request.Context(), currentUserID(c))
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusOK, Me{ID: u.ID, Issuer: u.Issuer, Subject: u.Subject, Email: u.Email, Name: u.Name, CreatedAt: u.CreatedAt})
}
