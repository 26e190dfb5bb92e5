// Command scale measures `dcskit exporter --all-projects` at account
// scale (issue 18): a real `dcskit serve` holds N projects, every DCS call
// delayed by D, and the exporter runs with its defaults against it,
// scraped every second with Prometheus' scrape timeout header. It prints
// the time until every target has fresh data against the floor
// N·D/max-in-flight, the slowest /metrics answer, and the exporter's peak
// RSS (VmHWM). `make scale` builds dcskit and runs it; not part of CI.
//
//	go run ./internal/cmd/scale [-n 100,1000,5000] [-delay 300ms] path/to/dcskit
//
// It exits 1 if a run does not converge within 1.25 times the floor, if
// a scrape takes 100ms or more, or if the 1,000-project run passes 100 MB.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/dcskit/dcskit/exporter"
)

func main() {
	counts := flag.String("n", "100,1000,5000", "numbers of projects, one run each")
	delay := flag.Duration("delay", 300*time.Millisecond, "delay of every DCS call")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scale [-n 100,1000,5000] [-delay 300ms] path/to/dcskit")
		os.Exit(2)
	}
	fmt.Printf("delay %s, --max-in-flight %d, --refresh-interval %s\n\n", *delay, exporter.DefaultMaxInFlight, exporter.DefaultRefreshInterval)
	fmt.Printf("%8s  %12s  %10s  %6s  %14s  %9s\n", "projects", "all fresh in", "N·D/8", "ratio", "slowest scrape", "peak RSS")
	failed := false
	for f := range strings.SplitSeq(*counts, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale: -n:", err)
			os.Exit(2)
		}
		floor := time.Duration(n) * *delay / exporter.DefaultMaxInFlight
		fresh, slowest, rss, err := measure(flag.Arg(0), n, *delay)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scale: %d projects: %v\n", n, err)
			os.Exit(1)
		}
		ratio := fresh.Seconds() / floor.Seconds()
		fmt.Printf("%8d  %12s  %10s  %5.2fx  %14s  %6d MB\n", n, fresh.Round(100*time.Millisecond), floor,
			ratio, slowest.Round(100*time.Microsecond), rss>>20)
		failed = failed || ratio > 1.25 || slowest >= 100*time.Millisecond || n == 1000 && rss >= 100<<20
	}
	if failed {
		fmt.Fprintln(os.Stderr, "scale: a bound was missed")
		os.Exit(1)
	}
}

// measure runs one fake and one exporter of n projects, and returns the
// time from the exporter's start until every target had succeeded once,
// the slowest scrape, and the exporter's peak RSS.
func measure(bin string, n int, delay time.Duration) (fresh, slowest time.Duration, rss int64, err error) {
	fake, _, stop, err := start(bin, nil, "serve", "--addr", "127.0.0.1:0", "--journal-size", "-1", "--log-level", "error")
	if err != nil {
		return 0, 0, 0, err
	}
	defer stop()
	var projects []string
	for i := range n {
		projects = append(projects, fmt.Sprintf(`{"id":"p%05d","name":"cn-north-4_p%05d"}`, i, i))
	}
	if err := send(http.MethodPut, fake+"/_fake/projects", `{"projects":[`+strings.Join(projects, ",")+`]}`); err != nil {
		return 0, 0, 0, err
	}
	if err := send(http.MethodPost, fake+"/_fake/faults", fmt.Sprintf(`{"delay":%q,"times":100000000}`, delay)); err != nil {
		return 0, 0, 0, err
	}
	begin := time.Now()
	metrics, pid, stopExporter, err := start(bin, []string{"HUAWEICLOUD_SDK_IAM_ENDPOINT=" + fake},
		"exporter", "--all-projects", "--listen", "127.0.0.1:0", "--no-sign-request", "--endpoint", fake)
	if err != nil {
		return 0, 0, 0, err
	}
	defer stopExporter()
	// Scrape every second, as a Prometheus with a 10s timeout would, until
	// every target has succeeded, and five times more.
	for after := -1; after < 5; time.Sleep(time.Second) {
		took, succeeded, err := scrape(metrics)
		if err != nil {
			return 0, 0, 0, err
		}
		slowest = max(slowest, took)
		if time.Since(begin) > 30*time.Minute {
			return 0, 0, 0, fmt.Errorf("%d of %d targets fresh after 30 minutes", succeeded, n)
		}
		if after >= 0 || succeeded == n {
			if after++; after == 0 {
				fresh = time.Since(begin)
			}
		}
	}
	rss, err = peakRSS(pid)
	return fresh, slowest, rss, err
}

// start starts bin with args, and returns the URL it prints first, its
// pid, and how to stop it.
func start(bin string, env []string, args ...string) (string, int, func(), error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("dcskit %s printed no URL: %w", args[0], err)
	}
	return strings.TrimSpace(url), cmd.Process.Pid, stop, nil
}

// send makes one admin call, which must answer 2xx.
func send(method, url, body string) error {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, msg)
	}
	return nil
}

// scrape GETs /metrics as Prometheus does, and returns how long the whole
// answer took, and how many targets have succeeded once.
func scrape(url string) (time.Duration, int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	begin := time.Now()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req) // gzip, as Prometheus asks
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(begin)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, 0, errors.Join(err, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode))
	}
	succeeded := 0
	for line := range bytes.Lines(body) {
		if bytes.HasPrefix(line, []byte(exporter.MetricLastScrape+"{")) && !bytes.HasSuffix(line, []byte(" 0\n")) {
			succeeded++
		}
	}
	return took, succeeded, nil
}

// peakRSS is VmHWM of /proc/<pid>/status, in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
