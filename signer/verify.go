package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors returned by this package wrap one of these; test with errors.Is.
// No error text ever contains a secret key, a security token or the
// signature the verifier expected. Their texts name no package: they
// reach people, in a command's error and in the fake's 401 answers.
var (
	ErrInvalidCredentials = errors.New("invalid credentials") // an empty access key or secret key
	// ErrMissing: no Authorization, X-Sdk-Date, or a signed header.
	ErrMissing = errors.New("missing")
	// ErrMalformed: a header, the path or the query cannot be parsed, or
	// the header list breaks a rule (x-sdk-date must be signed, ...).
	ErrMalformed  = errors.New("malformed")
	ErrUnknownKey = errors.New("unknown access key")
	// ErrDateSkew: X-Sdk-Date is more than 15 minutes from the verifier's
	// clock, as the gateway allows.
	ErrDateSkew          = errors.New("request date outside the allowed clock skew")
	ErrSignatureMismatch = errors.New("signature mismatch")
)

// Verifier checks signed requests as the API gateway does; it is safe for
// concurrent use. The zero value knows no keys. It does not judge a
// security token: a caller that cares checks X-Security-Token itself.
type Verifier struct {
	// SecretKey returns the secret key of an access key, ok false if the
	// key is unknown.
	SecretKey func(accessKey string) (secretKey string, ok bool)
	// Now is the verifier's clock; nil means time.Now.
	Now func() time.Time
}

// Verify checks the signature of req over body (the exact payload read
// from the request, nil for none), recomputed over the headers that the
// Authorization header declares. x-sdk-date must be among them; so must
// X-Security-Token and X-Sdk-Content-Sha256 when they are on the request.
// Host need not be: the official SDK never signs it.
//
// Every error wraps one of ErrMissing, ErrMalformed, ErrUnknownKey,
// ErrDateSkew or ErrSignatureMismatch. A signature that does not match
// is a *MismatchError, which tells what Verify computed.
func (v *Verifier) Verify(req *http.Request, body []byte) error {
	if v == nil {
		v = &Verifier{}
	}
	if req == nil || req.URL == nil {
		return fmt.Errorf("%w: nil request or URL", ErrMalformed)
	}
	values := headerValues(req)
	h, err := single(values["authorization"], HeaderAuthorization)
	if err != nil {
		return err
	}
	auth, err := ParseAuthorization(h)
	if err != nil {
		return err
	}
	// Without x-sdk-date a signature would never expire; an unsigned
	// token or payload hash header could be swapped in transit.
	if slices.Contains(auth.SignedHeaders, "authorization") {
		return fmt.Errorf("%w: authorization cannot sign itself", ErrMalformed)
	}
	for _, h := range []string{lowerDate, lowerSecurityToken, lowerContentSHA256} {
		if (h == lowerDate || len(values[h]) > 0) && !slices.Contains(auth.SignedHeaders, h) {
			return fmt.Errorf("%w: %s is not among the signed headers", ErrMalformed, h)
		}
	}
	date, err := v.checkDate(values[lowerDate])
	if err != nil {
		return err
	}
	var secretKey string
	if v.SecretKey != nil {
		if sk, ok := v.SecretKey(auth.AccessKey); ok {
			secretKey = sk
		}
	}
	if secretKey == "" {
		return fmt.Errorf("%w: %s", ErrUnknownKey, maskAccessKey(auth.AccessKey))
	}
	// A payload hash stated in place of the body's must match the body.
	if vs := values[lowerContentSHA256]; len(vs) == 1 && vs[0] != unsignedPayload {
		if sum := sha256.Sum256(body); vs[0] != hex.EncodeToString(sum[:]) {
			return fmt.Errorf("%w: X-Sdk-Content-Sha256 does not match the body", ErrSignatureMismatch)
		}
	}
	cr, err := canonicalRequest(req, values, body, auth.SignedHeaders, false)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(auth.Signature)
	if err == nil && hmac.Equal(signature(cr, date, secretKey), got) {
		return nil
	}
	shown, _ := canonicalRequest(req, values, body, auth.SignedHeaders, true)
	return &MismatchError{CanonicalRequest: shown, StringToSign: stringToSign(cr, date)}
}

// checkDate returns X-Sdk-Date if it is exactly of the form DateFormat,
// a real date and time, within the skew.
func (v *Verifier) checkDate(vs []string) (string, error) {
	date, err := single(vs, HeaderDate)
	if err != nil {
		return "", err
	}
	date = strings.TrimSpace(date)
	t, err := time.Parse(DateFormat, date)
	if err != nil || t.Format(DateFormat) != date {
		return "", fmt.Errorf("%w: %s is not in the form %s", ErrMalformed, HeaderDate, DateFormat)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(t); skew > maxClockSkew || skew < -maxClockSkew {
		return "", fmt.Errorf("%w: %s is %v from the verifier's clock, limit %v", ErrDateSkew, HeaderDate, skew.Round(time.Second), maxClockSkew)
	}
	return date, nil
}

// single is the one value of the header name has in vs.
func single(vs []string, name string) (string, error) {
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w: %s header", ErrMissing, name)
	case 1:
		return vs[0], nil
	}
	return "", fmt.Errorf("%w: repeated %s header", ErrMalformed, name)
}

// MismatchError is a signature that does not match the request, with
// what the verifier computed, for the author of a signer to compare; it
// wraps ErrSignatureMismatch. Neither text holds a secret: the values of
// credential headers (X-Security-Token, X-Auth-Token) are RedactedValue
// in CanonicalRequest, while StringToSign hashes the real one.
type MismatchError struct {
	CanonicalRequest string
	StringToSign     string
}

// RedactedValue stands for a credential wherever this package shows one.
const RedactedValue = "REDACTED"

// Error is short on purpose: it goes into answers and log lines, where
// the canonical request does not belong.
func (e *MismatchError) Error() string { return ErrSignatureMismatch.Error() }

func (e *MismatchError) Unwrap() error { return ErrSignatureMismatch }
