package httpserve

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
)

// plainErrorHeaders is what follows the status line of every answer that
// net/http's server writes by itself, before a handler could run: 400 for
// a request it cannot parse (a bad request line, a NUL or CR in the
// target), 431 for headers over MaxHeaderBytes, 501 for an unknown
// Transfer-Encoding, 505 for an unknown HTTP version. A handler's answer
// never looks like this: net/http adds a Date header to those.
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// expectationFailed is the start of net/http's answer to an Expect header
// other than 100-continue, which it gives without calling the handler:
// 417, Connection: close, a Date and no body. No handler of dcskit
// answers 417.
const expectationFailed = " 417 Expectation Failed\r\nConnection: close\r\n"

// Answer makes the replacement for one of net/http's own plain-text
// answers: text is its body, such as "431 Request Header Fields Too
// Large". It returns the headers (Content-Type included) and the body.
type Answer func(status int, text string) (http.Header, []byte)

// RewritePlainErrors wraps ln so that net/http's own plain-text answers
// go out as answer makes them, with the same status and Connection:
// close. Everything else passes through untouched.
//
// net/http writes those answers straight to the connection, in one Write,
// and offers no hook for them; the connection is the only place to catch
// them. A client that never finishes its headers gets no answer at all
// from net/http (it closes the connection at ReadHeaderTimeout), and so
// none from here either.
func RewritePlainErrors(ln net.Listener, answer Answer) net.Listener {
	return &rewriteListener{Listener: ln, answer: answer}
}

type rewriteListener struct {
	net.Listener
	answer Answer
}

func (l *rewriteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &rewriteConn{Conn: c, answer: l.answer}, nil
}

type rewriteConn struct {
	net.Conn
	answer Answer
}

func (c *rewriteConn) Write(b []byte) (int, error) {
	status, text, ok := parsePlainError(b)
	if !ok {
		return c.Conn.Write(b)
	}
	header, body := c.answer(status, text)
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %03d %s\r\n", status, http.StatusText(status))
	for _, k := range slices.Sorted(maps.Keys(header)) {
		for _, v := range header[k] {
			fmt.Fprintf(&out, "%s: %s\r\n", k, v)
		}
	}
	out.WriteString("Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	out.Write(body)
	if _, err := c.Conn.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite keeps net/http's lingering close after a 431 working: it
// half-closes the connection so that a client still sending its request
// reads the answer instead of a reset.
func (c *rewriteConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// parsePlainError recognises one of net/http's own answers: a status
// line, plainErrorHeaders, a short body; or its 417 to an unknown
// expectation.
func parsePlainError(b []byte) (status int, text string, ok bool) {
	if len(b) < len("HTTP/1.1 400 ") || !bytes.HasPrefix(b, []byte("HTTP/1.")) || b[8] != ' ' {
		return 0, "", false
	}
	if bytes.HasPrefix(b[8:], []byte(expectationFailed)) && bytes.HasSuffix(b, []byte("\r\nContent-Length: 0\r\n\r\n")) {
		return http.StatusExpectationFailed, "417 Expectation Failed: only the expectation 100-continue is supported", true
	}
	end := bytes.Index(b[:min(len(b), 256)], []byte("\r\n"))
	if end < 0 || !bytes.HasPrefix(b[end:], []byte(plainErrorHeaders)) {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(b[9:12]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	return status, string(b[end+len(plainErrorHeaders):]), true
}
