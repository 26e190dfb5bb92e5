package signer

import (
	"fmt"
	"strings"
)

// Authorization is the parsed value of an SDK-HMAC-SHA256 Authorization
// header.
type Authorization struct {
	AccessKey     string
	SignedHeaders []string // lower-case, sorted, no duplicates
	Signature     string   // lower-case hex HMAC-SHA256
}

// String formats the header value exactly as the official SDK does.
func (a Authorization) String() string {
	return algorithm + " Access=" + a.AccessKey + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
}

// ParseAuthorization parses the header value strictly: the algorithm and
// one space, then Access, SignedHeaders and Signature once each, in any
// order, separated by commas (spaces after a comma are allowed). The
// header list must be non-empty, lower-case and sorted without duplicates,
// and the signature 64 lower-case hex digits. Every failure wraps
// ErrMalformed; the error never quotes the input.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	if len(h) > maxAuthorizationLen {
		return a, malformed("longer than %d bytes", maxAuthorizationLen)
	}
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return a, malformed("does not start with %q", algorithm+" ")
	}
	fields := strings.Split(rest, ",")
	if len(fields) != 3 {
		return a, malformed("want 3 comma-separated fields, got %d", len(fields))
	}
	for i, f := range fields {
		if i > 0 {
			f = strings.TrimLeft(f, " ")
		}
		name, value, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return Authorization{}, malformed("field %d has no '='", i+1)
		case name == "Access" && a.AccessKey != "" || name == "SignedHeaders" && a.SignedHeaders != nil || name == "Signature" && a.Signature != "":
			return Authorization{}, malformed("repeated field %s", name)
		case name == "Access" && (value == "" || len(value) > 128 || !accessKeyChars.all(value)):
			return Authorization{}, malformed("Access must be 1 to 128 letters, digits, '-', '_' or '.'")
		case name == "Access":
			a.AccessKey = value
		case name == "SignedHeaders":
			a.SignedHeaders = strings.Split(value, ";")
			for i, n := range a.SignedHeaders {
				if n == "" || !headerNameChars.all(n) {
					return Authorization{}, malformed("SignedHeaders entry %d is not a lower-case header name", i+1)
				}
				if i > 0 && a.SignedHeaders[i-1] >= n {
					return Authorization{}, malformed("SignedHeaders must be sorted without duplicates")
				}
			}
		case name == "Signature" && (len(value) != 64 || !hexChars.all(value)):
			return Authorization{}, malformed("Signature must be 64 lower-case hex digits")
		case name == "Signature":
			a.Signature = value
		default:
			return Authorization{}, malformed("unknown field name")
		}
	}
	return a, nil
}

// charset is a set of bytes. strings.Trim with a cutset would tell the
// same, but builds its set on every call: Verify parses a header on every
// request the fake serves.
type charset [256]bool

func newCharset(chars string) (c charset) {
	for i := range len(chars) {
		c[chars[i]] = true
	}
	return c
}

// all reports whether every byte of s is in c.
func (c *charset) all(s string) bool {
	for i := range len(s) {
		if !c[s[i]] {
			return false
		}
	}
	return true
}

var (
	accessKeyChars  = newCharset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
	headerNameChars = newCharset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~") // RFC 9110 token, lower case
	hexChars        = newCharset("0123456789abcdef")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: Authorization: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// RedactAuthorization is an Authorization header fit for a log: its
// algorithm, access key and signed headers as they were, its signature
// replaced by RedactedValue. A value that does not parse is replaced
// whole, since nothing tells which part of it is the signature.
func RedactAuthorization(h string) string {
	a, err := ParseAuthorization(h)
	if err != nil {
		return RedactedValue
	}
	a.Signature = RedactedValue
	return a.String()
}
