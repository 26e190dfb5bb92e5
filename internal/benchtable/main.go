// Command benchtable reads `go test -bench` output on stdin, from any
// number of packages and runs (-count), and prints the table that
// `make bench` shows: each figure is the median of its runs. A ratio row
// compares two benchmarks of the same run of make bench, a difference row
// subtracts one from the other (binary sizes), and a limit row holds one
// benchmark against a maximum.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// row compares one metric of two benchmarks. The ratio is ours/ref, or
// ref/ours when lowerIsBetter, so that more is always better.
type row struct {
	group, label  string
	ours, ref     string // benchmark names, without the -GOMAXPROCS suffix
	unit          string
	lowerIsBetter bool
	target        float64 // 0: no target
}

var rows = []row{
	{"server path", "fake, checks on vs floor", "BenchmarkServerPath/fake_checks_on", "BenchmarkServerPath/floor", "req/s", false, 0.7},
	{"server path", "fake, checks off vs floor", "BenchmarkServerPath/fake_checks_off", "BenchmarkServerPath/floor", "req/s", false, 0},
	{"client vs SDK", "stub transport: CPU", "BenchmarkInstanceStatus/stub/ours", "BenchmarkInstanceStatus/stub/sdk", "cpu-ns/op", true, 2},
	{"client vs SDK", "stub transport: allocs", "BenchmarkInstanceStatus/stub/ours", "BenchmarkInstanceStatus/stub/sdk", "allocs/op", true, 3},
	{"client vs SDK", "stub transport: bytes", "BenchmarkInstanceStatus/stub/ours", "BenchmarkInstanceStatus/stub/sdk", "B/op", true, 0},
	{"client vs SDK", "stub transport: time", "BenchmarkInstanceStatus/stub/ours", "BenchmarkInstanceStatus/stub/sdk", "ns/op", true, 0},
	{"client vs SDK", "loopback: CPU", "BenchmarkInstanceStatus/loopback/ours", "BenchmarkInstanceStatus/loopback/sdk", "cpu-ns/op", true, 0},
	{"client vs SDK", "loopback: allocs", "BenchmarkInstanceStatus/loopback/ours", "BenchmarkInstanceStatus/loopback/sdk", "allocs/op", true, 0},
	{"client vs SDK", "loopback: bytes", "BenchmarkInstanceStatus/loopback/ours", "BenchmarkInstanceStatus/loopback/sdk", "B/op", true, 0},
	{"client vs SDK", "loopback: time", "BenchmarkInstanceStatus/loopback/ours", "BenchmarkInstanceStatus/loopback/sdk", "ns/op", true, 0},
	{"signing", "Sign: time", "BenchmarkSign_Ours", "BenchmarkSign_SDK", "ns/op", true, 0},
	{"signing", "Sign: allocs", "BenchmarkSign_Ours", "BenchmarkSign_SDK", "allocs/op", true, 0},
	{"store", "query at 10,000 vs 10", "BenchmarkQuery/10000", "BenchmarkQuery/10", "ns/op", true, 0},
	{"store", "query at 1,000,000 vs 10", "BenchmarkQuery/1000000", "BenchmarkQuery/10", "ns/op", true, 0},
}

// singles are figures without a partner.
var singles = []struct{ label, bench, unit string }{
	{"fixture load, 1,000,000 instances", "BenchmarkLoadFixture1M", "ns/op"},
	{"fixture load per instance", "BenchmarkLoadFixture1M", "ns/instance"},
	{"heap per instance at 1,000,000", "BenchmarkLoadFixture1M", "bytes/instance"},
}

// diffRow compares one metric of two benchmarks by difference: ours − ref,
// where less is better. When hasMax, ours may exceed ref by at most max.
type diffRow struct {
	group, label string
	ours, ref    string // benchmark names, without the -GOMAXPROCS suffix
	unit         string
	hasMax       bool
	max          float64
}

const mib = 1 << 20

var diffs = []diffRow{
	{"binary size", "client vs bare net/http", "BenchmarkBinarySize/client", "BenchmarkBinarySize/bare", "bytes", true, 1 * mib},
	{"binary size", "SDK vs bare net/http", "BenchmarkBinarySize/sdk", "BenchmarkBinarySize/bare", "bytes", false, 0},
}

// limitRow holds one metric of one benchmark against a maximum.
type limitRow struct {
	group, label string
	bench, unit  string
	max          float64
}

var limits = []limitRow{
	{"fake", "one more server.New: bytes", "BenchmarkServerNew", "B/op", 100 << 10},
	{"fake", "one more server.New: allocs", "BenchmarkServerNew", "allocs/op", 1000},
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse collects every value of every metric, by benchmark name.
func parse(r io.Reader) (map[string]map[string][]float64, error) {
	out := map[string]map[string][]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			if out[m[1]] == nil {
				out[m[1]] = map[string][]float64{}
			}
			out[m[1]][fields[i+1]] = append(out[m[1]][fields[i+1]], v)
		}
	}
	return out, sc.Err()
}

