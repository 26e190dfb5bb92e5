package exporter

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
)

// An Account reaches the API with one set of credentials: it finds a
// region's project, lists the projects it can access, and makes the
// Fetch of one target. The targets of an exporter may belong to several
// accounts, such as the credentials profiles of a configuration file.
type Account interface {
	// ProjectID is the project of region, as IAM names it. No project of
	// that name, or several, is a *client.DiscoveryError.
	ProjectID(ctx context.Context, region string) (string, error)
	// Projects lists every project the account can access.
	Projects(ctx context.Context) ([]client.Project, error)
	// Fetch makes the Fetch of one project in one region.
	Fetch(region, projectID string) (Fetch, error)
}

// ClientAccount is the Account of a set of client options: credentials,
// endpoints, retries. Its targets' clients share one client.IAM, so that
// each region's project is looked up once.
type ClientAccount struct {
	opts []client.Option
	iam  *client.IAM
}

var _ Account = (*ClientAccount)(nil)

// NewAccount returns the Account of opts, the options of client.New. A
// region or project id among them is overridden by each target's.
func NewAccount(opts ...client.Option) (*ClientAccount, error) {
	iam, err := client.NewIAM(opts...)
	if err != nil {
		return nil, err
	}
	return &ClientAccount{opts: slices.Clip(opts), iam: iam}, nil
}

// ProjectID implements Account through IAM (client.IAM.ProjectID), which
// keeps what it found: a project id from the environment or a profile
// is not used, since it cannot be every region's.
func (a *ClientAccount) ProjectID(ctx context.Context, region string) (string, error) {
	return a.iam.ProjectID(ctx, region)
}

// Projects implements Account (client.IAM.Projects).
func (a *ClientAccount) Projects(ctx context.Context) ([]client.Project, error) {
	return a.iam.Projects(ctx)
}

// Fetch implements Account: the counts of InstanceStatus, failed
// creations included, as every command of dcskit but status counts
// them.
func (a *ClientAccount) Fetch(region, projectID string) (Fetch, error) {
	c, err := client.New(append(a.opts, client.WithIAM(a.iam), client.WithRegion(region), client.WithProjectID(projectID))...)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (dcs.Counts, error) {
		st, err := c.InstanceStatus(ctx, client.IncludeFailure())
		return st.Counts, err
	}, nil
}

// Credentials returns an error if the account has no usable credentials
// now (a *client.CredentialsError), so that a program can refuse a
// configuration before it serves anything.
func (a *ClientAccount) Credentials(ctx context.Context) error {
	c, err := client.New(append(a.opts, client.WithIAM(a.iam))...)
	if err != nil {
		return err
	}
	_, err = c.Credentials(ctx)
	return err
}

// maxRegionLength bounds a region id; the longest of the SDK's is 16.
const maxRegionLength = 64

// regionID is the shape of every region id the official SDK knows, such
// as cn-north-4, my-kualalumpur-1 or eu-west-101.
var regionID = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

// CheckRegion returns an error that says what is wrong with a region id
// that cannot be one, such as "" or "cn north 4".
func CheckRegion(region string) error {
	if len(region) > maxRegionLength || !regionID.MatchString(region) {
		return fmt.Errorf("%q is not a region id such as cn-north-4 (lower-case words and digits joined by '-')", clip(region))
	}
	return nil
}

// projectID is the project_id rule that dcs.yaml's paths and the fake
// follow.
var projectID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckProjectID returns an error for a project id that cannot be one.
func CheckProjectID(id string) error {
	if !projectID.MatchString(id) {
		return fmt.Errorf("%q is not a project id (1 to 64 letters, digits, '-' or '_')", clip(id))
	}
	return nil
}

// clip keeps what an error repeats of its input short.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// projectRegion is the region of a project IAM lists: its name, or the
// part of it before '_' for a subproject (cn-north-4_dev), if that is a
// region id. Projects of no region (IAM's MOS) have none.
func projectRegion(name string) (string, bool) {
	region, _, _ := strings.Cut(name, "_")
	return region, CheckRegion(region) == nil
}
