package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dcskit/dcskit/internal/clock"
)

func TestSleep(t *testing.T) {
	t.Parallel()
	assert.NoError(t, clock.Sleep(t.Context(), time.Millisecond))
	assert.NoError(t, clock.Sleep(t.Context(), 0))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, clock.Sleep(ctx, time.Hour), context.Canceled, "returns at once when ctx is done")
	assert.ErrorIs(t, clock.Sleep(ctx, 0), context.Canceled)
}
