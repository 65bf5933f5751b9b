package api

import (
	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/db"
)

// userIDKey holds the current user's id in the gin context.
const userIDKey = "user_id"

// placeholderSubject is the one user every /v1 request acts as until
// token authentication lands (issue 5 removes this file).
const placeholderSubject = "user-1"

// developmentUser is a clearly temporary stand-in for authentication: it
// makes every /v1 request act as the dev issuer's user-1. The server only
// starts in AUTH_MODE=dev, which only listens on loopback, so this user is
// never reachable from another machine.
func (s *Server) developmentUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := s.devUserID.Load()
		if id == 0 {
			u, err := s.store.UpsertUser(c.Request.Context(), db.UserUpsertParams{
				Issuer:  auth.DevIssuer,
				Subject: placeholderSubject,
			})
			if err != nil {
				abortError(c, err)
				return
			}
			id = u.ID
			s.devUserID.Store(id)
		}
		c.Set(userIDKey, id)
		c.Next()
	}
}

// currentUserID returns the id of the user the request acts for.
func currentUserID(c *gin.Context) int64 {
	return c.GetInt64(userIDKey)
}
