package server

import (
	"github.com/dcskit/dcskit/dcs"

	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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
	// must be one dcs.yaml allows: APIGW and 4 digits for a 401, else at
	// most 9 characters.
	ErrorCode string
	ErrorMsg  string
	// RetryAfter adds a Retry-After header to the error answer, in whole
	// seconds rounded up; 0 adds none. At most MaxFaultRetryAfter.
	RetryAfter time.Duration
}

var (
	// faultCode is what admin.yaml's Fault allows of an error_code.
	faultCode = regexp.MustCompile(`^[A-Za-z0-9._-]{1,10}$`)
	// gatewayCode is dcs.yaml's GatewayErrorResponse error_code.
	gatewayCode = regexp.MustCompile(`^APIGW\.[0-9]{4}$`)
)

// maxErrorMsg is dcs.yaml's maxLength of error_msg, in characters.
const maxErrorMsg = 1024

func (f Fault) check() error {
	invalid := func(field, format string, args ...any) error {
		return &InvalidError{Index: -1, Field: field, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case f.ProjectID != "" && !dcs.ValidProjectID(f.ProjectID):
		return invalid("project_id", "%q is not %s", truncate(f.ProjectID, 80), dcs.ProjectIDRule)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return invalid("status", "%d is not an HTTP error status (400 to 599)", f.Status)
	case f.Delay < 0:
		return invalid("delay", "%v is negative", f.Delay)
	case f.Delay > MaxFaultDelay:
		return invalid("delay", "%v is over %v (MaxFaultDelay)", f.Delay, MaxFaultDelay)
	case f.Times < 0:
		return invalid("times", "%d is negative", f.Times)
	case f.RetryAfter < 0:
		return invalid("retry_after", "%v is negative", f.RetryAfter)
	case f.RetryAfter > MaxFaultRetryAfter:
		return invalid("retry_after", "%v is over %v (MaxFaultRetryAfter)", f.RetryAfter, MaxFaultRetryAfter)
	case f.Status == 0 && (f.ErrorCode != "" || f.ErrorMsg != "" || f.RetryAfter != 0):
		return invalid("status", "error_code, error_msg and retry_after shape an error answer: give its status too")
	case f.ErrorCode != "" && f.Status == http.StatusUnauthorized && !gatewayCode.MatchString(f.ErrorCode):
		return invalid("error_code", "%q is not a gateway code (APIGW and 4 digits), which a 401 carries", truncate(f.ErrorCode, 80))
	case f.ErrorCode != "" && f.Status != http.StatusUnauthorized && (!faultCode.MatchString(f.ErrorCode) || len(f.ErrorCode) > 9):
		return invalid("error_code", "%q is not 1 to 9 letters, digits, '.', '_' or '-'", truncate(f.ErrorCode, 80))
	case len([]rune(f.ErrorMsg)) > maxErrorMsg:
		return invalid("error_msg", "longer than %d characters", maxErrorMsg)
	}
	return nil
}

// InjectFault queues f behind any fault still pending. It panics if f is
// not a possible fault (see Fault: a Status outside 400 to 599, a
// negative Delay or Times, a Delay over MaxFaultDelay, an error code
// dcs.yaml does not allow...) or if MaxPendingFaults are queued already,
// as a programming error.
func (s *Server) InjectFault(f Fault) {
	if err := s.faults.push(f); err != nil {
		panic("server: InjectFault: " + err.Error())
	}
}

// Faults returns the pending faults in the order they apply, each with
// the Times it has left.
func (s *Server) Faults() []Fault { return s.faults.list() }

// faultQueue holds pending faults, oldest first.
type faultQueue struct {
	// pending is len(queue), readable without the lock: every request
	// asks, and almost always there is nothing.
	pending atomic.Int64
	mu      sync.Mutex
	queue   []Fault
}

func (q *faultQueue) push(f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	f.Times = max(f.Times, 1)
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) >= MaxPendingFaults {
		return &LimitError{Limit: "MaxPendingFaults", What: "the faults queued", Max: MaxPendingFaults, Want: int64(len(q.queue) + 1)}
	}
	q.queue = append(q.queue, f)
	q.pending.Store(int64(len(q.queue)))
	return nil
}

// next takes one request's worth of the oldest fault that applies to
// project.
func (q *faultQueue) next(project string) (Fault, bool) {
	if q.pending.Load() == 0 {
		return Fault{}, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.IndexFunc(q.queue, func(f Fault) bool { return f.ProjectID == "" || f.ProjectID == project })
	if i < 0 {
		return Fault{}, false
	}
	f := q.queue[i]
	if q.queue[i].Times--; q.queue[i].Times == 0 {
		q.queue = slices.Delete(q.queue, i, i+1)
		q.pending.Store(int64(len(q.queue)))
	}
	return f, true
}

func (q *faultQueue) list() []Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.queue)
}

func (q *faultQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = nil
	q.pending.Store(0)
}

// faultError is the answer to a request that a Fault fails.
type faultError struct{ f Fault }

func (e *faultError) Error() string {
	if e.f.ErrorMsg != "" {
		return e.f.ErrorMsg
	}
	return fmt.Sprintf("injected fault: %d", e.f.Status)
}

// code is the answer's error_code.
func (e *faultError) code() string {
	switch {
	case e.f.ErrorCode != "":
		return e.f.ErrorCode
	case e.f.Status == http.StatusUnauthorized:
		return codeGatewayAuth // a 401 always comes from the gateway
	}
	return fmt.Sprintf("111%03d000", e.f.Status)
}

func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.faults.next(r.PathValue("project_id"))
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case f.Drop:
			// net/http closes the connection without an answer and
			// without logging a stack trace.
			panic(http.ErrAbortHandler)
		case f.Status != 0:
			if f.RetryAfter > 0 {
				secs := (f.RetryAfter + time.Second - 1) / time.Second
				w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
			}
			s.writeError(w, r, &faultError{f})
		default:
			next.ServeHTTP(w, r)
		}
	})
}
