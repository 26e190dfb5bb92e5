package signer

import (
	"crypto/sha256"
	"net/http"
	"slices"
)

// MismatchError is a signature that does not match the request. It
// carries what the verifier computed, so that the author of a signer can
// compare it with their own; errors.Is(err, ErrSignatureMismatch) holds.
//
// Neither text holds a secret: the secret key only keys the HMAC of
// StringToSign, and the value of a signed header that is itself a
// credential (X-Security-Token, X-Auth-Token) is replaced by RedactedValue
// in CanonicalRequest. StringToSign still hashes the real canonical
// request, token included.
type MismatchError struct {
	CanonicalRequest string
	StringToSign     string
}

// RedactedValue stands for the value of a credential header in
// MismatchError.CanonicalRequest.
const RedactedValue = "REDACTED"

// Error is short on purpose: it goes into answers and log lines, where
// the canonical request does not belong.
func (e *MismatchError) Error() string { return ErrSignatureMismatch.Error() }

func (e *MismatchError) Unwrap() error { return ErrSignatureMismatch }

// secretHeaders are signed headers whose values MismatchError hides.
var secretHeaders = []string{lowerSecurityToken, "x-auth-token"}

// mismatch builds the MismatchError of a request whose signature Verify
// found wrong. It runs only then, so it may allocate.
func mismatch(req *http.Request, values map[string][]string, body []byte, signed []string, date string) error {
	cr, err := appendCanonicalRequest(nil, req, values, body, signed, false)
	if err != nil {
		return err // cannot happen: Verify has just built the same
	}
	sum := sha256.Sum256(cr)
	shown, err := appendCanonicalRequest(nil, req, values, body, signed, true)
	if err != nil {
		return err
	}
	return &MismatchError{CanonicalRequest: string(shown), StringToSign: string(appendStringToSign(nil, date, &sum))}
}

// isSecretHeader reports whether a signed header's value is a credential.
func isSecretHeader(name string) bool { return slices.Contains(secretHeaders, name) }
