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

// canonicalRequest is the text that gets hashed and signed: method, URI,
// query, headers, signed header names and payload hash, one per line.
// values is headerValues(req).
func canonicalRequest(req *http.Request, values map[string][]string, body []byte, signed []string) (string, error) {
	uri, err := canonicalURI(req.URL)
	if err != nil {
		return "", err
	}
	query, err := canonicalQuery(req.URL.RawQuery)
	if err != nil {
		return "", err
	}
	headers, err := canonicalHeaders(values, signed)
	if err != nil {
		return "", err
	}
	payload, err := payloadHash(values, body)
	if err != nil {
		return "", err
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet // what net/http sends for an empty Method
	}
	return strings.Join([]string{method, uri, query, headers, strings.Join(signed, ";"), payload}, "\n"), nil
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
	segments := strings.Split(u.EscapedPath(), "/")
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

// canonicalQuery sorts keys, and each key's values, before escaping them:
// the SDK does, and the two orders differ (for example "~" sorts before
// "ä" but "%C3%A4" sorts before "~").
func canonicalQuery(rawQuery string) (string, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: query string: %v", ErrMalformed, err)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(values)) {
		vs := values[k]
		slices.Sort(vs)
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(escape(k))
			b.WriteByte('=')
			b.WriteString(escape(v))
		}
	}
	return b.String(), nil
}

// canonicalHeaders writes "name:value\n" for each signed header, once per
// value with the values sorted. A signed header must be on the request.
func canonicalHeaders(values map[string][]string, signed []string) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		vs := values[name]
		if len(vs) == 0 {
			return "", fmt.Errorf("%w: signed header %q is not in the request", ErrMissing, name)
		}
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// payloadHash is the hex SHA-256 of the body, unless the request names its
// own in X-Sdk-Content-Sha256 (normally UNSIGNED-PAYLOAD).
func payloadHash(values map[string][]string, body []byte) (string, error) {
	switch vs := values[strings.ToLower(HeaderContentSHA256)]; len(vs) {
	case 0:
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:]), nil
	case 1:
		return vs[0], nil
	default:
		return "", fmt.Errorf("%w: repeated %s", ErrMalformed, HeaderContentSHA256)
	}
}

// headerValues maps lower-cased header names to copies of their values,
// merging keys that differ only in case. "host" is the host that goes on
// the wire: Go ignores a Host entry in Header, on both client and server.
func headerValues(req *http.Request) map[string][]string {
	values := make(map[string][]string, len(req.Header)+1)
	for k, vs := range req.Header {
		lk := strings.ToLower(k)
		values[lk] = append(values[lk], vs...)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	values["host"] = []string{host}
	return values
}

// signableHeaders lists, sorted and lower-cased, the headers of h that Sign
// covers: the SDK's choice (everything but Content-Type* and names with
// "_"), minus Authorization and headers that net/http will not send.
func signableHeaders(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k, vs := range h {
		lk := strings.ToLower(k)
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
