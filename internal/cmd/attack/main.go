// Command attack reruns the memory attacks of issue 10 against a real
// `dcskit serve` on 127.0.0.1 and prints the fake's peak RSS (VmHWM of
// /proc/<pid>/status) and the slowest query seen during each attack.
// `make attack` builds dcskit and runs it; it is not part of CI.
//
//	go run ./internal/cmd/attack path/to/dcskit
//
// It exits 1 if an attack is not refused as it should be, or if the peak
// RSS passes 1.5 GB. Every attack is bounded in count and size.
package main

import (
	"bufio"
	"cmp"
	"context"
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
	"time"

	"github.com/dcskit/dcskit/server"
)

// maxRSS is the bound the issue sets on the fake with a full store.
const maxRSS = 1500 << 20

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: attack path/to/dcskit")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

type fake struct {
	url   string
	pid   int
	hc    *http.Client
	slow  atomic.Int64 // slowest query of the current attack, in ns
	fails atomic.Int64 // failed queries of the current attack
}

func run(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Stderr = io.Discard // a line per request
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no URL from dcskit serve: %w", err)
	}
	f := &fake{url: strings.TrimSpace(url), pid: cmd.Process.Pid,
		hc: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	stop := make(chan struct{})
	probed := make(chan struct{})
	go f.probe(stop, probed)
	defer func() { close(stop); <-probed }()

	fmt.Printf("dcskit serve on %s, pid %d; limits: %d instances, %d MiB admin bodies, %d scheduled changes, chains of %d\n\n",
		f.url, f.pid, server.DefaultMaxInstances, server.MaxAdminBody>>20, server.MaxScheduledChanges, server.MaxChain)
	fmt.Printf("%-58s %-34s %12s %14s\n", "attack", "answer", "RSS after", "slowest query")
	failed := false
	for _, a := range attacks() {
		f.slow.Store(0)
		f.fails.Store(0)
		got, err := a.run(f)
		rss, _ := f.rss("VmRSS")
		verdict := got
		if err != nil {
			verdict, failed = "FAILED: "+err.Error(), true
		}
		if n := f.fails.Load(); n > 0 {
			verdict += fmt.Sprintf(" (%d queries failed)", n)
			failed = true
		}
		fmt.Printf("%-58s %-34s %9d MB %14s\n", a.name, verdict, rss>>20, time.Duration(f.slow.Load()).Round(time.Millisecond))
	}
	hwm, err := f.rss("VmHWM")
	if err != nil {
		return err
	}
	fmt.Printf("\npeak RSS (VmHWM): %d MB (bound: %d MB)\n", hwm>>20, maxRSS>>20)
	if hwm > maxRSS {
		return fmt.Errorf("peak RSS %d MB is over %d MB", hwm>>20, maxRSS>>20)
	}
	if failed {
		return fmt.Errorf("an attack was not answered as it should be")
	}
	return nil
}

// probe queries the fake every 20ms, as a test would while an attack
// goes on, and keeps the slowest answer.
func (f *fake) probe(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now()
		resp, err := f.hc.Get(f.url + "/v2/p0/instances/status")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
		}
		if err != nil {
			f.fails.Add(1)
		}
		d := int64(time.Since(start))
		for {
			old := f.slow.Load()
			if d <= old || f.slow.CompareAndSwap(old, d) {
				break
			}
		}
	}
}

// rss reads a field of /proc/<pid>/status, in bytes.
func (f *fake) rss(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", f.pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, f.pid)
}

// send makes one admin call and returns its status and body size.
func (f *fake) send(method, path string, body io.Reader) (int, int, error) {
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, int(n), err
}

// expect makes one call and checks its status.
func (f *fake) expect(want int, method, path string, body io.Reader) (string, error) {
	status, n, err := f.send(method, path, body)
	if err != nil {
		return "", err
	}
	if status != want {
		return "", fmt.Errorf("HTTP %d, want %d", status, want)
	}
	return fmt.Sprintf("HTTP %d, %d B", status, n), nil
}

type attack struct {
	name string
	run  func(*fake) (string, error)
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
	b.WriteString(strings.Repeat("}", n))
	return b.String()
}

func fixture(entries []string) io.Reader {
	return strings.NewReader(`{"instances":[` + strings.Join(entries, ",") + `]}`)
}

