package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `goos: linux
BenchmarkServerPath/floor-2          	   20000	     50000 ns/op	     40000 req/s
BenchmarkServerPath/fake_checks_on-2 	   20000	     70000 ns/op	     30000 req/s
BenchmarkServerPath/floor-2          	   20000	     50000 ns/op	     50000 req/s
BenchmarkServerPath/fake_checks_on-2 	   20000	     70000 ns/op	     34000 req/s
BenchmarkServerPath/floor-2          	   20000	     50000 ns/op	     60000 req/s
BenchmarkServerPath/fake_checks_on-2 	   20000	     70000 ns/op	     55000 req/s
BenchmarkSign_Ours-2   	  300000	      4000 ns/op	    3000 B/op	      28 allocs/op
BenchmarkSign_SDK-2    	  100000	     10000 ns/op	    4000 B/op	      84 allocs/op
BenchmarkBinarySize/client-2 	1000000000	         1.5 ns/op	   7074057 bytes	       0 B/op	       0 allocs/op
BenchmarkBinarySize/bare-2   	1000000000	         1.0 ns/op	   6185225 bytes	       0 B/op	       0 allocs/op
BenchmarkBinarySize/sdk-2    	1000000000	         1.6 ns/op	   8356105 bytes	       0 B/op	       0 allocs/op
BenchmarkBinarySize/client-2 	1000000000	         1.5 ns/op	   9999999 bytes	       0 B/op	       0 allocs/op
BenchmarkBinarySize/bare-2   	1000000000	         1.0 ns/op	   6185225 bytes	       0 B/op	       0 allocs/op
BenchmarkBinarySize/client-2 	1000000000	         1.5 ns/op	   7074057 bytes	       0 B/op	       0 allocs/op
BenchmarkBinarySize/bare-2   	1000000000	         1.0 ns/op	   6185225 bytes	       0 B/op	       0 allocs/op
BenchmarkServerNew-2   	   20000	     50000 ns/op	   95000 B/op	    1200 allocs/op
BenchmarkServerNew-2   	   20000	     50000 ns/op	  150000 B/op	     900 allocs/op
BenchmarkServerNew-2   	   20000	     50000 ns/op	   99000 B/op	    1100 allocs/op
PASS
`

// line returns the table row whose comparison column is label.
func line(t *testing.T, table, label string) []string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, label) {
			return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1)
		}
	}
	t.Fatalf("no row %q in\n%s", label, table)
	return nil
}

func TestRunComputesMediansRatiosAndVerdicts(t *testing.T) {
	t.Parallel()
	var out, errw bytes.Buffer
	require.Equal(t, 0, run(strings.NewReader(sample), &out, &errw), errw.String())
	table := out.String()

	// Medians 34000 and 50000; per round 30/40, 34/50, 55/60.
	assert.Equal(t, []string{"server path", "fake, checks on vs floor", "req/s", "34000", "50000", "0.68x", "0.68–0.92", "≥0.70", "MISSED"},
		line(t, table, "checks on"))
	// Costs: reference/ours, so fewer allocations is a ratio above 1.
	assert.Equal(t, []string{"signing", "Sign: allocs", "allocs/op", "28.0", "84.0", "3.00x"}, line(t, table, "Sign: allocs"))
	assert.Equal(t, []string{"signing", "Sign: time", "ns/op", "4000", "10000", "2.50x"}, line(t, table, "Sign: time"))
	assert.Contains(t, line(t, table, "checks off"), "not run")

	// Sizes in MiB: client's median is 7074057 B (6.75 MiB), not its mean;
	// client − bare is 888832 B, within the 1 MiB allowed.
	assert.Equal(t, []string{"binary size", "client vs bare net/http", "bytes", "6.75 MiB", "5.90 MiB", "+0.85 MiB", "≤+1.00 MiB", "met"},
		line(t, table, "client vs bare"))
	// No target, no verdict: 8356105 − 6185225 = 2170880 B.
	assert.Equal(t, []string{"binary size", "SDK vs bare net/http", "bytes", "7.97 MiB", "5.90 MiB", "+2.07 MiB"},
		line(t, table, "SDK vs bare"))
	// Limits hold the median: 99000 B/op (96.7 KiB) is within 100 KiB,
	// though the mean (114667) is not; 1100 allocs/op is above 1000.
	assert.Equal(t, []string{"fake", "one more server.New: bytes", "B/op", "96.7 KiB", "≤100 KiB", "met"},
		line(t, table, "server.New: bytes"))
	assert.Equal(t, []string{"fake", "one more server.New: allocs", "allocs/op", "1100", "≤1000", "MISSED"},
		line(t, table, "server.New: allocs"))
}

