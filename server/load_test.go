package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
	"github.com/dcskit/dcskit/internal/contract/contracttest"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/servertest"
	"github.com/dcskit/dcskit/signer"
)

// Load test size. DCSKIT_SOAK=n (make soak) multiplies the requests and
// the writes by n.
const (
	loadClients  = 64
	loadRequests = 2_000 // queries, all clients together
	loadWrites   = 1_000 // Go API adds and status changes
	loadAdmin    = 20    // admin API calls over HTTP
)

var loadProjects = []string{"load0", "load1", "load2", "load3"}

// TestLoad runs loadClients signed clients against one fake on loopback,
// with every check on, while instances are added and change status
// through the Go API and the admin API. No request may fail in transport,
// every answer must validate against the spec and add up, each client
// must never see a project shrink (nothing is removed), and at the end the
// counters must equal a recount of the store.
func TestLoad(t *testing.T) {
	t.Parallel()
	scale := 1
	if v := os.Getenv("DCSKIT_SOAK"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "DCSKIT_SOAK")
		require.Positive(t, n, "DCSKIT_SOAK")
		scale = n
	}
	s := servertest.New(t, server.Options{AccessKey: benchAK, SecretKey: benchSK})
	var seedInsts []server.Instance
	for i, p := range loadProjects {
		for _, e := range dcs.Engines() {
			seedInsts = append(seedInsts, server.Instance{ProjectID: p, Engine: e, Status: dcs.Statuses()[i]})
		}
	}
	_, err := s.Add(seedInsts...)
	require.NoError(t, err)

	transport := &http.Transport{MaxIdleConnsPerHost: loadClients, MaxConnsPerHost: loadClients}
	t.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: contracttest.New(t).Transport(t, transport), Timeout: time.Minute}

	var (
		transportErrors atomic.Int64
		answered        atomic.Int64
		next            atomic.Int64
		wg              sync.WaitGroup
		stop            = make(chan struct{})
	)
	total := int64(loadRequests * scale)
	for c := range loadClients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 0))
			seen := map[string]int64{}
			for next.Add(1) <= total {
				p := loadProjects[r.IntN(len(loadProjects))]
				counts, err := loadQuery(hc, s.URL(), p)
				if err != nil {
					transportErrors.Add(1)
					t.Errorf("client %d: %v", c, err)
					return
				}
				answered.Add(1)
				if counts.Total != counts.EngineSum() {
					t.Errorf("client %d: %s: totals %v are not the sums of %v and %v", c, p, counts.Total, counts.Redis, counts.Memcached)
				}
				n := counts.Total.Total()
				if n < seen[p] {
					t.Errorf("client %d: %s shrank from %d to %d instances", c, p, seen[p], n)
				}
				seen[p] = n
			}
		})
	}

	// Writers: the Go API, then the admin API, both while clients query.
	var writeErrors atomic.Int64
	wg.Go(func() {
		r := rand.New(rand.NewPCG(99, 0))
		var ids []string
		for i := range loadWrites * scale {
			if i%2 == 0 || len(ids) == 0 {
				added, err := s.Add(server.Instance{
					ProjectID: loadProjects[r.IntN(len(loadProjects))],
					Engine:    dcs.Engines()[r.IntN(2)],
					Status:    dcs.Statuses()[r.IntN(len(dcs.Statuses()))],
				})
				if err != nil {
					writeErrors.Add(1)
					t.Errorf("Add: %v", err)
					continue
				}
				ids = append(ids, added[0].ID)
			} else if err := s.SetStatus(ids[r.IntN(len(ids))], dcs.Statuses()[r.IntN(len(dcs.Statuses()))]); err != nil {
				writeErrors.Add(1)
				t.Errorf("SetStatus: %v", err)
			}
		}
	})
	wg.Go(func() {
		for i := range loadAdmin {
			if err := loadAdminCall(hc, s.URL(), i); err != nil {
				writeErrors.Add(1)
				t.Errorf("admin call %d: %v", i, err)
			}
		}
	})
	go func() { wg.Wait(); close(stop) }()
	select {
	case <-stop:
	case <-time.After(10 * time.Minute * time.Duration(scale)):
		t.Fatal("load test did not finish; stuck requests?")
	}

	assert.Zero(t, transportErrors.Load(), "transport errors")
	assert.Zero(t, writeErrors.Load(), "write errors")
	assert.Equal(t, total, answered.Load(), "answered queries")
	assertCountsMatchInstances(t, s)
	for _, p := range loadProjects {
		c := s.Counts(p, true)
		assert.Positive(t, c.Total.Total(), "project %s has instances", p)
	}
	t.Logf("%d queries by %d clients, %d Go API writes, %d admin calls", answered.Load(), loadClients, loadWrites*scale, loadAdmin)
}

// loadQuery sends one signed query and decodes its answer; the contract
// transport has already validated it against the spec.
func loadQuery(hc *http.Client, base, project string) (dcs.Counts, error) {
	req, err := http.NewRequest(http.MethodGet, base+statusPath(project)+"?include_failure=true", nil)
	if err != nil {
		return dcs.Counts{}, err
	}
	req.Header.Set(signer.HeaderProjectID, project)
	if err := signer.Sign(req, nil, signer.Credentials{AccessKey: benchAK, SecretKey: benchSK}, time.Now()); err != nil {
		return dcs.Counts{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return dcs.Counts{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return dcs.Counts{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return dcs.Counts{}, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	var out gen.InstanceStatusCounts
	if err := json.Unmarshal(body, &out); err != nil {
		return dcs.Counts{}, err
	}
	return dcs.FromAPI(out), nil
}

// loadAdminCall adds an instance over the admin API, then changes its
// status, then lists the project.
func loadAdminCall(hc *http.Client, base string, i int) error {
	project := loadProjects[i%len(loadProjects)]
	body := fmt.Sprintf(`{"instances":[{"project_id":%q,"engine":"Memcached","status":"CREATING"}]}`, project)
	var added struct {
		Instances []struct {
			ID string `json:"id"`
		} `json:"instances"`
	}
	if err := adminDo(hc, http.MethodPost, base+"/_fake/instances", body, http.StatusOK, &added); err != nil {
		return err
	}
	if len(added.Instances) != 1 {
		return fmt.Errorf("added %d instances, want 1", len(added.Instances))
	}
	if err := adminDo(hc, http.MethodPatch, base+"/_fake/instances/"+added.Instances[0].ID, `{"status":"RUNNING"}`, http.StatusOK, nil); err != nil {
		return err
	}
	return adminDo(hc, http.MethodGet, base+"/_fake/instances?project_id="+project, "", http.StatusOK, nil)
}

func adminDo(hc *http.Client, method, url, body string, want int, out any) error {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// The fake has credentials; admin requests from loopback need none,
	// but signed ones are taken too.
	if err := signer.Sign(req, []byte(body), signer.Credentials{AccessKey: benchAK, SecretKey: benchSK}, time.Now()); err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
