package server

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Fault disturbs the next Times requests to the DCS API (never those to
// /_fake/): first Delay, then Drop or an error answer with Status, or else
// the normal answer.
type Fault struct {
	Status int           // 400 to 599; 0 for no error answer
	Delay  time.Duration // wait this long before answering; at most MaxFaultDelay
	Drop   bool          // close the connection without an answer
	Times  int           // how many requests; 0 means 1
}

func (f Fault) check() error {
	switch {
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return &InvalidError{Index: -1, Field: "status", Err: fmt.Errorf("%d is not an HTTP error status (400 to 599)", f.Status)}
	case f.Delay < 0:
		return &InvalidError{Index: -1, Field: "delay", Err: fmt.Errorf("%v is negative", f.Delay)}
	case f.Delay > MaxFaultDelay:
		return &InvalidError{Index: -1, Field: "delay", Err: fmt.Errorf("%v is over %v (MaxFaultDelay)", f.Delay, MaxFaultDelay)}
	case f.Times < 0:
		return &InvalidError{Index: -1, Field: "times", Err: fmt.Errorf("%d is negative", f.Times)}
	}
	return nil
}

// InjectFault queues f behind any fault still pending. It panics if f is
// not a possible fault (a Status outside 400 to 599, a negative Delay or
// Times, a Delay over MaxFaultDelay) or if MaxPendingFaults are queued
// already, as a programming error.
func (s *Server) InjectFault(f Fault) {
	if err := s.faults.push(f); err != nil {
		panic("server: InjectFault: " + err.Error())
	}
}

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

// next takes one request's worth of the oldest fault.
func (q *faultQueue) next() (Fault, bool) {
	if q.pending.Load() == 0 {
		return Fault{}, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return Fault{}, false
	}
	f := q.queue[0]
	if q.queue[0].Times--; q.queue[0].Times == 0 {
		q.queue = q.queue[1:]
		q.pending.Store(int64(len(q.queue)))
	}
	return f, true
}

func (q *faultQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = nil
	q.pending.Store(0)
}

// faultError is the answer to a request that a Fault fails.
type faultError struct{ status int }

func (e *faultError) Error() string { return fmt.Sprintf("injected fault: %d", e.status) }

func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.faults.next()
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
			s.writeError(w, r, &faultError{f.Status})
		default:
			next.ServeHTTP(w, r)
		}
	})
}
