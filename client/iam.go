package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/dcskit/dcskit/gen/iam"
	"github.com/dcskit/dcskit/gen/iamclient"
)

// Where projects are looked up, unless WithIAMEndpoint, the SDK's
// variable EnvIAMEndpoint (a bare host name meaning https, as in the SDK)
// or the credentials' source (a profile's iam_endpoint) say otherwise.
const (
	DefaultIAMEndpoint = "https://iam.myhuaweicloud.com"
	EnvIAMEndpoint     = "HUAWEICLOUD_SDK_IAM_ENDPOINT"
)

// Project is a project as IAM lists it. A region's project is named after
// the region, such as "cn-north-4".
type Project struct {
	ID, Name string
	Enabled  bool
}

// IAM finds projects through Huawei Cloud IAM (openapi/iam.yaml). Clients
// that share one (WithIAM) look each region up once. It is safe for
// concurrent use.
type IAM struct {
	caller
	endpoint string // with a trailing slash; "" for the credentials' or DefaultIAMEndpoint
	lookups  singleflight.Group
	mu       sync.Mutex
	found    map[string]string // region to project id; regions with one project only
}

// NewIAM returns an IAM with the credentials, HTTP client, retry policy,
// logger and IAM endpoint of opts, the options of New.
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
	i := &IAM{caller: cl, endpoint: cfg.iamEndpoint, found: map[string]string{}}
	if v := cfg.getenv(EnvIAMEndpoint); i.endpoint == "" && v != "" {
		var err error
		if i.endpoint, err = parseIAMEndpoint(v); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvIAMEndpoint, err)
		}
	}
	return i, nil
}

func parseIAMEndpoint(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return parseEndpoint(s)
}

// base is the endpoint to ask, with a trailing slash.
func (i *IAM) base(ctx context.Context) (string, error) {
	if i.endpoint != "" || i.creds == nil {
		return cmp.Or(i.endpoint, DefaultIAMEndpoint+"/"), nil
	}
	cred, err := i.creds.Retrieve(ctx)
	if err != nil {
		return "", asCredentialsError(err)
	}
	u, err := parseIAMEndpoint(cmp.Or(cred.IAMEndpoint, DefaultIAMEndpoint))
	if err != nil {
		return "", fmt.Errorf("the iam_endpoint of %s: %w", cred.Source, err)
	}
	return u, nil
}

// ProjectID is the id of the one project named region, as the official
// SDK finds it (GET /v3/projects?name=<region>), kept for the IAM's
// lifetime; concurrent lookups of a region share one request. No project,
// or several, is a *DiscoveryError.
func (i *IAM) ProjectID(ctx context.Context, region string) (string, error) {
	for {
		i.mu.Lock()
		id, ok := i.found[region]
		i.mu.Unlock()
		if ok {
			return id, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case r := <-i.lookups.DoChan(region, func() (any, error) { return i.lookup(ctx, region) }):
			// A lookup that ran out of its first caller's time, not ours,
			// is made again.
			if r.Err == nil || ctx.Err() != nil || !errors.Is(r.Err, context.Canceled) && !errors.Is(r.Err, context.DeadlineExceeded) {
				id, _ := r.Val.(string)
				return id, r.Err
			}
		}
	}
}

func (i *IAM) lookup(ctx context.Context, region string) (string, error) {
	var list iam.ProjectList
	at, err := i.get(ctx, &list, func(base string) (*http.Request, error) {
		return iamclient.NewKeystoneListProjectsRequest(base, &iam.KeystoneListProjectsParams{Name: &region})
	})
	if err != nil {
		return "", fmt.Errorf("finding the project of region %s through IAM at %s: %w", region, at, err)
	}
	found := projects(list.Projects)
	if len(found) != 1 {
		de := &DiscoveryError{Region: region, Endpoint: at, Found: found}
		if len(found) == 0 {
			// What the caller can see names the mistake, such as a
			// misspelt region; without it, the error stands all the same.
			de.Visible, _ = i.Projects(ctx)
		}
		return "", de
	}
	if err := checkProjectID(found[0].ID); err != nil {
		return "", fmt.Errorf("IAM at %s names the project of region %s: %w", at, region, err)
	}
	i.mu.Lock()
	if len(i.found) < 1024 { // never reached with a real account
		i.found[region] = found[0].ID
	}
	i.mu.Unlock()
	return found[0].ID, nil
}

// Projects lists the projects the credentials can access (GET
// /v3/auth/projects): one per region that the account uses.
func (i *IAM) Projects(ctx context.Context) ([]Project, error) {
	var list iam.AuthProjectList
	at, err := i.get(ctx, &list, iamclient.NewKeystoneListAuthProjectsRequest)
	if err != nil {
		return nil, fmt.Errorf("listing projects through IAM at %s: %w", at, err)
	}
	return projects(list.Projects), nil
}

// get sends the request that build makes for the endpoint at, and decodes
// the answer into v.
func (i *IAM) get(ctx context.Context, v any, build func(base string) (*http.Request, error)) (at string, err error) {
	base, err := i.base(ctx)
	if err != nil {
		return "", err
	}
	at = strings.TrimSuffix(base, "/")
	req, err := build(base)
	if err != nil {
		return at, err
	}
	resp, body, err := i.do(ctx, req)
	if err != nil {
		return at, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return at, &InvalidResponseError{StatusCode: resp.StatusCode, Reason: "not IAM's JSON: " + clean(err.Error(), 200), RequestID: clean(resp.Header.Get("X-Request-Id"), 128)}
	}
	return at, nil
}

func projects(in []iam.Project) []Project {
	out := make([]Project, len(in))
	for i, p := range in {
		out[i] = Project{ID: p.Id, Name: p.Name, Enabled: p.Enabled}
	}
	return out
}

// DiscoveryError is IAM naming no project of a region, or several.
type DiscoveryError struct {
	Region   string
	Endpoint string    // the IAM endpoint asked
	Found    []Project // the projects named Region: none, or several
	Visible  []Project // when none was found, the projects the credentials can access
}

func (e *DiscoveryError) Error() string {
	if len(e.Found) > 0 {
		return fmt.Sprintf("IAM at %s has %d projects named %q: %s; give one as the project id", e.Endpoint, len(e.Found), e.Region, listProjects(e.Found))
	}
	s := fmt.Sprintf("IAM at %s has no project named %q", e.Endpoint, e.Region)
	if len(e.Visible) > 0 {
		s += "; the credentials can access " + listProjects(e.Visible)
	}
	return s + "; give the project id"
}

// listProjects names at most 10 projects.
func listProjects(ps []Project) string {
	var names []string
	for _, p := range ps[:min(len(ps), 10)] {
		names = append(names, fmt.Sprintf("%s (%s)", clean(p.Name, 64), clean(p.ID, 64)))
	}
	if len(ps) > 10 {
		names[9] += fmt.Sprintf(" and %d more", len(ps)-10)
	}
	return strings.Join(names, ", ")
}