func TestRunDifferenceAboveItsTargetIsMissed(t *testing.T) {
	t.Parallel()
	// 7.25 MiB against 6.00 MiB: 1.25 MiB more than the floor.
	in := `BenchmarkBinarySize/client-2 	1	1 ns/op	7602176 bytes
BenchmarkBinarySize/bare-2   	1	1 ns/op	6291456 bytes
BenchmarkServerNew-2   	1	1 ns/op	102400 B/op	1000 allocs/op
`
	var out, errw bytes.Buffer
	require.Equal(t, 0, run(strings.NewReader(in), &out, &errw), errw.String())
	table := out.String()
	assert.Equal(t, []string{"binary size", "client vs bare net/http", "bytes", "7.25 MiB", "6.00 MiB", "+1.25 MiB", "≤+1.00 MiB", "MISSED"},
		line(t, table, "client vs bare"))
	assert.Contains(t, line(t, table, "SDK vs bare"), "not run")
	// A limit is a maximum: exactly on it is met.
	assert.Equal(t, []string{"fake", "one more server.New: bytes", "B/op", "100 KiB", "≤100 KiB", "met"},
		line(t, table, "server.New: bytes"))
	assert.Equal(t, []string{"fake", "one more server.New: allocs", "allocs/op", "1000", "≤1000", "met"},
		line(t, table, "server.New: allocs"))
	assert.Contains(t, line(t, table, "checks on"), "not run")
}

func TestRunNeedsOnlyOneKnownBenchmark(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"BenchmarkServerNew-2 1 1 ns/op 100 B/op 1 allocs/op\n",
		"BenchmarkBinarySize/sdk-2 1 1 ns/op 100 bytes\n",
		"BenchmarkLoadFixture1M-2 1 1 ns/op 264 bytes/instance\n",
	} {
		var out, errw bytes.Buffer
		assert.Equal(t, 0, run(strings.NewReader(in), &out, &errw), "%s: %s", in, errw.String())
	}
	var out, errw bytes.Buffer
	assert.Equal(t, 1, run(strings.NewReader("BenchmarkSomethingElse-2 1 1 ns/op\n"), &out, &errw))
	assert.Contains(t, errw.String(), "no known benchmark")
}

func TestAmountAndSigned(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "12.50 MiB", amount("bytes", 12.5*mib))
	assert.Equal(t, "888 KiB", amount("B/op", 909385))
	assert.Equal(t, "13528", amount("allocs/op", 13528))
	assert.Equal(t, "+1.36 MiB", signed("bytes", 1421312))
	assert.Equal(t, "-0.50 MiB", signed("bytes", -mib/2))
	assert.Equal(t, "+0.00 MiB", signed("bytes", -1))
	assert.Equal(t, "-12.0", signed("allocs/op", -12))
}

func TestRunFailsOnInputWithoutBenchmarks(t *testing.T) {
	t.Parallel()
	var out, errw bytes.Buffer
	assert.Equal(t, 1, run(strings.NewReader("PASS\nok x 0.1s\n"), &out, &errw))
	assert.Contains(t, errw.String(), "no known benchmark")
}

func TestMedian(t *testing.T) {
	t.Parallel()
	_, ok := median(nil)
	assert.False(t, ok)
	m, _ := median([]float64{3, 1, 2})
	assert.Equal(t, 2.0, m)
	m, _ = median([]float64{4, 1, 3, 2})
	assert.Equal(t, 2.5, m)
}
