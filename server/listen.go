package server

import (
	"net"
	"net/http"

	"github.com/dcskit/dcskit/internal/httpserve"
)

// Listener wraps ln for serving the fake: the few answers that net/http
// gives by itself, before the fake's handler sees the request (400 for a
// request line it cannot parse, 431 for headers over the limit, 501, 505),
// go out as the fake's JSON errors with an X-Request-Id, like every other
// answer. Start uses it; so does `dcskit serve`.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return httpserve.RewritePlainErrors(ln, s.rejected)
}

// rejected answers a request that net/http refused, with text as its
// reason.
func (s *Server) rejected(status int, text string) (http.Header, []byte) {
	id := newRequestID()
	err := &transportError{status: status, text: text}
	s.log.Warn("request rejected before routing", "request_id", id, "status", status, "error", err.Error())
	_, code, msg := answer(err)
	h := http.Header{"Content-Type": {"application/json"}, headerRequestID: {id}}
	return h, errorBody(status, code, msg, id)
}
