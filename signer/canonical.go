package signer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// appendCanonicalRequest appends to b the text that gets hashed and
// signed: method, URI, query, headers, signed header names and payload
// hash, one per line. values is headerValues(req). redact puts
// RedactedValue in place of the values of credential headers, for a text
// that is shown rather than signed.
func appendCanonicalRequest(b []byte, req *http.Request, values map[string][]string, body []byte, signed []string, redact bool) ([]byte, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet // what net/http sends for an empty Method
	}
	b = append(b, method...)
	b = append(b, '\n')
	var err error
	if p := req.URL.EscapedPath(); req.URL.Opaque == "" && plainPath(p) {
		// Nothing to decode or escape: the usual case, without copies.
		b = append(b, p...)
		if !strings.HasSuffix(p, "/") {
			b = append(b, '/')
		}
	} else {
		uri, err := canonicalURI(req.URL)
		if err != nil {
			return nil, err
		}
		b = append(b, uri...)
	}
	b = append(b, '\n')
	if b, err = appendCanonicalQuery(b, req.URL.RawQuery); err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if b, err = appendCanonicalHeaders(b, values, signed, redact); err != nil {
		return nil, err
	}
	b = append(b, '\n') // the headers' block ends with an empty line
	for i, name := range signed {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	b = append(b, '\n')
	payload, err := payloadHash(values, body)
	if err != nil {
		return nil, err
	}
	return append(b, payload...), nil
}

// canonicalURI escapes each path segment and ends the path with "/".
//
// It starts from the escaped path, not from URL.Path, and decodes one
// segment at a time. That way a segment holding an encoded "/" (%2F) stays
// one segment, and the result is the same whether it is computed on the
// client's URL or on the server's view of the same request line.
func canonicalURI(u *url.URL) (string, error) {
	if u.Opaque != "" {
		return "", fmt.Errorf("%w: opaque URL", ErrMalformed)
	}
	p := u.EscapedPath()
	if plainPath(p) {
		// Nothing to decode or escape: the usual case, without copies.
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		return p, nil
	}
	segments := strings.Split(p, "/")
	for i, s := range segments {
		decoded, err := url.PathUnescape(s)
		if err != nil {
			return "", fmt.Errorf("%w: path segment %d is not valid percent-encoding", ErrMalformed, i)
		}
		segments[i] = escape(decoded)
	}
	path := strings.Join(segments, "/")
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return path, nil
}

// plainPath reports whether the escaped path p needs no decoding or
// escaping.
func plainPath(p string) bool {
	return allBytes(p, func(c byte) bool { return c == '/' || unreserved(c) })
}

// canonicalQuery sorts keys, and each key's values, before escaping them:
// the SDK does, and the two orders differ (for example "~" sorts before
// "ä" but "%C3%A4" sorts before "~").
func canonicalQuery(rawQuery string) (string, error) {
	b, err := appendCanonicalQuery(nil, rawQuery)
	return string(b), err
}

// appendCanonicalQuery appends canonicalQuery(rawQuery) to b.
func appendCanonicalQuery(b []byte, rawQuery string) ([]byte, error) {
	if b, ok := appendPlainQuery(b, rawQuery); ok {
		return b, nil
	}
	return appendParsedQuery(b, rawQuery)
}

// appendParsedQuery is appendCanonicalQuery for any query.
func appendParsedQuery(b []byte, rawQuery string) ([]byte, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: query string: %v", ErrMalformed, err)
	}
	start := len(b)
	for _, k := range slices.Sorted(maps.Keys(values)) {
		vs := values[k]
		slices.Sort(vs)
		for _, v := range vs {
			if len(b) > start {
				b = append(b, '&')
			}
			b = append(b, escape(k)...)
			b = append(b, '=')
			b = append(b, escape(v)...)
		}
	}
	return b, nil
}

// maxPlainPairs bounds the pairs that appendPlainQuery sorts on the stack.
const maxPlainPairs = 8

// appendPlainQuery is appendCanonicalQuery for the usual query, without
// allocating: at most maxPlainPairs key=value pairs of unreserved bytes,
// which need no decoding or escaping. It reports false, having appended
// nothing, for any other query.
func appendPlainQuery(b []byte, rawQuery string) ([]byte, bool) {
	var pairs [maxPlainPairs]string
	n := 0
	for rest := rawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue // ParseQuery skips empty pairs
		}
		eq := strings.IndexByte(pair, '=')
		if n == maxPlainPairs || eq < 0 ||
			!allBytes(pair[:eq], unreserved) || !allBytes(pair[eq+1:], unreserved) {
			return b, false
		}
		pairs[n] = pair
		n++
	}
	// By key, then by value: the order of ParseQuery's map, sorted.
	slices.SortFunc(pairs[:n], func(x, y string) int {
		xk, xv, _ := strings.Cut(x, "=")
		yk, yv, _ := strings.Cut(y, "=")
		if c := strings.Compare(xk, yk); c != 0 {
			return c
		}
		return strings.Compare(xv, yv)
	})
	for i, pair := range pairs[:n] {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, pair...)
	}
	return b, true
}

