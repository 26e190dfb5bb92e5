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
BenchmarkServerPath/fake_checks_on-2 	   20000	     70000 ns/op	     35000 req/s
BenchmarkServerPath/floor-2          	   20000	     50000 ns/op	     60000 req/s
BenchmarkServerPath/fake_checks_on-2 	   20000	     70000 ns/op	     55000 req/s
BenchmarkSign_Ours-2   	  300000	      4000 ns/op	    3000 B/op	      28 allocs/op
BenchmarkSign_SDK-2    	  100000	     10000 ns/op	    4000 B/op	      84 allocs/op
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

	// Medians 35000 and 50000; per round 30/40, 35/50, 55/60.
	assert.Equal(t, []string{"server path", "fake, checks on vs floor", "req/s", "35000", "50000", "0.70x", "0.70–0.92", "≥0.80", "MISSED"},
		line(t, table, "checks on"))
	// Costs: reference/ours, so fewer allocations is a ratio above 1.
	assert.Equal(t, []string{"signing", "Sign: allocs", "allocs/op", "28.0", "84.0", "3.00x"}, line(t, table, "Sign: allocs"))
	assert.Equal(t, []string{"signing", "Sign: time", "ns/op", "4000", "10000", "2.50x"}, line(t, table, "Sign: time"))
	assert.Contains(t, line(t, table, "checks off"), "not run")
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
