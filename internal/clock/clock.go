// Package clock holds the one context-aware sleep that the client's
// retries and the settle loop share.
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or less if ctx is done first, in which case it returns
// ctx.Err(). A d of zero or less only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
