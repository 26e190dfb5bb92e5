// Package signer signs ([Sign]) and verifies ([Verifier]) Huawei Cloud
// AK/SK requests (SDK-HMAC-SHA256), the scheme of the API gateway in front
// of DCS, with one canonical request for both sides. It follows the
// official Go SDK (core/auth/signer) byte for byte, as the interop module
// checks, in points a reader would not guess: the SDK never signs host,
// so Verify does not insist on it; query keys and values are sorted
// before they are escaped; the URI is escaped per path segment, so that
// %2F is no separator; and X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD, which
// the SDK sends for bodies that are not JSON, stands for the body hash.
package signer

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Header names, in Go's canonical form, and the layout of X-Sdk-Date.
const (
	HeaderAuthorization = "Authorization"
	HeaderDate          = "X-Sdk-Date"
	HeaderSecurityToken = "X-Security-Token"
	HeaderProjectID     = "X-Project-Id"
	DateFormat          = "20060102T150405Z" // always in UTC
)

const (
	algorithm           = "SDK-HMAC-SHA256"
	unsignedPayload     = "UNSIGNED-PAYLOAD"
	maxClockSkew        = 15 * time.Minute // the gateway's
	maxAuthorizationLen = 8 << 10
	lowerDate           = "x-sdk-date"
	lowerSecurityToken  = "x-security-token"
	lowerContentSHA256  = "x-sdk-content-sha256"
)

// Sign authenticates req for cred at time now. It sets X-Sdk-Date (now in
// UTC), X-Security-Token when cred has one (and removes a stale one when
// it has none), and Authorization, replacing earlier values so that a
// retried request can be signed again.
//
// body is the exact payload that will be sent, nil for none. The
// signature covers every header already on req except Content-Type, names
// that contain "_", and Authorization itself: set X-Project-Id,
// User-Agent and the like before calling Sign. Host is signed only if the
// caller opts in by putting a "Host" key, with any value or none, into
// req.Header; the signed value is the host Go sends (req.Host, or else
// req.URL.Host), which net/http always prefers to Header["Host"].
func Sign(req *http.Request, body []byte, cred Credentials, now time.Time) error {
	if err := cred.Validate(); err != nil {
		return err
	}
	if req == nil || req.URL == nil {
		return fmt.Errorf("%w: nil request or URL", ErrMalformed)
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Del(HeaderAuthorization)
	date := now.UTC().Format(DateFormat)
	req.Header.Set(HeaderDate, date)
	req.Header.Del(HeaderSecurityToken)
	if cred.SecurityToken != "" {
		req.Header.Set(HeaderSecurityToken, cred.SecurityToken)
	}
	auth := Authorization{AccessKey: cred.AccessKey, SignedHeaders: signableHeaders(req.Header)}
	cr, err := canonicalRequest(req, headerValues(req), body, auth.SignedHeaders, false)
	if err != nil {
		return err
	}
	auth.Signature = hex.EncodeToString(signature(cr, date, cred.SecretKey))
	req.Header.Set(HeaderAuthorization, auth.String())
	return nil
}

// signature is where both Sign and Verify turn a canonical request into
// its HMAC.
func signature(canonical, date, secretKey string) []byte {
	mac := hmac.New(sha256.New, []byte(secretKey))
	mac.Write([]byte(stringToSign(canonical, date)))
	return mac.Sum(nil)
}

func stringToSign(canonical, date string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + date + "\n" + hex.EncodeToString(sum[:])
}

// canonicalRequest is the text that gets hashed and signed: method, URI,
// query, headers, signed header names and payload hash, one per line.
// values is headerValues(req). redact puts RedactedValue in place of the
// values of credential headers, for a text that is shown, not signed.
func canonicalRequest(req *http.Request, values map[string][]string, body []byte, signed []string, redact bool) (string, error) {
	uri, err := canonicalURI(req.URL)
	if err != nil {
		return "", err
	}
	query, err := canonicalQuery(req.URL.RawQuery)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(cmp.Or(req.Method, http.MethodGet) + "\n" + uri + "\n" + query + "\n")
	for _, name := range signed {
		vs := values[name]
		if len(vs) == 0 {
			return "", fmt.Errorf("%w: signed header %q is not in the request", ErrMissing, name)
		}
		slices.Sort(vs)
		for _, v := range vs {
			if redact && (name == lowerSecurityToken || name == "x-auth-token") {
				v = RedactedValue
			}
			b.WriteString(name + ":" + strings.TrimSpace(v) + "\n")
		}
	}
	payload, err := payloadHash(values, body)
	if err != nil {
		return "", err
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payload)
	return b.String(), nil
}

// canonicalURI escapes each segment of the escaped path, decoded on its
// own, and ends the path with "/". So a segment holding an encoded "/"
// (%2F) stays one segment, and the result is the same on the client's URL
// and on the server's view of the same request line.
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
	p := strings.Join(segments, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// canonicalQuery sorts keys, and each key's values, before escaping them:
// the SDK does, and the two orders differ (for example "~" sorts before
// "ä" but "%C3%A4" sorts before "~").
func canonicalQuery(rawQuery string) (string, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: query string: %v", ErrMalformed, err)
	}
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		for _, v := range slices.Sorted(slices.Values(values[k])) {
			pairs = append(pairs, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(pairs, "&"), nil
}

// payloadHash is the hex SHA-256 of the body, unless the request names its
// own in X-Sdk-Content-Sha256 (normally UNSIGNED-PAYLOAD).
func payloadHash(values map[string][]string, body []byte) (string, error) {
	switch vs := values[lowerContentSHA256]; len(vs) {
	case 0:
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:]), nil
	case 1:
		return vs[0], nil
	}
	return "", fmt.Errorf("%w: repeated X-Sdk-Content-Sha256", ErrMalformed)
}

// headerValues maps lower-cased header names to their values, merging
// keys that differ only in case; a list canonicalRequest may sort is a
// copy. "host" is the host on the wire: Go ignores Header["Host"].
func headerValues(req *http.Request) map[string][]string {
	values := make(map[string][]string, len(req.Header)+1)
	for k, vs := range req.Header {
		lk := strings.ToLower(k)
		if prev, seen := values[lk]; seen || len(vs) > 1 {
			values[lk] = append(slices.Clip(prev), vs...)
		} else {
			values[lk] = vs
		}
	}
	values["host"] = []string{cmp.Or(req.Host, req.URL.Host)}
	return values
}

// signableHeaders lists, sorted and lower-cased, the headers of h that Sign
// covers: the SDK's choice (everything but Content-Type* and names with
// "_"), minus Authorization and headers that net/http will not send.
func signableHeaders(h http.Header) []string {
	var names []string
	for k, vs := range h {
		lk := strings.ToLower(k)
		if lk != "host" && (len(vs) == 0 || // net/http sends nothing for a nil entry
			strings.HasPrefix(lk, "content-type") || strings.Contains(lk, "_") || lk == "authorization" ||
			lk == "user-agent" && len(vs) == 1 && vs[0] == "") { // net/http's way to send no User-Agent
			continue
		}
		names = append(names, lk)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// escape percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ with
// upper-case hex: what QueryEscape does, but for the space.
func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
