package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/gen/dcsclient"
	"github.com/dcskit/dcskit/internal/clock"
	"github.com/dcskit/dcskit/signer"
)

// Status is the answer of ListNumberOfInstancesInDifferentStatus: how many
// instances are in each status, in total and per engine. It marshals to
// and from the API's own JSON.
type Status struct {
	dcs.Counts
	// RequestID is the response's X-Request-Id, for a support ticket.
	RequestID string
}

// Count is the number of instances, of any engine, in status st.
func (s Status) Count(st dcs.Status) int32 { return s.Total.Get(st) }

// Instances is the number of instances counted, in any status.
func (s Status) Instances() int64 { return s.Total.Total() }

// Transitional is the number of instances in a status that they leave by
// themselves, such as CREATING or RESTARTING.
func (s Status) Transitional() int64 { return s.Total.Transitional() }

// MarshalJSON writes the API's JSON, every counter included.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.API()) }

// UnmarshalJSON reads the API's JSON. Missing counters are 0 and unknown
// fields, such as other API versions' deleting_count, are ignored; a
// negative counter is an *InvalidResponseError.
func (s *Status) UnmarshalJSON(b []byte) error {
	counts, err := decodeCounts(b)
	if err != nil {
		return err
	}
	s.Counts = counts
	return nil
}

// A StatusOption modifies one InstanceStatus call.
type StatusOption func(*gen.ListNumberOfInstancesInDifferentStatusParams)

// IncludeFailure counts instances whose creation failed (CREATEFAILED),
// which the API leaves out by default.
func IncludeFailure() StatusOption {
	return func(p *gen.ListNumberOfInstancesInDifferentStatusParams) {
		v := "true"
		p.IncludeFailure = &v
	}
}

// InstanceStatus asks how many of the project's instances are in each
// status. A response other than 2xx is an *APIError; a 2xx whose body
// breaks the spec (not JSON, a negative or oversized counter) is an
// *InvalidResponseError; a call that was retried and still failed wraps
// the last attempt's error.
func (c *Client) InstanceStatus(ctx context.Context, opts ...StatusOption) (Status, error) {
	var params gen.ListNumberOfInstancesInDifferentStatusParams
	for _, opt := range opts {
		opt(&params)
	}
	projectID, err := c.Project(ctx)
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

// decodeCounts reads a 200 body into the generated type and checks what
// the type cannot: that no counter is negative. Unknown fields, such as
// other API versions' deleting_count, are ignored, as the spec allows.
//
// It decodes with JSON v2 (go-json-experiment/json, what becomes
// encoding/json/v2), which reads this body three times faster than
// encoding/json: decoding was half the client's CPU per call, and the
// client must cost at most half what the official SDK does (make bench).
// v2 is also stricter where the spec is: names match exactly, a name
// given twice is an error.
func decodeCounts(body []byte) (dcs.Counts, *InvalidResponseError) {
	var in gen.InstanceStatusCounts
	if err := jsonv2.Unmarshal(body, &in); err != nil {
		e := &InvalidResponseError{Reason: "not the API's JSON: " + clean(err.Error(), 200)}
		if se, ok := errors.AsType[*jsonv2.SemanticError](err); ok && se.JSONPointer != "" {
			e.Field = strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", ".")
			e.Reason = "not an int32 counter"
		}
		return dcs.Counts{}, e
	}
	counts := dcs.FromAPI(in)
	statuses := dcs.Statuses()
	check := func(prefix string, c dcs.Counters) *InvalidResponseError {
		for i, st := range statuses {
			if c[i] < 0 {
				return &InvalidResponseError{Field: prefix + st.Counter(), Reason: fmt.Sprintf("%d is negative", c[i])}
			}
		}
		return nil
	}
	if err := check("", counts.Total); err != nil {
		return dcs.Counts{}, err
	}
	for _, e := range dcs.Engines() {
		if err := check(e.Key()+".", counts.Engine(e)); err != nil {
			return dcs.Counts{}, err
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
	req = req.WithContext(ctx)
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, stopped(err, attempt-1, last)
		}
		resp, body, err := c.attempt(c.withAttempt(req, attempt))
		success := resp != nil && resp.StatusCode >= 200 && resp.StatusCode < 300
		if errors.Is(err, ErrResponseTooLarge) {
			if success {
				return nil, nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
			}
			err = nil // an error body is enough, cut short
		}
		if err == nil && success {
			return resp, body, nil
		}
		if err != nil {
			last = err
		} else {
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
		if err := clock.Sleep(ctx, wait); err != nil {
			return nil, nil, stopped(err, attempt, last)
		}
	}
}

// attempt makes one round trip. The returned response's body is read,
// closed, and replaced by a reader over the bytes read, so that a
// CheckRetry can look at it.
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
