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
	return Algorithm + " Access=" + a.AccessKey +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
		", Signature=" + a.Signature
}

const (
	maxAuthorizationLen = 8 << 10
	maxAccessKeyLen     = 128
	signatureHexLen     = 64
)

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
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		return a, malformed("does not start with %q", Algorithm+" ")
	}
	if n := strings.Count(rest, ",") + 1; n != 3 {
		return a, malformed("want 3 comma-separated fields, got %d", n)
	}
	var seen uint8 // a bit per field name, in the order of fieldNames
	for i := range 3 {
		f, next, _ := strings.Cut(rest, ",")
		rest = next
		if i > 0 {
			f = strings.TrimLeft(f, " ")
		}
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return a, malformed("field %d has no '='", i+1)
		}
		bit := fieldBit(name)
		if seen&bit != 0 {
			return a, malformed("repeated field %s", name)
		}
		seen |= bit
		if err := a.set(name, value); err != nil {
			return Authorization{}, err
		}
	}
	return a, nil
}

// fieldBit is a bit of its own for each field name that set accepts, and
// 0 for any other: set rejects those on first sight.
func fieldBit(name string) uint8 {
	switch name {
	case "Access":
		return 1
	case "SignedHeaders":
		return 2
	case "Signature":
		return 4
	}
	return 0
}

func (a *Authorization) set(name, value string) error {
	switch name {
	case "Access":
		if value == "" || len(value) > maxAccessKeyLen || !allBytes(value, accessKeyByte) {
			return malformed("Access must be 1 to %d letters, digits, '-', '_' or '.'", maxAccessKeyLen)
		}
		a.AccessKey = value
	case "SignedHeaders":
		names, err := parseHeaderList(value)
		if err != nil {
			return err
		}
		a.SignedHeaders = names
	case "Signature":
		if len(value) != signatureHexLen || !allBytes(value, lowerHexByte) {
			return malformed("Signature must be %d lower-case hex digits", signatureHexLen)
		}
		a.Signature = value
	default:
		return malformed("unknown field name")
	}
	return nil
}

func parseHeaderList(s string) ([]string, error) {
	names := strings.Split(s, ";")
	for i, n := range names {
		if n == "" || !allBytes(n, headerNameByte) {
			return nil, malformed("SignedHeaders entry %d is not a lower-case header name", i+1)
		}
		if i > 0 && names[i-1] >= n {
			return nil, malformed("SignedHeaders must be sorted without duplicates")
		}
	}
	return names, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: Authorization: "+format, append([]any{ErrMalformed}, args...)...)
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func accessKeyByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

func lowerHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

// headerNameByte accepts the RFC 9110 token characters, except upper case.
func headerNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
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
