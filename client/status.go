package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/signer"
)

// Status is the answer of ListNumberOfInstancesInDifferentStatus: how many
// instances are in each status, in total and per engine.
type Status struct {
	dcs.Counts
	RequestID string // the response's X-Request-Id, for a support ticket
}

// Count is the number of instances, of any engine, in status st.
func (s Status) Count(st dcs.Status) int32 { return s.Total.Get(st) }

// Transitional is the number of instances in a status that they leave by
// themselves, such as CREATING or RESTARTING.
func (s Status) Transitional() int64 { return s.Total.Transitional() }

// MarshalJSON writes the API's JSON, every counter included.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.API()) }

// A StatusOption modifies one InstanceStatus call.
type StatusOption func(*gen.ListNumberOfInstancesInDifferentStatusParams)

// IncludeFailure counts instances whose creation failed (CREATEFAILED),
// which the API leaves out by default.
func IncludeFailure() StatusOption {
	return func(p *gen.ListNumberOfInstancesInDifferentStatusParams) { p.IncludeFailure = new("true") }
}

// InstanceStatus asks how many of the project's instances are in each
// status. A response other than 2xx is an *APIError; a 2xx whose body
// breaks the spec is an *InvalidResponseError; a call that was retried
// and still failed wraps the last attempt's error.
func (c *Client) InstanceStatus(ctx context.Context, opts ...StatusOption) (Status, error) {
	var params gen.ListNumberOfInstancesInDifferentStatusParams
	for _, opt := range opts {
		opt(&params)
	}
	projectID, err := c.ProjectID(ctx)
	if err != nil {
		return Status{}, err
	}
	req, err := gen.NewListNumberOfInstancesInDifferentStatusRequest(c.endpoint, projectID, &params)
	if err != nil {
		return Status{}, err
	}
	req.Header.Set(signer.HeaderProjectID, projectID)
	resp, body, err := c.do(ctx, req)
	if err != nil {
		return Status{}, err
	}
	requestID := resp.Header.Get("X-Request-Id")
	counts, invalid := decodeCounts(body)
	if invalid != nil {
		invalid.StatusCode, invalid.RequestID = resp.StatusCode, clean(requestID, 128)
		return Status{}, invalid
	}
	return Status{Counts: counts, RequestID: requestID}, nil
}

// decodeCounts reads a 200 body into the generated type, and checks what
// the type cannot: that no counter is negative. Unknown fields, such as
// other API versions' deleting_count, are ignored, as the spec allows.
func decodeCounts(body []byte) (dcs.Counts, *InvalidResponseError) {
	var in gen.InstanceStatusCounts
	if err := json.Unmarshal(body, &in); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return dcs.Counts{}, &InvalidResponseError{Field: te.Field, Reason: "not an int32 counter"}
		}
		return dcs.Counts{}, &InvalidResponseError{Reason: "not the API's JSON: " + clean(err.Error(), 200)}
	}
	counts := dcs.FromAPI(in)
	prefixes, parts := []string{""}, []dcs.Counters{counts.Total}
	for _, e := range dcs.Engines() {
		prefixes, parts = append(prefixes, e.Key()+"."), append(parts, counts.Engine(e))
	}
	for p, c := range parts {
		for i, st := range dcs.Statuses() {
			if c[i] < 0 {
				return dcs.Counts{}, &InvalidResponseError{Field: prefixes[p] + st.Counter(), Reason: fmt.Sprintf("%d is negative", c[i])}
			}
		}
	}
	return counts, nil
}

// do sends req until a 2xx arrives or the retry policy gives up, and
// returns that response with its body read. Credentials come first: a
// failure to get them is a *CredentialsError, and nothing is sent.
func (c *caller) do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	if c.creds != nil {
		if _, err := c.creds.Retrieve(ctx); err != nil {
			return nil, nil, asCredentialsError(err)
		}
	}
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, stopped(err, attempt-1, last)
		}
		resp, body, err := c.attempt(req.WithContext(context.WithValue(ctx, attemptKey{}, attempt)))
		success := resp != nil && resp.StatusCode >= 200 && resp.StatusCode < 300
		if errors.Is(err, ErrResponseTooLarge) && success {
			return nil, nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
		} else if errors.Is(err, ErrResponseTooLarge) {
			err = nil // an error body is enough, cut short
		}
		if err == nil && success {
			return resp, body, nil
		} else if last = err; err == nil {
			last = newAPIError(resp, body)
		}
		if attempt >= c.retry.MaxAttempts || !c.retry.CheckRetry(ctx, resp, err) {
			if attempt > 1 {
				return nil, nil, fmt.Errorf("after %d attempts: %w", attempt, last)
			}
			return nil, nil, last
		}
		wait := c.retry.Backoff(attempt, resp)
		if err := pastDeadline(ctx, resp, wait, time.Now()); err != nil {
			return nil, nil, fmt.Errorf("giving up after %d attempt(s): %w; last attempt: %w", attempt, err, last)
		}
		select {
		case <-ctx.Done():
			return nil, nil, stopped(ctx.Err(), attempt, last)
		case <-time.After(wait):
		}
	}
}

// attempt makes one round trip. The response's body is read, closed, and
// replaced by a reader over the bytes read, for a CheckRetry to look at.
func (c *caller) attempt(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := readBody(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil && !errors.Is(err, ErrResponseTooLarge) {
		err = fmt.Errorf("reading HTTP %d response: %w", resp.StatusCode, err)
	}
	return resp, body, err
}

// stopped reports a context that ended the calls, keeping the last
// attempt's error inspectable too.
func stopped(ctxErr error, attempts int, last error) error {
	if last == nil {
		return ctxErr
	}
	return fmt.Errorf("%w before attempt %d; attempt %d: %w", ctxErr, attempts+1, attempts, last)
}
