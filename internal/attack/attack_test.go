//go:build attack

// Package attack reruns the memory attacks of issue 10 against a real
// `dcskit serve` ($DCSKIT_BIN) on 127.0.0.1: each must be refused or
// survived as the limits say, a query sent every 20ms while it goes on
// must keep answering, and the fake's peak RSS (VmHWM) must stay under
// 1.5 GB. `make attack` builds dcskit and runs it; it is not part of CI.
// Every attack is bounded in count and size.
package attack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/server"
)

// maxRSS is the bound the issue sets on the fake with a full store.
const maxRSS = 1500 << 20

type fake struct {
	url   string
	pid   int
	hc    *http.Client
	slow  atomic.Int64 // slowest query of the current attack, in ns
	fails atomic.Int64 // failed queries of the current attack
}

func TestAttacks(t *testing.T) {
	bin := os.Getenv("DCSKIT_BIN")
	require.NotEmpty(t, bin, "DCSKIT_BIN is not set: run make attack")
	cmd := exec.CommandContext(t.Context(), bin, "serve", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "no URL from dcskit serve")
	f := &fake{url: strings.TrimSpace(url), pid: cmd.Process.Pid,
		hc: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	stop, probed := make(chan struct{}), make(chan struct{})
	go f.probe(stop, probed)
	t.Cleanup(func() { close(stop); <-probed })

	for _, a := range attacks() {
		t.Run(a.name, func(t *testing.T) {
			f.slow.Store(0)
			f.fails.Store(0)
			a.run(t, f)
			assert.Zero(t, f.fails.Load(), "queries failed during the attack")
			t.Logf("RSS after: %d MB; slowest query: %v", f.rss(t, "VmRSS")>>20, time.Duration(f.slow.Load()).Round(time.Millisecond))
		})
	}
	hwm := f.rss(t, "VmHWM")
	t.Logf("peak RSS (VmHWM): %d MB (bound: %d MB)", hwm>>20, maxRSS>>20)
	assert.LessOrEqual(t, hwm, int64(maxRSS), "peak RSS")
}

// probe queries the fake every 20ms, as a test would while an attack
// goes on, and keeps the slowest answer.
func (f *fake) probe(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		start := time.Now()
		resp, err := f.hc.Get(f.url + "/v2/p0/instances/status")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			f.fails.Add(1)
		}
		d := int64(time.Since(start))
		for old := f.slow.Load(); d > old && !f.slow.CompareAndSwap(old, d); old = f.slow.Load() {
		}
	}
}

// rss reads a field of /proc/<pid>/status, in bytes.
func (f *fake) rss(t *testing.T, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", f.pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, f.pid)
	return 0
}

// expect makes one call and checks its status; it is safe in parallel.
func (f *fake) expect(want int, method, path string, body io.Reader) error {
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != want {
		err = fmt.Errorf("%s %s: HTTP %d, want %d", method, path, resp.StatusCode, want)
	}
	return err
}

