package server

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Listener wraps ln for serving the fake: the few answers that net/http
// gives by itself, before any handler runs (400 for a request it cannot
// parse, 431, 501, 505, and 417 for an Expect other than 100-continue),
// go out as the fake's JSON errors with an X-Request-Id, like every other
// answer. Start uses it; so does `dcskit serve`.
func (s *Server) Listener(ln net.Listener) net.Listener { return listener{ln, s} }

type listener struct {
	net.Listener
	s *Server
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return conn{c, l.s}, nil
}

// conn catches net/http's own answers, which it writes straight to the
// connection in one Write, and offers no hook for.
type conn struct {
	net.Conn
	s *Server
}

func (c conn) Write(b []byte) (int, error) {
	status, text := plainAnswer(b)
	if status == 0 {
		return c.Conn.Write(b)
	}
	id, code := newRequestID(), fmt.Sprintf("111%03d000", status)
	if status == http.StatusBadRequest {
		code = codeBadParameter
	}
	msg := "request rejected by the HTTP server: " + text
	c.s.log.Warn("request rejected before routing", "request_id", id, "status", status, "error", msg)
	body := errorBody(status, code, msg, id)
	if _, err := fmt.Fprintf(c.Conn, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Request-Id: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), id, len(body), body); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite keeps net/http's lingering close after a 431 working, so
// that a client still sending its request reads the answer.
func (c conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// plainHeaders follow the status line of net/http's plain-text answers;
// a handler's answer carries the fake's own headers, Content-Type first.
const plainHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// plainAnswer is the status and text of one of net/http's own answers,
// or 0. Its 417, the only one with Connection first, has no text.
func plainAnswer(b []byte) (int, string) {
	if len(b) < len("HTTP/1.1 400 ") || !bytes.HasPrefix(b, []byte("HTTP/1.")) {
		return 0, ""
	}
	status, err := strconv.Atoi(string(b[9:12]))
	if err != nil || status < 400 {
		return 0, ""
	}
	if bytes.HasPrefix(b[12:], []byte(" Expectation Failed\r\nConnection: close\r\n")) {
		return status, "417 Expectation Failed: only the expectation 100-continue is supported"
	}
	line, text, ok := bytes.Cut(b, []byte(plainHeaders))
	if !ok || bytes.Contains(line, []byte("\r\n")) {
		return 0, ""
	}
	return status, string(text)
}

// ManualClock is a clock for Options.Clock that moves only when Advance
// moves it, so that a test moves scheduled changes instead of sleeping.
// It is safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
