package server

import (
	"net/http"

	"github.com/dcskit/dcskit/dcs"
)

// WrapRoutes puts mw between the fake's outer layer (request ids, the log
// line, panic recovery) and its routes, where a bug in a handler would
// strike: tests make requests panic there. Call it before Handler.
func WrapRoutes(s *Server, mw func(http.Handler) http.Handler) {
	s.handler = s.observe(mw(http.HandlerFunc(s.route)))
}

// DroppedRequests is the journal's count of requests let go, which
// users read as "dropped" in GET /_fake/requests.
func (s *Server) DroppedRequests() int {
	s.journal.mu.Lock()
	defer s.journal.mu.Unlock()
	return s.journal.dropped
}

// setStatus and schedule are Update of one instance.
func setStatus(s *Server, id string, st dcs.Status) error {
	_, err := s.Update(Filter{ID: id}, &st, nil)
	return err
}

func schedule(s *Server, id string, t Transition) error {
	_, err := s.Update(Filter{ID: id}, nil, &t)
	return err
}
