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
		case name == "Access" && (value == "" || len(value) > 128 || strings.Trim(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != ""):
			return Authorization{}, malformed("Access must be 1 to 128 letters, digits, '-', '_' or '.'")
		case name == "Access":
			a.AccessKey = value
		case name == "SignedHeaders":
			a.SignedHeaders = strings.Split(value, ";")
			for i, n := range a.SignedHeaders {
				// RFC 9110 token characters, but no upper case.
				if n == "" || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~") != "" {
					return Authorization{}, malformed("SignedHeaders entry %d is not a lower-case header name", i+1)
				}
				if i > 0 && a.SignedHeaders[i-1] >= n {
					return Authorization{}, malformed("SignedHeaders must be sorted without duplicates")
				}
			}
		case name == "Signature" && (len(value) != 64 || strings.Trim(value, "0123456789abcdef") != ""):
			return Authorization{}, malformed("Signature must be 64 lower-case hex digits")
		case name == "Signature":
			a.Signature = value
		default:
			return Authorization{}, malformed("unknown field name")
		}
	}
	return a, nil
}

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
