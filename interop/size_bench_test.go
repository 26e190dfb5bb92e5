package interop_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkBinarySize/sdk reports, in bytes, the size of ./sizeprobe, a
// program that makes one call through the official SDK, built as a release
// would be: stripped (-s -w) and without file paths (-trimpath). It is
// built exactly as the main module's BenchmarkBinarySize builds its client
// and bare probes (internal/sizeprobe), so that the three compare. The build runs once, before the loop; the loop itself is empty,
// so its ns/op means nothing.
func BenchmarkBinarySize(b *testing.B) {
	b.Run("impl=sdk", func(b *testing.B) {
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			b.Fatalf("no go tool: %v", err)
		}
		bin := filepath.Join(b.TempDir(), "probe")
		// -buildvcs=false keeps VCS stamping out of the figure.
		cmd := exec.Command(goTool, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, "./sizeprobe")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build ./sizeprobe: %v\n%s", err, out)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
		}
		// After the loop: b.Loop resets the timer, which drops the
		// metrics reported so far.
		b.ReportMetric(float64(fi.Size()), "bytes")
	})
}
