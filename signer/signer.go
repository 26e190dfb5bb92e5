// Package signer signs and verifies Huawei Cloud AK/SK requests
// (SDK-HMAC-SHA256), the scheme the API gateway in front of DCS checks.
//
// The client signs with [Sign]; the fake server checks with [Verifier].
// Both build the canonical request with the same code, so a request that
// one side produces is a request the other side accepts.
//
// Wire behaviour follows the official Go SDK (huaweicloud-sdk-go-v3
// core/auth/signer); the interop module checks it byte for byte. Points a
// reader would not guess:
//
//   - The SDK does not sign host. It signs the headers in its own header
//     map (User-Agent, X-Project-Id, X-Sdk-Date, X-Security-Token, ...)
//     and Host is never among them. [Sign] does the same unless asked, and
//     [Verifier] does not insist on host, or it would reject the SDK.
//   - Keys and values of the query are sorted before they are escaped.
//   - The canonical URI is built per path segment, so an encoded "/" (%2F)
//     inside a segment is not a separator.
//   - For a Content-Type other than JSON or BSON the SDK replaces the body
//     hash with UNSIGNED-PAYLOAD. [Sign] hashes the body unless the caller
//     sets X-Sdk-Content-Sha256 itself.
package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"sync"
	"time"
)

const (
	// Algorithm is the scheme name that opens the Authorization header.
	Algorithm = "SDK-HMAC-SHA256"
	// DateFormat is the layout of the X-Sdk-Date header, always in UTC.
	DateFormat = "20060102T150405Z"
	// MaxClockSkew is how far X-Sdk-Date may be from the gateway's clock,
	// in either direction.
	MaxClockSkew = 15 * time.Minute
	// UnsignedPayload, as the value of X-Sdk-Content-Sha256, takes the
	// place of the body hash in the canonical request.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
)

// Header names, in Go's canonical form.
const (
	HeaderAuthorization = "Authorization"
	HeaderDate          = "X-Sdk-Date"
	HeaderSecurityToken = "X-Security-Token"
	HeaderProjectID     = "X-Project-Id"
	HeaderContentSHA256 = "X-Sdk-Content-Sha256"
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
		req.Header = make(http.Header)
	}
	req.Header.Del(HeaderAuthorization)
	date := now.UTC().Format(DateFormat)
	req.Header.Set(HeaderDate, date)
	if cred.SecurityToken != "" {
		req.Header.Set(HeaderSecurityToken, cred.SecurityToken)
	} else {
		req.Header.Del(HeaderSecurityToken)
	}

	auth := Authorization{AccessKey: cred.AccessKey, SignedHeaders: signableHeaders(req.Header)}
	mac, err := computeSignature(req, headerValues(req), body, auth.SignedHeaders, date, cred.SecretKey)
	if err != nil {
		return err
	}
	auth.Signature = hex.EncodeToString(mac)
	req.Header.Set(HeaderAuthorization, auth.String())
	return nil
}

// computeSignature is the one place where both Sign and Verify turn a
// request into its HMAC.
func computeSignature(req *http.Request, values map[string][]string, body []byte, signed []string, date, secretKey string) ([]byte, error) {
	var sum [sha256.Size]byte
	if err := signature(&sum, req, values, body, signed, date, hmac.New(sha256.New, []byte(secretKey))); err != nil {
		return nil, err
	}
	return sum[:], nil
}

// signature writes into sum the HMAC, by mac (keyed with the secret key
// and freshly reset), of the string to sign for req.
func signature(sum *[sha256.Size]byte, req *http.Request, values map[string][]string, body []byte, signed []string, date string, mac hash.Hash) error {
	buf := crPool.Get().(*[]byte)
	defer crPool.Put(buf)
	cr, err := appendCanonicalRequest((*buf)[:0], req, values, body, signed, false)
	if err != nil {
		return err
	}
	if cap(cr) <= maxPooledCR {
		*buf = cr
	}
	crHash := sha256.Sum256(cr)
	var toSign [len(Algorithm) + 1 + len(DateFormat) + 1 + 2*sha256.Size]byte
	mac.Write(appendStringToSign(toSign[:0], date, &crHash))
	mac.Sum(sum[:0])
	return nil
}

// appendStringToSign appends the string to sign: algorithm, date and the
// hex hash of the canonical request, one per line.
func appendStringToSign(b []byte, date string, crHash *[sha256.Size]byte) []byte {
	b = append(b, Algorithm+"\n"...)
	b = append(b, date...)
	b = append(b, '\n')
	return hex.AppendEncode(b, crHash[:])
}

// crPool holds buffers for canonical requests, which both sides build for
// every request; a buffer that grew past maxPooledCR is not kept.
var crPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledCR = 16 << 10
