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
	"github.com/dcskit/dcskit/gen/dcsclient"
	"github.com/dcskit/dcskit/signer"
)

// Status is how many instances are in each status, in total and per
// engine.
type Status struct {
	dcs.Counts
	RequestID string // the response's X-Request-Id, for a support ticket
}

// Count is the number of instances, of any engine, in status st.
func (s Status) Count(st dcs.Status) int32 { return s.Total.Get(st) }

// Transitional is the number of instances in a status they leave by
// themselves, such as CREATING.
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
// status. A call that was retried and still failed wraps the last
// attempt's error.
func (c *Client) InstanceStatus(ctx context.Context, opts ...StatusOption) (Status, error) {
	var params gen.ListNumberOfInstancesInDifferentStatusParams
	for _, opt := range opts {
		opt(&params)
	}
	projectID, err := c.ProjectID(ctx)
	if err != nil {
		return Status{}, err
	}
	req, err := dcsclient.NewListNumberOfInstancesInDifferentStatusRequest(c.endpoint, projectID, &params)
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

// decodeCounts reads a 2xx body, whose unknown fields (other API
// versions') are ignored, and refuses negative counters.
func decodeCounts(body []byte) (dcs.Counts, *InvalidResponseError) {
	var in gen.InstanceStatusCounts
	if err := json.Unmarshal(body, &in); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return dcs.Counts{}, &InvalidResponseError{Field: te.Field, Reason: "not an int32 counter"}
		}
		return dcs.Counts{}, &InvalidResponseError{Reason: "not the API's JSON: " + clean(err.Error(), 200)}
	}
	counts, engines, statuses := dcs.FromAPI(in), dcs.Engines(), dcs.Statuses()
	for e := -1; e < len(engines); e++ {
		c, prefix := counts.Total, ""
		if e >= 0 {
			c, prefix = counts.Engine(engines[e]), engines[e].Key()+"."
		}
		for i, st := range statuses {
			if c[i] < 0 {
				return dcs.Counts{}, &InvalidResponseError{Field: prefix + st.Counter(), Reason: fmt.Sprintf("%d is negative", c[i])}
			}
		}
	}
	return counts, nil
}

// do sends req until a 2xx arrives or the retry policy gives up. A failure
// to get credentials comes first, and sends nothing.
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

// attempt makes one round trip, its body read and rewound for CheckRetry.
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

// stopped is the context's error, with the last attempt's.
func stopped(ctxErr error, attempts int, last error) error {
	if last == nil {
		return ctxErr
	}
	return fmt.Errorf("%w before attempt %d; attempt %d: %w", ctxErr, attempts+1, attempts, last)
}
