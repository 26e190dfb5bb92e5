package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// DCS error codes: "111", the HTTP status, then a sequence number.
const (
	codeBadProjectID   = "111400002"
	codeBadParameter   = "111400063"
	codeNoSuchURL      = "111404001"
	codeNoSuchInstance = "111404002"
	codeNoPermission   = "111403003"
	codeMethod         = "111405001"
	codeExists         = "111409001"
	codeLimit          = "111413001"
	codeMediaType      = "111415001"
	codeInternal       = "111500000"
	// The API gateway, not DCS, answers failed authentication.
	codeGatewayAuth = "APIGW.0301"
)

// Errors of the HTTP layer. The store's are in store.go, fixture.go and
// fault.go; answer maps them all.
var (
	errNoSuchURL    = errors.New("the URL does not exist")
	errMethod       = errors.New("method not allowed")
	errBadProjectID = errors.New("invalid project ID format: project_id must be " + dcs.ProjectIDRule)
	errInternal     = errors.New("internal service error")
)

// requestError is a request that the spec or the generated parameter
// binding rejects.
type requestError struct{ err error }

func (e *requestError) Error() string { return "invalid parameter in the request: " + e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// authError is a request that fails authentication. Its text must never
// carry a secret: it goes into the response and the log.
type authError struct {
	reason string
	cause  error // the signer's verdict, if any
}

func (e *authError) Error() string { return e.reason }
func (e *authError) Unwrap() error { return e.cause }

// transportError is a request that net/http refused before routing it;
// text is what net/http would have answered in plain text.
type transportError struct {
	status int
	text   string
}

func (e *transportError) Error() string { return "request rejected by the HTTP server: " + e.text }

// answer is the one place where an error becomes an HTTP status, an error
// code and a message.
func answer(err error) (status int, code, msg string) {
	if fe, ok := errors.AsType[*faultError](err); ok {
		return fe.f.Status, fe.code(), err.Error()
	}
	if te, ok := errors.AsType[*transportError](err); ok {
		code := fmt.Sprintf("111%03d000", te.status)
		if te.status == http.StatusBadRequest {
			code = codeBadParameter
		}
		return te.status, code, err.Error()
	}
	switch {
	case isA[*LimitError](err):
		return http.StatusRequestEntityTooLarge, codeLimit, err.Error()
	case isA[*mediaTypeError](err):
		return http.StatusUnsupportedMediaType, codeMediaType, err.Error()
	case isA[*adminAuthError](err):
		return http.StatusForbidden, codeNoPermission, err.Error()
	case isA[*authError](err):
		return http.StatusUnauthorized, codeGatewayAuth, "Incorrect IAM authentication information: " + err.Error()
	case errors.Is(err, errNoSuchURL):
		return http.StatusNotFound, codeNoSuchURL, err.Error()
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, codeMethod, err.Error()
	case errors.Is(err, errBadProjectID):
		return http.StatusBadRequest, codeBadProjectID, err.Error()
	case errors.Is(err, ErrExists):
		return http.StatusConflict, codeExists, err.Error()
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, codeNoSuchInstance, err.Error()
	case isA[*requestError](err), isA[*InvalidError](err), isA[*FixtureError](err):
		return http.StatusBadRequest, codeBadParameter, err.Error()
	}
	return http.StatusInternalServerError, codeInternal, errInternal.Error()
}

func isA[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

// writeError answers with err as the spec's error body: the gateway's
// shape for 401, DCS's ErrorResponse for everything else, with an IAM
// code (iamCode) for a path of iam.yaml.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	noteError(w, err)
	status, code, msg := answer(err)
	if status != http.StatusUnauthorized && s.isIAM(r) {
		code = iamCode(status)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(status, code, msg, w.Header().Get(headerRequestID)))
}

// errorBody is the spec's error body: the gateway's shape for 401, DCS's
// ErrorResponse for everything else.
func errorBody(status int, code, msg, requestID string) []byte {
	msg = truncate(msg, 1024)
	var body any = gen.ErrorResponse{ErrorCode: code, ErrorMsg: msg}
	if status == http.StatusUnauthorized {
		body = gen.GatewayErrorResponse{ErrorCode: code, ErrorMsg: msg, RequestId: requestID}
	}
	data, err := json.Marshal(body)
	if err != nil {
		// Only our own error bodies come here, and they always marshal.
		panic(err)
	}
	return data
}

// badRequest is the generated handlers' ErrorHandlerFunc: they call it
// for parameters and bodies they cannot bind.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, &requestError{err})
}

// truncate keeps s within max characters, as the spec's maxLength counts.
func truncate(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}
