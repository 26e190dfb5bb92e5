package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/dcskit/dcskit/gen/iam"
	"github.com/dcskit/dcskit/gen/iamclient"
)

// DefaultIAMEndpoint is where project discovery asks, unless
// WithIAMEndpoint, EnvIAMEndpoint or the credentials' source (a profile's
// iam_endpoint) say otherwise.
const DefaultIAMEndpoint = "https://iam.myhuaweicloud.com"

// EnvIAMEndpoint is the official SDK's variable for the IAM endpoint. As
// in the SDK, a value without a scheme means https.
const EnvIAMEndpoint = "HUAWEICLOUD_SDK_IAM_ENDPOINT"

// maxCachedRegions bounds the project ids an IAM keeps. Only regions that
// have exactly one project are kept, so the bound is never reached with a
// real account; past it, lookups still work, uncached.
const maxCachedRegions = 1024

// Project is a project as IAM lists it. A region's project is named after
// the region, such as "cn-north-4".
type Project struct {
	ID      string
	Name    string
	Enabled bool
}

// IAM finds projects through Huawei Cloud IAM (openapi/iam.yaml), signed
// like the DCS calls. A Client without a project id uses one to discover
// it; share one between clients (WithIAM) so that each region is looked
// up once. It is safe for concurrent use.
type IAM struct {
	caller
	endpoint string // with a trailing slash; "" means the credentials' or DefaultIAMEndpoint

	mu      sync.Mutex
	regions map[string]*projectLookup
}

// projectLookup is one region's lookup: done is closed when id or err is
// set. A failed lookup is forgotten, so that the next call tries again.
type projectLookup struct {
	done chan struct{}
	id   string
	err  error
}

// NewIAM returns an IAM with the credentials, HTTP client, retry policy,
// user agent and IAM endpoint of opts, which are the options of New;
// those about the region, project and DCS endpoint are ignored. Without
// WithIAMEndpoint, the endpoint is EnvIAMEndpoint (FromEnv), the
// credentials' IAMEndpoint, or DefaultIAMEndpoint, in this order.
func NewIAM(opts ...Option) (*IAM, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.newCaller()
	if err != nil {
		return nil, err
	}
	return cfg.newIAM(cl)
}

func (cfg *config) newIAM(cl caller) (*IAM, error) {
	i := &IAM{caller: cl, regions: map[string]*projectLookup{}}
	endpoint, name := cfg.iamEndpoint, "IAM endpoint"
	if endpoint == "" && cfg.getenv != nil {
		endpoint, name = cfg.getenv(EnvIAMEndpoint), EnvIAMEndpoint
	}
	if endpoint != "" {
		u, err := parseIAMEndpoint(endpoint)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		i.endpoint = u
	}
	return i, nil
}

// parseIAMEndpoint reads an IAM endpoint as the SDK does: a bare host
// name means https.
func parseIAMEndpoint(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return parseEndpoint(s)
}

// base is the endpoint to ask: the configured one, else the one the
// credentials' source names, else DefaultIAMEndpoint.
func (i *IAM) base(ctx context.Context) (string, error) {
	if i.endpoint != "" {
		return i.endpoint, nil
	}
	if i.creds != nil {
		cred, err := i.creds.Retrieve(ctx)
		if err != nil {
			return "", asCredentialsError(err)
		}
		if cred.IAMEndpoint != "" {
			u, err := parseIAMEndpoint(cred.IAMEndpoint)
			if err != nil {
				return "", fmt.Errorf("the iam_endpoint of %s: %w", cred.Source, err)
			}
			return u, nil
		}
	}
	return DefaultIAMEndpoint + "/", nil
}

