package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// DCS error codes: "111", the HTTP status, then a sequence number.
const (
	codeBadProjectID = "111400002"
	codeBadParameter = "111400063"
	codeInternal     = "111500000"
	// The API gateway, not DCS, answers failed authentication.
	codeGatewayAuth = "APIGW.0301"
)

// LimitError is a request that would take the fake past one of its
// limits. Nothing of it is applied.
type LimitError struct {
	Limit string // the constant or option, such as "MaxInstances"
	What  string // what is limited, such as "the instances in the store"
	Max   int64
	Want  int64 // what the request would need; 0 if not known
}

func (e *LimitError) Error() string {
	if e.Want > 0 {
		return fmt.Sprintf("limit %s exceeded: %s would be %d, at most %d", e.Limit, e.What, e.Want, e.Max)
	}
	return fmt.Sprintf("limit %s exceeded: %s: at most %d", e.Limit, e.What, e.Max)
}

// httpError is an answer that the HTTP layer decides: its status,
// error_code and error_msg.
type httpError struct {
	status    int
	code, msg string
	err       error // the cause, if any
}

func (e *httpError) Error() string { return e.msg }
func (e *httpError) Unwrap() error { return e.err }

var (
	errNoSuchURL    = &httpError{http.StatusNotFound, "111404001", "the URL does not exist", nil}
	errMethod       = &httpError{http.StatusMethodNotAllowed, "111405001", "method not allowed", nil}
	errBadProjectID = &httpError{http.StatusBadRequest, codeBadProjectID, "invalid project ID format: project_id must be " + dcs.ProjectIDRule, nil}
	errInternal     = &httpError{http.StatusInternalServerError, codeInternal, "internal service error", nil}
)

// badRequest is a request that the spec, the generated binding or a
// check of the admin API refuses.
func badRequest(err error) error {
	return &httpError{http.StatusBadRequest, codeBadParameter, "invalid parameter in the request: " + err.Error(), err}
}

// authError is a request that fails authentication. Its reason must never
// carry a secret: it goes into the answer, the log and the journal.
type authError struct {
	reason string
	err    error // the signer's verdict, if any
}

func (e *authError) Error() string { return e.reason }
func (e *authError) Unwrap() error { return e.err }

// answer is the one place where an error becomes an HTTP status, an error
// code and a message.
func answer(err error) (status int, code, msg string) {
	if e, ok := errors.AsType[*httpError](err); ok {
		return e.status, e.code, e.msg
	}
	if e, ok := errors.AsType[*authError](err); ok {
		return http.StatusUnauthorized, codeGatewayAuth, "Incorrect IAM authentication information: " + e.reason
	}
	_, invalid := errors.AsType[*InvalidError](err)
	_, limit := errors.AsType[*LimitError](err)
	switch {
	case limit:
		return http.StatusRequestEntityTooLarge, "111413001", err.Error()
	case errors.Is(err, ErrExists):
		return http.StatusConflict, "111409001", err.Error()
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "111404002", err.Error()
	case invalid:
		return http.StatusBadRequest, codeBadParameter, err.Error()
	}
	return http.StatusInternalServerError, codeInternal, errInternal.msg
}

// writeError answers with err as the spec's error body: the gateway's
// shape for 401, DCS's ErrorResponse for everything else, with an IAM
// code, "IAM.0" and the status, on a path of iam.yaml.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := answer(err)
	if status != http.StatusUnauthorized && isIAM(r.URL.Path) {
		code = fmt.Sprintf("IAM.%04d", status)
	}
	if sw, ok := w.(*statusWriter); ok {
		sw.err, sw.code = err, code
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(status, code, msg, w.Header().Get(headerRequestID)))
}

func errorBody(status int, code, msg, requestID string) []byte {
	msg = truncate(msg, 1024)
	var body any = gen.ErrorResponse{ErrorCode: code, ErrorMsg: msg}
	if status == http.StatusUnauthorized {
		body = gen.GatewayErrorResponse{ErrorCode: code, ErrorMsg: msg, RequestId: requestID}
	}
	data, _ := json.Marshal(body) // our own bodies always marshal
	return data
}

// isIAM reports whether p is a path of iam.yaml; everything else but the
// admin API is the DCS API's, unknown paths included.
func isIAM(p string) bool {
	return strings.HasPrefix(p, "/v3/") && specs().iam.Paths.Value(p) != nil
}
