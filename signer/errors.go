package signer

import "errors"

// Errors returned by this package wrap one of these; test with errors.Is.
// No error text ever contains a secret key, a security token or the
// signature the verifier expected. Their texts name no package: they
// reach people, in a command's error and in the fake's 401 answers.
var (
	// ErrInvalidCredentials: the access key or the secret key is empty.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrMissing: the Authorization header, X-Sdk-Date, or a header named
	// in SignedHeaders is not on the request.
	ErrMissing = errors.New("missing")
	// ErrMalformed: a header, the path or the query cannot be parsed, or
	// the header list breaks a rule (x-sdk-date must be signed, ...).
	ErrMalformed = errors.New("malformed")
	// ErrUnknownKey: the verifier has no secret key for the access key.
	ErrUnknownKey = errors.New("unknown access key")
	// ErrDateSkew: X-Sdk-Date is too far from the verifier's clock.
	ErrDateSkew = errors.New("request date outside the allowed clock skew")
	// ErrSignatureMismatch: the request is not the one that was signed,
	// or was signed with another secret key.
	ErrSignatureMismatch = errors.New("signature mismatch")
)
