package client

import (
	"cmp"
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

// CheckRetry decides whether an attempt is worth repeating, from its
// response (its body read, and rewound), if any, and its error.
type CheckRetry func(ctx context.Context, resp *http.Response, err error) bool

// Backoff says how long to wait after attempt number attempt.
type Backoff func(attempt int, resp *http.Response) time.Duration

// RetryPolicy is how a Client repeats failed attempts. The context is
// checked before every attempt and during every wait.
type RetryPolicy struct {
	MaxAttempts int        // the first included: 1 never retries; 0 means 3
	CheckRetry  CheckRetry // nil means DefaultCheckRetry
	Backoff     Backoff    // nil means DefaultBackoff
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	p.MaxAttempts = cmp.Or(p.MaxAttempts, 3)
	if p.CheckRetry == nil {
		p.CheckRetry = DefaultCheckRetry
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	return p
}

// DefaultCheckRetry retries on 429, 500, 502, 503 and 504, and on
// transport errors but those another attempt cannot fix: a done context,
// a cancelled request, a *CredentialsError, a host name that does not
// exist, a TLS handshake that failed. An attempt that timed out while ctx
// is live (the *http.Client's Timeout) is retried. Every operation is a
// GET, so a repeat is always safe.
func DefaultCheckRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		_, noCredentials := errors.AsType[*CredentialsError](err)
		return !errors.Is(err, context.Canceled) && !noCredentials && !isPermanent(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isPermanent reports whether the same request would meet err again: a
// name that does not resolve, or TLS that cannot work with this server (a
// certificate that does not verify, an alert from the server, which
// crypto/tls calls a "remote error", an answer that is not TLS).
func isPermanent(err error) bool {
	dns, isDNS := errors.AsType[*net.DNSError](err)
	op, isOp := errors.AsType[*net.OpError](err)
	return isDNS && dns.IsNotFound || isOp && op.Op == "remote error" || errors.Is(err, http.ErrSchemeMismatch) ||
		errors.As(err, new(*tls.CertificateVerificationError)) || errors.As(err, new(tls.RecordHeaderError)) ||
		errors.As(err, new(x509.UnknownAuthorityError)) || errors.As(err, new(x509.HostnameError)) || errors.As(err, new(x509.CertificateInvalidError))
}

// ErrRetryPastDeadline is wrapped, with the last attempt's error, by that
// of a call that gave up at once: the next attempt (Retry-After, or the
// backoff) could only start after its deadline.
var ErrRetryPastDeadline = errors.New("the next attempt would start after the deadline")

// DefaultBackoff honours Retry-After, capped at a minute so that a wrong
// header cannot park a caller without a deadline. Otherwise, and when
// Retry-After cannot be read, it waits 200ms, 400ms, 800ms ... up to 5s,
// each with jitter between half and all of it, so that clients that
// failed together do not retry together.
func DefaultBackoff(attempt int, resp *http.Response) time.Duration {
	if d, ok := retryAfter(resp, time.Now()); ok {
		return min(d, time.Minute)
	}
	d := 5 * time.Second
	if attempt < 10 {
		d = min(200*time.Millisecond<<max(attempt-1, 0), d)
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a usable Retry-After, uncapped: seconds (digits only,
// as RFC 9110 has it) or an HTTP date, that fits a time.Duration.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || resp.Header.Get("Retry-After") == "" {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if strings.Trim(v, "0123456789") == "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs <= int64(math.MaxInt64/time.Second) {
			return time.Duration(secs) * time.Second, true
		}
		return 0, false
	}
	t, err := http.ParseTime(v)
	if d := t.Sub(now); err == nil && d != math.MaxInt64 { // Sub saturates
		return max(d, 0), true
	}
	return 0, false
}

// pastDeadline is why waiting is useless, or nil.
func pastDeadline(ctx context.Context, resp *http.Response, wait time.Duration, now time.Time) error {
	deadline, ok := ctx.Deadline()
	left := deadline.Sub(now)
	if ra, asked := retryAfter(resp, now); ok && asked && ra >= left {
		return fmt.Errorf("%w: the server asks to retry after %s (Retry-After: %s), %s left",
			ErrRetryPastDeadline, ra, resp.Header.Get("Retry-After"), left.Round(time.Millisecond))
	} else if ok && wait >= left {
		return fmt.Errorf("%w: the backoff is %s, %s left", ErrRetryPastDeadline, wait.Round(time.Millisecond), left.Round(time.Millisecond))
	}
	return nil
}
