package httpserve_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/internal/syncbuf"
)

// TestRunDrainsThenCutsOff: on shutdown Run logs "shutting down", lets a
// request in flight finish within the drain time and returns nil; a
// request that outlasts it is cut off, and the error counts it.
func TestRunDrainsThenCutsOff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		drain time.Duration
		cut   int64
	}{
		{"finishes in time", time.Minute, 0},
		{"cut off", 100 * time.Millisecond, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entered, release := make(chan struct{}), make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-release
				_, _ = io.WriteString(w, "done")
			})
			var log syncbuf.Buffer
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(t.Context())
			ran := make(chan error, 1)
			go func() {
				ran <- httpserve.Run(ctx, httpserve.New(h, nil), ln, tt.drain, slog.New(slog.NewTextHandler(&log, nil)))
			}()
			answered := make(chan error, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String())
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				answered <- err
			}()
			<-entered
			cancel()
			if tt.cut == 0 {
				// Released only once the shutdown has begun.
				require.Eventually(t, func() bool { return strings.Contains(log.String(), "shutting down") }, time.Minute, time.Millisecond)
				close(release)
				require.NoError(t, <-answered)
				require.NoError(t, <-ran)
				return
			}
			err = <-ran
			close(release)
			assert.EqualError(t, err, fmt.Sprintf("shut down with %d request(s) cut off, still in flight after draining for 100ms", tt.cut))
			assert.Error(t, <-answered, "the request was cut off")
			assert.Contains(t, log.String(), `msg="shutting down" in_flight=1`)
		})
	}
}
