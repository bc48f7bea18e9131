package server

import (
	"net/http"

	"github.com/virmo/virmo/server/dmsession"
)

// newDMHandler builds the DM session engine that serves /dm.
func (s *Server) newDMHandler() http.Handler {
	return dmsession.New(dmsession.Config{
		Store:       s.store,
		Hooks:       s.Hooks(),
		Sealer:      s.sealer,
		ServerURL:   s.dmURL,
		ServerID:    s.serverID,
		Logger:      s.logger,
		MaxAttempts: s.maxAttempts,
		Now:         s.now,
	})
}
