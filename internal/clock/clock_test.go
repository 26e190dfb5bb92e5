package clock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dcskit/dcskit/internal/clock"
)

func TestSleep(t *testing.T) {
	t.Parallel()
	assert.NoError(t, clock.Sleep(t.Context(), time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, clock.Sleep(ctx, time.Hour), context.Canceled, "returns at once when ctx is done")
	assert.ErrorIs(t, clock.Sleep(ctx, 0), context.Canceled)
}

func TestManual(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := clock.NewManual(start)
	var got []string
	record := func(name string) func() {
		return func() { got = append(got, fmt.Sprintf("%s@%s", name, c.Now().Sub(start))) }
	}
	c.AfterFunc(2*time.Second, record("b"))
	c.AfterFunc(time.Second, func() {
		record("a")()
		c.AfterFunc(time.Second, record("a+1")) // due with b: after it, set later
		c.AfterFunc(time.Hour, record("late"))
	})
	stopped := c.AfterFunc(time.Second, record("stopped"))
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop())
	c.AfterFunc(-time.Second, record("now"))

	c.Advance(0)
	assert.Equal(t, []string{"now@0s"}, got)
	c.Advance(3 * time.Second)
	assert.Equal(t, []string{"now@0s", "a@1s", "b@2s", "a+1@2s"}, got)
	assert.Equal(t, start.Add(3*time.Second), c.Now())
}
