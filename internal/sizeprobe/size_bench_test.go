package sizeprobe_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkBinarySize reports, in bytes, the size of each probe built as a
// release would be: stripped (-s -w) and without file paths (-trimpath).
// make bench shows client against bare. The build runs once, before the
// loop; the loop itself is empty, so its ns/op means nothing.
func BenchmarkBinarySize(b *testing.B) {
	for _, probe := range []string{"bare", "client"} {
		b.Run("impl="+probe, func(b *testing.B) {
			size := buildSize(b, "./"+probe)
			for b.Loop() {
			}
			// After the loop: b.Loop resets the timer, which drops the
			// metrics reported so far.
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// buildSize builds the main package in dir with the go tool of the
// toolchain running the benchmark and returns the size of the binary.
// -buildvcs=false keeps VCS stamping out of the figure, so that it does
// not depend on the state of the checkout or on git being installed.
func buildSize(b *testing.B, dir string) int64 {
	b.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		b.Fatalf("no go tool: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "probe")
	cmd := exec.Command(goTool, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