func attacks() []attack {
	return []attack{
		{"8 entries of count 1,000,000 (583 bytes)", func(f *fake) (string, error) {
			e := `{"project_id":"p0","engine":"Redis","status":"RUNNING","count":1000000}`
			return f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, "/_fake/instances", fixture(slices.Repeat([]string{e}, 8)))
		}},
		{"a 100 MB id", func(f *fake) (string, error) {
			body := io.MultiReader(strings.NewReader(`{"instances":[{"project_id":"p0","engine":"Redis","status":"RUNNING","id":"`),
				io.LimitReader(repeatReader('a'), 100<<20), strings.NewReader(`"}]}`))
			return f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, "/_fake/instances", body)
		}},
		{"5 x count 200,000 with a 99-step 1ns chain", func(f *fake) (string, error) {
			e := `{"project_id":"p1","engine":"Redis","status":"CREATING","count":200000,"becomes":` + chain(99, "1ns") + `}`
			var last string
			for range 5 {
				s, err := f.expect(http.StatusOK, http.MethodPost, "/_fake/instances", fixture([]string{e}))
				if err != nil {
					return "", err
				}
				last = s
			}
			return last + " each", nil
		}},
		{"one more instance in the full store", func(f *fake) (string, error) {
			return f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, "/_fake/instances",
				fixture([]string{`{"project_id":"p1","engine":"Redis","status":"RUNNING"}`}))
		}},
		{"10 parallel listings, 100 pages of 1,000 each", func(f *fake) (string, error) {
			return parallel(10, func() error { return f.walk(100) })
		}},
		{"reset; 20,000 instances with own 100-step chains", func(f *fake) (string, error) {
			if _, err := f.expect(http.StatusNoContent, http.MethodPost, "/_fake/reset", nil); err != nil {
				return "", err
			}
			const per = 800 // chains of ~4.5 kB: under 4 MiB
			for r := range 20_000 / per {
				entries := make([]string, per)
				for i := range entries {
					// Distinct chains: every "after" differs.
					entries[i] = fmt.Sprintf(`{"project_id":"p2","engine":"Memcached","status":"CREATING","becomes":%s}`,
						chain(100, strconv.Itoa(r*per+i+1)+"h"))
				}
				if _, err := f.expect(http.StatusOK, http.MethodPost, "/_fake/instances", fixture(entries)); err != nil {
					return "", fmt.Errorf("request %d: %w", r, err)
				}
			}
			return f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, "/_fake/instances", fixture([]string{
				`{"project_id":"p2","engine":"Redis","status":"CREATING","becomes":` + chain(1, "1h") + `}`}))
		}},
		{"fill to 1,000,000 with 64-char ids and names", func(f *fake) (string, error) {
			name := strings.Repeat("n", server.MaxNameLength)
			const per = 16_000 // entries of ~220 bytes: under 4 MiB
			for left, k := server.DefaultMaxInstances-20_000, 0; left > 0; k++ {
				entries := make([]string, min(per, left))
				for i := range entries {
					id := fmt.Sprintf("%064d", k*per+i)
					entries[i] = fmt.Sprintf(`{"project_id":"p3","engine":"Redis","status":"RUNNING","id":%q,"name":%q}`, id, name)
				}
				left -= len(entries)
				if _, err := f.expect(http.StatusOK, http.MethodPost, "/_fake/instances", fixture(entries)); err != nil {
					return "", fmt.Errorf("request %d: %w", k, err)
				}
			}
			return f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, "/_fake/instances",
				fixture([]string{`{"project_id":"p3","engine":"Redis","status":"RUNNING"}`}))
		}},
		{"10 parallel listings of the full store, chains shown", func(f *fake) (string, error) {
			return parallel(10, func() error { return f.walk(25) })
		}},
		{"8 parallel 4 MiB adds to the full store", func(f *fake) (string, error) {
			entry := `{"project_id":"p4","engine":"Redis","status":"RUNNING","name":"` + strings.Repeat("x", 40) + `"}`
			body := `{"instances":[` + strings.Repeat(entry+",", (server.MaxAdminBody-200)/(len(entry)+1)) + entry + `]}`
			return parallel(8, func() error {
				_, err := f.expect(http.StatusRequestEntityTooLarge, http.MethodPost, "/_fake/instances", strings.NewReader(body))
				return err
			})
		}},
		{"reset; 100,000 instances whose 99 1ns changes fall due", func(f *fake) (string, error) {
			if _, err := f.expect(http.StatusNoContent, http.MethodPost, "/_fake/reset", nil); err != nil {
				return "", err
			}
			e := `{"project_id":"p0","engine":"Redis","status":"CREATING","count":100000,"becomes":` + chain(99, "1ns") + `}`
			s, err := f.expect(http.StatusOK, http.MethodPost, "/_fake/instances", fixture([]string{e}))
			time.Sleep(time.Second) // let the probe query during the catch-up
			return s, err
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

// parallel runs n copies of do at once.
func parallel(n int, do func() error) (string, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range n {
		wg.Go(func() {
			if err := do(); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return "", first
	}
	return fmt.Sprintf("%d done", n), nil
}

// repeatReader reads c forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
