// Package client is a small, signed, retrying client for the Huawei Cloud
// DCS API ListNumberOfInstancesInDifferentStatus.
//
// New takes options, each validated. Credentials are required: AK/SK,
// optionally temporary, or an IAM token, given in code, read by FromEnv
// from the official SDK's environment variables, or got at the time of
// each request from a CredentialsProvider. Package client/profile makes
// the SDK's default chain of them (the environment, the profile file, the
// ECS metadata service); it is apart because of its INI parser's size.
//
// A client without a project id finds it as the SDK does: the project the
// credentials' source names, else the one IAM names after the region
// (GET /v3/projects?name=<region>, see IAM), once. Clients for many
// projects and regions are cheap: they share one CredentialsProvider and
// one IAM (WithIAM), and each region's endpoint comes from its own
// environment override or from WithEndpointTemplate.
//
// Requests are built from the OpenAPI documents by packages gen and
// gen/iam and authenticated by a RoundTripper that clones each request,
// so a caller's *http.Client is never changed.
//
// Every response other than 2xx is an *APIError; credentials that cannot
// be had are a *CredentialsError, before anything is sent; an IAM that
// does not name one project for the region is a *DiscoveryError. Bodies
// are read up to MaxBodySize. Calls retry on 429, 5xx gateway and
// availability errors and on connection failures (see RetryPolicy),
// checking the context before every attempt.
package client