// appendCanonicalHeaders appends "name:value\n" for each signed header,
// once per value with the values sorted. A signed header must be on the
// request.
func appendCanonicalHeaders(b []byte, values map[string][]string, signed []string, redact bool) ([]byte, error) {
	for _, name := range signed {
		vs := values[name]
		if len(vs) == 0 {
			return nil, fmt.Errorf("%w: signed header %q is not in the request", ErrMissing, name)
		}
		slices.Sort(vs)
		for _, v := range vs {
			b = append(b, name...)
			b = append(b, ':')
			if redact && isSecretHeader(name) {
				v = RedactedValue
			}
			b = append(b, strings.TrimSpace(v)...)
			b = append(b, '\n')
		}
	}
	return b, nil
}

// payloadHash is the hex SHA-256 of the body, unless the request names its
// own in X-Sdk-Content-Sha256 (normally UNSIGNED-PAYLOAD).
func payloadHash(values map[string][]string, body []byte) (string, error) {
	switch vs := values[lowerContentSHA256]; len(vs) {
	case 0:
		if len(body) == 0 {
			return emptyPayloadHash, nil
		}
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:]), nil
	case 1:
		return vs[0], nil
	default:
		return "", fmt.Errorf("%w: repeated %s", ErrMalformed, HeaderContentSHA256)
	}
}

// Lower-case header names that Verify looks up on every request.
const (
	lowerDate          = "x-sdk-date"
	lowerSecurityToken = "x-security-token"
	lowerContentSHA256 = "x-sdk-content-sha256"
)

// emptyPayloadHash is the hex SHA-256 of nothing, the body of every GET.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// headerValues maps lower-cased header names to their values, merging keys
// that differ only in case. A list of several values is a copy, which
// canonicalHeaders may sort; a single value is shared with req.Header.
// "host" is the host that goes on the wire: Go ignores a Host entry in
// Header, on both client and server.
func headerValues(req *http.Request) map[string][]string {
	values := make(map[string][]string, len(req.Header)+1)
	addHeaderValues(values, req, []string{requestHost(req)})
	return values
}

// addHeaderValues fills the empty map values as headerValues returns it,
// with host as the value of "host".
func addHeaderValues(values map[string][]string, req *http.Request, host []string) {
	for k, vs := range req.Header {
		lk := lowerName(k)
		switch prev, seen := values[lk]; {
		case seen:
			values[lk] = append(slices.Clip(prev), vs...) // never into req.Header's array
		case len(vs) == 1:
			values[lk] = vs
		default:
			values[lk] = slices.Clone(vs)
		}
	}
	values["host"] = host
}

// requestHost is the host that goes on the wire.
func requestHost(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// signableHeaders lists, sorted and lower-cased, the headers of h that Sign
// covers: the SDK's choice (everything but Content-Type* and names with
// "_"), minus Authorization and headers that net/http will not send.
func signableHeaders(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k, vs := range h {
		lk := lowerName(k)
		switch {
		case lk == "host": // an opt-in; the value comes from req.Host
		case len(vs) == 0, // net/http sends nothing for a nil entry
			strings.HasPrefix(lk, "content-type"),
			strings.Contains(lk, "_"),
			lk == "authorization",
			lk == "user-agent" && len(vs) == 1 && vs[0] == "": // net/http's way to send no User-Agent
			continue
		}
		names = append(names, lk)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// lowerNames are the lower-case forms of the header names that requests
// to this API carry, so that lowerName need not allocate for them.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		HeaderAuthorization, HeaderDate, HeaderSecurityToken, HeaderProjectID, HeaderContentSHA256,
		"Accept", "Accept-Encoding", "Connection", "Content-Length", "Content-Type", "Host",
		"User-Agent", "X-Auth-Token", "X-Request-Id", "X-Forwarded-For",
	} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// lowerName is strings.ToLower for a header name.
func lowerName(k string) string {
	if l, ok := lowerNames[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// escape percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ with
// upper-case hex.
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
