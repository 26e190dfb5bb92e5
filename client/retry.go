package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// CheckRetry decides whether an attempt is worth repeating. resp is the
// response, if one arrived (its body is already read, and rewound); err is
// the error of the transport or of reading the body, if any.
type CheckRetry func(ctx context.Context, resp *http.Response, err error) bool

// Backoff says how long to wait before attempt number attempt+1. resp is
// the response of the attempt that failed, or nil.
type Backoff func(attempt int, resp *http.Response) time.Duration

// RetryPolicy is how a Client repeats failed attempts. The context is
// checked before every attempt and during every wait.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included: 1 never
	// retries. 0 means 3.
	MaxAttempts int
	// CheckRetry decides; nil means DefaultCheckRetry.
	CheckRetry CheckRetry
	// Backoff waits; nil means DefaultBackoff.
	Backoff Backoff
}

// DefaultRetryPolicy makes 3 attempts in all, on the terms of
// DefaultCheckRetry and DefaultBackoff.
func DefaultRetryPolicy() RetryPolicy { return RetryPolicy{}.withDefaults() }

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 3
	}
	if p.CheckRetry == nil {
		p.CheckRetry = DefaultCheckRetry
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	return p
}

// DefaultCheckRetry retries on 429, 500, 502, 503 and 504, and on
// transport errors other than those another attempt cannot fix: a done
// context, a host name that does not exist, a certificate that does not
// verify, a *CredentialsError. Every operation is a GET, so a repeat is
// always safe.
func DefaultCheckRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		_, noCredentials := errors.AsType[*CredentialsError](err)
		return !errors.Is(err, context.Canceled) &&
			!errors.Is(err, context.DeadlineExceeded) &&
			!noCredentials && !isPermanent(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func isPermanent(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}

const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxRetryAfter caps a server's Retry-After, so that a wrong header
	// cannot park a caller that has no deadline.
	maxRetryAfter = time.Minute
)

// DefaultBackoff honours Retry-After (seconds or an HTTP date, capped at
// a minute); otherwise it waits 200ms, 400ms, 800ms ... up to 5s, each
// with jitter between half and all of it, so that clients that failed
// together do not retry together.
func DefaultBackoff(attempt int, resp *http.Response) time.Duration {
	if d, ok := retryAfter(resp, time.Now()); ok {
		return d
	}
	d := maxBackoff
	if attempt < 10 {
		d = min(minBackoff<<max(attempt-1, 0), maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads the Retry-After header of resp, if it has a usable one.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}
