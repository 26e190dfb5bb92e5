package server

import (
	"net/http"

	"github.com/dcskit/dcskit/dcs"
)

// WrapRoutes puts mw between the fake's outer layer (request ids, the log
// line, panic recovery) and its routes, where a bug in a handler would
// strike: tests make requests panic there. Call it before the server
// serves anything.
func WrapRoutes(s *Server, mw func(http.Handler) http.Handler) {
	s.handler = s.observe(mw(s.routes))
}

// CountsAnswer is the fake's 200 answer for counts, as the strict server
// writes it.
func CountsAnswer(w http.ResponseWriter, counts dcs.Counts) error {
	return countsAnswer(counts).VisitListNumberOfInstancesInDifferentStatusResponse(w)
}
