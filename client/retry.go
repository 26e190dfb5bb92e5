package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
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
// context, a cancelled request, a host name that does not exist, a TLS
// handshake that failed (a certificate that does not verify, an alert
// from the server, a server that does not speak TLS), a
// *CredentialsError. An attempt that
// timed out while ctx is still live (the *http.Client's Timeout) is
// retried. Every operation is a GET, so a repeat is always safe.
func DefaultCheckRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		_, noCredentials := errors.AsType[*CredentialsError](err)
		return !errors.Is(err, context.Canceled) && !noCredentials && !isPermanent(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isPermanent reports whether err is a failure that the same request
// meets again: a name that does not resolve, or TLS that cannot work
// with this server.
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
		record   tls.RecordHeaderError // what came back is not TLS
		op       *net.OpError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &record) ||
		// crypto/tls reports an alert from the server, such as
		// handshake_failure or protocol_version, as a "remote error".
		errors.As(err, &op) && op.Op == "remote error"
}

const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxRetryAfter caps a server's Retry-After, so that a wrong header
	// cannot park a caller that has no deadline.
	maxRetryAfter = time.Minute
)

// ErrRetryPastDeadline is wrapped by the error of a call that gave up
// before its deadline because the next attempt could only start after
// it: the server's Retry-After, or the backoff, asked for a longer wait
// than the time left. The last attempt's error is wrapped too.
var ErrRetryPastDeadline = errors.New("the next attempt would start after the deadline")

// DefaultBackoff honours Retry-After (seconds or an HTTP date, capped at
// a minute); otherwise, and when Retry-After cannot be read (not a
// number of seconds nor a date, or too large to be a time.Duration), it
// waits 200ms, 400ms, 800ms ... up to 5s, each with jitter between half
// and all of it, so that clients that failed together do not retry
// together.
func DefaultBackoff(attempt int, resp *http.Response) time.Duration {
	if d, ok := retryAfter(resp, time.Now()); ok {
		return min(d, maxRetryAfter)
	}
	d := maxBackoff
	if attempt < 10 {
		d = min(minBackoff<<max(attempt-1, 0), maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads the Retry-After header of resp, uncapped, if it has a
// usable one: a number of seconds (digits only, as RFC 9110 has it) or an
// HTTP date, a past one meaning now. A value too large to be a
// time.Duration is as unusable as one that is not a number.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(math.MaxInt64/time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now) // saturates
	if d == math.MaxInt64 {
		return 0, false
	}
	return max(d, 0), true
}

// pastDeadline is why waiting wait before the next attempt is useless,
// or nil: ctx's deadline comes first, or the server's Retry-After does
// not end before it.
func pastDeadline(ctx context.Context, resp *http.Response, wait time.Duration, now time.Time) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	left := deadline.Sub(now)
	if ra, ok := retryAfter(resp, now); ok && ra >= left {
		return fmt.Errorf("%w: the server asks to retry after %s (Retry-After: %s), %s left",
			ErrRetryPastDeadline, ra, resp.Header.Get("Retry-After"), left.Round(time.Millisecond))
	}
	if wait >= left {
		return fmt.Errorf("%w: the backoff is %s, %s left", ErrRetryPastDeadline, wait.Round(time.Millisecond), left.Round(time.Millisecond))
	}
	return nil
}
