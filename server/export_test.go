package server

import "net/http"

// WrapRoutes puts mw between the fake's outer layer (request ids, the log
// line, panic recovery) and its routes, where a bug in a handler would
// strike: tests make requests panic there. Call it before Handler.
func WrapRoutes(s *Server, mw func(http.Handler) http.Handler) {
	s.handler = s.observe(mw(http.HandlerFunc(s.route)))
}