// chain is a `becomes` chain of n changes of after each.
func chain(n int, after string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"status":"%s","after":%q`, []string{"RUNNING", "RESTARTING"}[i%2], after)
		if i < n-1 {
			b.WriteString(`,"then":`)
		}
	}
	return b.String() + strings.Repeat("}", n)
}

func fixture(entries ...string) io.Reader {
	return strings.NewReader(`{"instances":[` + strings.Join(entries, ",") + `]}`)
}

type attack struct {
	name string
	run  func(*testing.T, *fake)
}

func attacks() []attack {
	const add = "/_fake/instances"
	post := func(t *testing.T, f *fake, want int, body io.Reader) {
		require.NoError(t, f.expect(want, http.MethodPost, add, body))
	}
	return []attack{
		{"8 entries of count 1,000,000 (583 bytes)", func(t *testing.T, f *fake) {
			e := `{"project_id":"p0","engine":"Redis","status":"RUNNING","count":1000000}`
			post(t, f, http.StatusRequestEntityTooLarge, fixture(slices.Repeat([]string{e}, 8)...))
		}},
		{"a 100 MB id", func(t *testing.T, f *fake) {
			post(t, f, http.StatusRequestEntityTooLarge, io.MultiReader(
				strings.NewReader(`{"instances":[{"project_id":"p0","engine":"Redis","status":"RUNNING","id":"`),
				io.LimitReader(repeatReader('a'), 100<<20), strings.NewReader(`"}]}`)))
		}},
		{"5 x count 200,000 with a 99-step 1ns chain", func(t *testing.T, f *fake) {
			e := `{"project_id":"p1","engine":"Redis","status":"CREATING","count":200000,"becomes":` + chain(99, "1ns") + `}`
			for range 5 {
				post(t, f, http.StatusOK, fixture(e))
			}
		}},
		{"one more instance in the full store", func(t *testing.T, f *fake) {
			post(t, f, http.StatusRequestEntityTooLarge, fixture(`{"project_id":"p1","engine":"Redis","status":"RUNNING"}`))
		}},
		{"10 parallel listings, 100 pages of 1,000 each", func(t *testing.T, f *fake) {
			parallel(t, 10, func() error { return f.walk(100) })
		}},
		{"reset; 20,000 instances with own 100-step chains", func(t *testing.T, f *fake) {
			require.NoError(t, f.expect(http.StatusNoContent, http.MethodPost, "/_fake/reset", nil))
			const per = 800 // chains of ~4.5 kB: under MaxAdminBody
			for r := range 20_000 / per {
				entries := make([]string, per)
				for i := range entries {
					// Distinct chains: every "after" differs.
					entries[i] = fmt.Sprintf(`{"project_id":"p2","engine":"Memcached","status":"CREATING","becomes":%s}`,
						chain(100, strconv.Itoa(r*per+i+1)+"h"))
				}
				post(t, f, http.StatusOK, fixture(entries...))
			}
			post(t, f, http.StatusRequestEntityTooLarge, fixture(`{"project_id":"p2","engine":"Redis","status":"CREATING","becomes":`+chain(1, "1h")+`}`))
		}},
		{"fill to the instance bound with 64-char ids and names", func(t *testing.T, f *fake) {
			name := strings.Repeat("n", server.MaxNameLength)
			const per = 16_000 // entries of ~220 bytes: under MaxAdminBody
			for left, k := server.DefaultMaxInstances-20_000, 0; left > 0; k++ {
				entries := make([]string, min(per, left))
				for i := range entries {
					entries[i] = fmt.Sprintf(`{"project_id":"p3","engine":"Redis","status":"RUNNING","id":"%064d","name":%q}`, k*per+i, name)
				}
				left -= len(entries)
				post(t, f, http.StatusOK, fixture(entries...))
			}
			post(t, f, http.StatusRequestEntityTooLarge, fixture(`{"project_id":"p3","engine":"Redis","status":"RUNNING"}`))
		}},
		{"10 parallel listings of the full store, chains shown", func(t *testing.T, f *fake) {
			parallel(t, 10, func() error { return f.walk(25) })
		}},
		{"8 parallel adds of MaxAdminBody to the full store", func(t *testing.T, f *fake) {
			entry := `{"project_id":"p4","engine":"Redis","status":"RUNNING","name":"` + strings.Repeat("x", 40) + `"}`
			body := `{"instances":[` + strings.Repeat(entry+",", (server.MaxAdminBody-200)/(len(entry)+1)) + entry + `]}`
			parallel(t, 8, func() error {
				return f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, add, strings.NewReader(body))
			})
		}},
		{"reset; 100,000 instances whose 99 1ns changes fall due", func(t *testing.T, f *fake) {
			require.NoError(t, f.expect(http.StatusNoContent, http.MethodPost, "/_fake/reset", nil))
			e := `{"project_id":"p0","engine":"Redis","status":"CREATING","count":100000,"becomes":` + chain(99, "1ns") + `}`
			post(t, f, http.StatusOK, fixture(e))
			// Every change falls due at the next read: the probe's
			// queries, and this one, apply them.
			require.NoError(t, f.expect(http.StatusOK, http.MethodGet, "/v2/p0/instances/status", nil))
		}},
	}
}

// walk pages through GET /_fake/instances, at most pages pages of 1,000.
func (f *fake) walk(pages int) error {
	cursor := ""
	for range pages {
		resp, err := f.hc.Get(f.url + "/_fake/instances?limit=1000" + cursor)
		if err != nil {
			return err
		}
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
		}
		if page.NextCursor == nil {
			return nil
		}
		cursor = "&cursor=" + *page.NextCursor
	}
	return nil
}

// parallel runs n copies of do at once; each must succeed.
func parallel(t *testing.T, n int, do func() error) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { assert.NoError(t, do()) })
	}
	wg.Wait()
}

// repeatReader reads c forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
