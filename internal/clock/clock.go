// Package clock has the one sleep that the exporter's loops and
// dcskit wait's polls share.
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or less if ctx is done first; it returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return ctx.Err()
}
