package server

import (
	"time"

	"github.com/dcskit/dcskit/internal/clock"
)

// Clock is the time by which scheduled status changes (Instance.Becomes)
// fall due. Options.Clock nil means the system's clock; tests use a
// ManualClock so that they move time instead of sleeping.
type Clock = clock.Clock

// Timer is a pending AfterFunc call of a Clock. *time.Timer is one.
type Timer = clock.Timer

// ManualClock is a Clock that moves only when Advance moves it. It is
// safe for concurrent use.
type ManualClock = clock.Manual

// NewManualClock returns a ManualClock that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock { return clock.NewManual(start) }
