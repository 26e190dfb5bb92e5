package server

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dcskit/dcskit/dcs"
)

// Fault disturbs the next Times requests to the DCS API (never those to
// /_fake/ or IAM), or, with ProjectID, the next Times requests for that
// project: first Delay, then Drop or an error answer with Status, or else
// the normal answer.
type Fault struct {
	// ProjectID limits the fault to requests for this project; "" means
	// every project. Faults for other projects let its requests by.
	ProjectID string
	Status    int           // 400 to 599; 0 for no error answer
	Delay     time.Duration // wait this long before answering; at most MaxFaultDelay
	Drop      bool          // close the connection without an answer
	Times     int           // how many requests; 0 means 1
	// ErrorCode and ErrorMsg replace the error answer's error_code
	// ("111", Status, "000"; APIGW.0301 for 401) and error_msg. The code
	// must be one dcs.yaml allows: APIGW and 4 digits for a 401, else 1
	// to 9 letters, digits, '.', '_' or '-'.
	ErrorCode string
	ErrorMsg  string
	// RetryAfter adds a Retry-After header to the error answer, in whole
	// seconds rounded up; 0 adds none. At most MaxFaultRetryAfter.
	RetryAfter time.Duration
}

var (
	faultCode   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,9}$`)
	gatewayCode = regexp.MustCompile(`^APIGW\.[0-9]{4}$`) // dcs.yaml's GatewayErrorResponse
)

func (f Fault) check() error {
	switch {
	case f.ProjectID != "" && !dcs.ValidProjectID(f.ProjectID):
		return invalidID("project_id", f.ProjectID)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return invalid("status", "%d is not an HTTP error status (400 to 599)", f.Status)
	case f.Delay < 0 || f.Delay > MaxFaultDelay:
		return invalid("delay", "%v is out of range 0 to %v (MaxFaultDelay)", f.Delay, MaxFaultDelay)
	case f.Times < 0:
		return invalid("times", "%d is negative", f.Times)
	case f.RetryAfter < 0 || f.RetryAfter > MaxFaultRetryAfter:
		return invalid("retry_after", "%v is out of range 0 to %v (MaxFaultRetryAfter)", f.RetryAfter, MaxFaultRetryAfter)
	case f.Status == 0 && (f.ErrorCode != "" || f.ErrorMsg != "" || f.RetryAfter != 0):
		return invalid("status", "error_code, error_msg and retry_after shape an error answer: give its status too")
	case f.ErrorCode != "" && f.Status == http.StatusUnauthorized && !gatewayCode.MatchString(f.ErrorCode):
		return invalid("error_code", "%q is not a gateway code (APIGW and 4 digits), which a 401 carries", truncate(f.ErrorCode, 80))
	case f.ErrorCode != "" && f.Status != http.StatusUnauthorized && !faultCode.MatchString(f.ErrorCode):
		return invalid("error_code", "%q is not 1 to 9 letters, digits, '.', '_' or '-'", truncate(f.ErrorCode, 80))
	case utf8.RuneCountInString(f.ErrorMsg) > 1024: // dcs.yaml's maxLength
		return invalid("error_msg", "longer than 1024 characters")
	}
	return nil
}

// InjectFault queues f behind any fault still pending. It panics if f is
// not a possible fault (see Fault) or if MaxPendingFaults are queued
// already, as a programming error.
func (s *Server) InjectFault(f Fault) {
	if err := s.store.pushFault(f); err != nil {
		panic("server: InjectFault: " + err.Error())
	}
}

// Faults returns the pending faults in the order they apply, each with
// the Times it has left.
func (s *Server) Faults() []Fault {
	s.store.lock()
	defer s.store.mu.Unlock()
	return slices.Clone(s.store.faults)
}

func (s *store) pushFault(f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	if len(s.faults) >= MaxPendingFaults {
		return &LimitError{Limit: "MaxPendingFaults", What: "the faults queued", Max: MaxPendingFaults, Want: int64(len(s.faults) + 1)}
	}
	f.Times = max(f.Times, 1)
	s.faults = append(s.faults, f)
	return nil
}

// nextFault takes one request's worth of the oldest fault for project.
func (s *store) nextFault(project string) (Fault, bool) {
	s.lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.faults, func(f Fault) bool { return f.ProjectID == "" || f.ProjectID == project })
	if i < 0 {
		return Fault{}, false
	}
	f := s.faults[i]
	if s.faults[i].Times--; s.faults[i].Times == 0 {
		s.faults = slices.Delete(s.faults, i, i+1)
	}
	return f, true
}

// fault applies the next fault for project to r, if there is one, and
// reports whether that answered r.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, project string) bool {
	f, ok := s.store.nextFault(project)
	if !ok {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true // nobody is left to answer
		}
	}
	switch {
	case f.Drop:
		panic(http.ErrAbortHandler) // net/http closes the connection, logging nothing
	case f.Status == 0:
		return false
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((f.RetryAfter+time.Second-1)/time.Second), 10))
	}
	e := &httpError{f.Status, f.ErrorCode, f.ErrorMsg, nil}
	switch {
	case e.code == "" && f.Status == http.StatusUnauthorized:
		e.code = "APIGW.0301" // a 401 always comes from the gateway
	case e.code == "":
		e.code = fmt.Sprintf("111%03d000", f.Status)
	}
	if e.msg == "" {
		e.msg = fmt.Sprintf("injected fault: %d", f.Status)
	}
	s.writeError(w, r, e)
	return true
}
