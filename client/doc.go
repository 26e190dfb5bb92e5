// Package client is a small, signed, retrying client for the Huawei Cloud
// DCS API ListNumberOfInstancesInDifferentStatus.
//
// New takes options, whose order never matters; they win over what
// FromEnv reads from the official SDK's variables. Credentials are
// required: AK/SK, an IAM token, a CredentialsProvider (for temporary
// keys; package client/profile has the SDK's default chain), or
// WithoutSigning. A client without a project id finds it as the SDK does:
// the one the credentials name, else the one IAM names after the region,
// once. Clients of many projects and regions share one provider and one
// IAM (WithIAM).
//
// Every response other than 2xx is an *APIError; credentials that cannot
// be had, a *CredentialsError, before anything is sent; an IAM that does
// not name one project, a *DiscoveryError. Bodies are read up to
// MaxBodySize, redirects never followed, and calls retried as RetryPolicy
// says.
package client