func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// roundSpread is the range of the ratios of the n-th run of ours to the
// n-th run of the reference, when both ran as often; make bench runs
// every benchmark once per round, so these pairs ran side by side.
func roundSpread(ours, ref []float64, lowerIsBetter bool) string {
	if len(ours) != len(ref) || len(ours) < 2 {
		return ""
	}
	ratios := make([]float64, len(ours))
	for i := range ours {
		if ours[i] == 0 || ref[i] == 0 {
			return ""
		}
		ratios[i] = ours[i] / ref[i]
		if lowerIsBetter {
			ratios[i] = ref[i] / ours[i]
		}
	}
	return format(slices.Min(ratios)) + "–" + format(slices.Max(ratios))
}

func format(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// amount formats a figure of a difference or limit row in its unit:
// binary sizes in MiB, bytes per operation in KiB, anything else as
// format does.
func amount(unit string, v float64) string {
	switch unit {
	case "bytes":
		return strconv.FormatFloat(v/mib, 'f', 2, 64) + " MiB"
	case "B/op":
		return format(v/1024) + " KiB"
	}
	return format(v)
}

// signed is amount with a sign, for differences: "+1.36 MiB", "-0.20 MiB".
// A difference that rounds to zero is "+0.00 MiB", never "-0.00 MiB".
func signed(unit string, v float64) string {
	s := amount(unit, math.Abs(v))
	if v < 0 && s != amount(unit, 0) {
		return "-" + s
	}
	return "+" + s
}

// known reports whether any benchmark that the table shows is in results.
func known(results map[string]map[string][]float64) bool {
	var names []string
	for _, r := range rows {
		names = append(names, r.ours, r.ref)
	}
	for _, s := range singles {
		names = append(names, s.bench)
	}
	for _, d := range diffs {
		names = append(names, d.ours, d.ref)
	}
	for _, l := range limits {
		names = append(names, l.bench)
	}
	return slices.ContainsFunc(names, func(n string) bool { return results[n] != nil })
}

func main() { os.Exit(run(os.Stdin, os.Stdout, os.Stderr)) }

// run reads benchmark output from in, writes the table to out and returns
// the exit status.
func run(in io.Reader, out, errw io.Writer) int {
	results, err := parse(in)
	if err != nil {
		fmt.Fprintln(errw, "benchtable:", err)
		return 1
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "group\tcomparison\tunit\tours\treference\tratio\tper round\ttarget\tverdict\t")
	for _, r := range rows {
		o, ok1 := median(results[r.ours][r.unit])
		f, ok2 := median(results[r.ref][r.unit])
		if !ok1 || !ok2 || o == 0 || f == 0 {
			fmt.Fprintf(w, "%s\t%s\t%s\t-\t-\t-\t\t\tnot run\t\n", r.group, r.label, r.unit)
			continue
		}
		ratio := o / f
		if r.lowerIsBetter {
			ratio = f / o
		}
		spread := roundSpread(results[r.ours][r.unit], results[r.ref][r.unit], r.lowerIsBetter)
		target, verdict := "", ""
		if r.target > 0 {
			target = "≥" + format(r.target)
			verdict = "met"
			if ratio < r.target {
				verdict = "MISSED"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%sx\t%s\t%s\t%s\t\n", r.group, r.label, r.unit, format(o), format(f), format(ratio), spread, target, verdict)
	}
	for _, s := range singles {
		if v, ok := median(results[s.bench][s.unit]); ok {
			fmt.Fprintf(w, "store\t%s\t%s\t%s\t\t\t\t\t\t\n", s.label, s.unit, format(v))
		}
	}
	for _, d := range diffs {
		o, ok1 := median(results[d.ours][d.unit])
		f, ok2 := median(results[d.ref][d.unit])
		if !ok1 || !ok2 {
			fmt.Fprintf(w, "%s\t%s\t%s\t-\t-\t-\t\t\tnot run\t\n", d.group, d.label, d.unit)
			continue
		}
		diff := o - f
		target, verdict := "", ""
		if d.hasMax {
			target = "≤" + signed(d.unit, d.max)
			verdict = "met"
			if diff > d.max {
				verdict = "MISSED"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\t%s\t%s\t\n", d.group, d.label, d.unit, amount(d.unit, o), amount(d.unit, f), signed(d.unit, diff), target, verdict)
	}
	for _, l := range limits {
		v, ok := median(results[l.bench][l.unit])
		if !ok {
			fmt.Fprintf(w, "%s\t%s\t%s\t-\t\t\t\t\tnot run\t\n", l.group, l.label, l.unit)
			continue
		}
		verdict := "met"
		if v > l.max {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\t\t\t≤%s\t%s\t\n", l.group, l.label, l.unit, amount(l.unit, v), amount(l.unit, l.max), verdict)
	}
	w.Flush()
	fmt.Fprintln(out, "\nours and reference are the medians of every run above; ratio compares the two medians. Per")
	fmt.Fprintln(out, "round: the lowest and highest ratio of the two benchmarks' n-th runs, which ran side by side.")
	fmt.Fprintln(out, "Ratios are ours/reference for req/s and reference/ours otherwise: more is better.")
	fmt.Fprintln(out, "A signed figure (+/-) in the ratio column is a difference, ours − reference: less is better and")
	fmt.Fprintln(out, "the target is the most it may be. A row with ours and a target only holds ours to that maximum.")
	if !known(results) {
		fmt.Fprintln(errw, "benchtable: no known benchmark in the input")
		return 1
	}
	return 0
}