// ProjectID is the id of the one project named region, as the official
// SDK finds it (KeystoneListProjects, GET /v3/projects?name=<region>).
// An answer is kept for the IAM's lifetime; concurrent lookups of a
// region share one request. No project, or several, is a
// *DiscoveryError; a failed call is an *APIError or a transport error, as
// for InstanceStatus.
func (i *IAM) ProjectID(ctx context.Context, region string) (string, error) {
	i.mu.Lock()
	l, ok := i.regions[region]
	if !ok {
		l = &projectLookup{done: make(chan struct{})}
		if len(i.regions) < maxCachedRegions {
			i.regions[region] = l
		}
	}
	i.mu.Unlock()
	if !ok {
		l.id, l.err = i.lookup(ctx, region)
		if l.err != nil {
			i.mu.Lock()
			if i.regions[region] == l {
				delete(i.regions, region)
			}
			i.mu.Unlock()
		}
		close(l.done)
		return l.id, l.err
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if errors.Is(l.err, context.Canceled) || errors.Is(l.err, context.DeadlineExceeded) {
		// The lookup we waited for ran out of its caller's time, not
		// ours.
		return i.ProjectID(ctx, region)
	}
	return l.id, l.err
}

func (i *IAM) lookup(ctx context.Context, region string) (string, error) {
	base, err := i.base(ctx)
	if err != nil {
		return "", err
	}
	req, err := iamclient.NewKeystoneListProjectsRequest(base, &iam.KeystoneListProjectsParams{Name: &region})
	if err != nil {
		return "", err
	}
	var list iam.ProjectList
	if err := i.get(ctx, req, &list); err != nil {
		return "", fmt.Errorf("finding the project of region %s through IAM at %s: %w", region, strings.TrimSuffix(base, "/"), err)
	}
	found := projects(list.Projects)
	if len(found) == 1 {
		if err := checkProjectID(found[0].ID); err != nil {
			return "", fmt.Errorf("IAM at %s names the project of region %s: %w", strings.TrimSuffix(base, "/"), region, err)
		}
		return found[0].ID, nil
	}
	de := &DiscoveryError{Region: region, Endpoint: strings.TrimSuffix(base, "/"), Found: found}
	if len(found) == 0 {
		// What the caller can see names the mistake, such as a
		// misspelt region; without it, the error still stands.
		de.Visible, _ = i.Projects(ctx)
	}
	return "", de
}

// Projects lists the projects the credentials can access
// (KeystoneListAuthProjects, GET /v3/auth/projects): one per region
// that the account uses, for an operator who watches them all.
func (i *IAM) Projects(ctx context.Context) ([]Project, error) {
	base, err := i.base(ctx)
	if err != nil {
		return nil, err
	}
	req, err := iamclient.NewKeystoneListAuthProjectsRequest(base)
	if err != nil {
		return nil, err
	}
	var list iam.AuthProjectList
	if err := i.get(ctx, req, &list); err != nil {
		return nil, fmt.Errorf("listing projects through IAM at %s: %w", strings.TrimSuffix(base, "/"), err)
	}
	return projects(list.Projects), nil
}

// get sends req and decodes its 2xx answer into v.
func (i *IAM) get(ctx context.Context, req *http.Request, v any) error {
	resp, body, err := i.do(ctx, req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &InvalidResponseError{StatusCode: resp.StatusCode, Reason: "not IAM's JSON: " + clean(err.Error(), 200), RequestID: clean(resp.Header.Get("X-Request-Id"), 128)}
	}
	return nil
}

func projects(in []iam.Project) []Project {
	out := make([]Project, len(in))
	for i, p := range in {
		out[i] = Project{ID: p.Id, Name: p.Name, Enabled: p.Enabled}
	}
	return out
}

// DiscoveryError is IAM's answer when it does not name exactly one
// project for a region: there is none of that name, or several. Either
// way a project id must be given.
type DiscoveryError struct {
	Region   string
	Endpoint string    // the IAM endpoint asked
	Found    []Project // the projects named Region: none, or several
	// Visible, when none was found, are the projects the credentials can
	// access, if IAM listed them.
	Visible []Project
}

// maxListed bounds how many projects an error message names.
const maxListed = 10

func (e *DiscoveryError) Error() string {
	if len(e.Found) == 0 {
		s := fmt.Sprintf("IAM at %s has no project named %q", e.Endpoint, e.Region)
		if len(e.Visible) > 0 {
			s += "; the credentials can access " + listProjects(e.Visible)
		}
		return s + "; give the project id"
	}
	return fmt.Sprintf("IAM at %s has %d projects named %q: %s; give one as the project id",
		e.Endpoint, len(e.Found), e.Region, listProjects(e.Found))
}

func listProjects(ps []Project) string {
	var b strings.Builder
	for i, p := range ps {
		if i == maxListed {
			fmt.Fprintf(&b, " and %d more", len(ps)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", clean(p.Name, 64), clean(p.ID, 64))
	}
	return b.String()
}
