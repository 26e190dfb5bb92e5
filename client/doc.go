// Package client is a small, signed, retrying client for the Huawei Cloud
// DCS API ListNumberOfInstancesInDifferentStatus.
//
// New takes options, each validated: a project id and one kind of
// credentials (AK/SK, optionally temporary, or an IAM token) are
// required; FromEnv reads them from the official SDK's environment
// variables. Requests are built from the OpenAPI document by package gen
// and authenticated by a RoundTripper that clones each request, so a
// caller's *http.Client is never changed.
//
// Every response other than 2xx is an *APIError. Bodies are read up to
// MaxBodySize. Calls retry on 429, 5xx gateway and availability errors and
// on connection failures (see RetryPolicy), checking the context before
// every attempt.
package client
