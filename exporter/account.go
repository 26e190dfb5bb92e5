package exporter

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dcskit/dcskit/client"
)

// An Account reaches the API with one set of credentials, such as a
// credentials profile of the configuration file. Its targets' clients
// share one client.IAM, so that each region's project is looked up once.
type Account struct {
	opts []client.Option
	iam  *client.IAM
}

// NewAccount returns the Account of opts, the options of client.New; a
// region or project id among them is overridden by each target's. Its
// clients pause every call of the exporter when they retry a 429 or
// 503, unless opts replace the retry policy.
func NewAccount(opts ...client.Option) (*Account, error) {
	opts = append([]client.Option{client.WithRetry(client.RetryPolicy{CheckRetry: checkRetry})}, opts...)
	iam, err := client.NewIAM(opts...)
	if err != nil {
		return nil, err
	}
	return &Account{opts: slices.Clip(opts), iam: iam}, nil
}

// pauseKey holds, in the context of a call, Exporter.pause.
type pauseKey struct{}

// checkRetry is client.DefaultCheckRetry that, before the client retries
// a 429 or 503, pauses the account for its Retry-After in seconds (0: a
// backoff), so that the other calls slow down too. The last attempt's
// answer pauses it through its *client.APIError instead.
func checkRetry(ctx context.Context, resp *http.Response, err error) bool {
	if pause, ok := ctx.Value(pauseKey{}).(func(time.Duration)); ok && resp != nil && slowDown(resp.StatusCode) {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		pause(time.Duration(max(secs, 0)) * time.Second)
	}
	return client.DefaultCheckRetry(ctx, resp, err)
}

// client is the client of one target. A project id from the environment
// or a profile is never used: it cannot be every region's.
func (a *Account) client(region, projectID string) (*client.Client, error) {
	return client.New(append(a.opts, client.WithIAM(a.iam), client.WithRegion(region), client.WithProjectID(projectID))...)
}

// Credentials returns an error if the account has no usable credentials
// now (a *client.CredentialsError), so that a program can refuse a
// configuration before it serves anything.
func (a *Account) Credentials(ctx context.Context) error {
	c, err := client.New(append(a.opts, client.WithIAM(a.iam))...)
	if err == nil {
		_, err = c.Credentials(ctx)
	}
	return err
}

// regionID is the shape of every region id the official SDK knows, such
// as cn-north-4, my-kualalumpur-1 or eu-west-101 (16 characters at most).
var regionID = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

// checkRegion says what is wrong with a region id that cannot be one,
// such as "" or "cn north 4".
func checkRegion(region string) error {
	if len(region) > 64 || !regionID.MatchString(region) {
		return fmt.Errorf("%q is not a region id such as cn-north-4 (lower-case words and digits joined by '-')", clip(region))
	}
	return nil
}

// clip keeps what an error repeats of its input short.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:80] + "..."
}

// projectRegion is the region of a project IAM lists: its name, or the
// part of it before '_' for a subproject (cn-north-4_dev), if that is a
// region id. Projects of no region (IAM's MOS) have none.
func projectRegion(name string) (string, bool) {
	region, _, _ := strings.Cut(name, "_")
	return region, checkRegion(region) == nil
}
