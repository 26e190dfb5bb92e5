package settle_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/settle"
)

func counts(pairs ...any) dcs.Counts {
	var c dcs.Counts
	for i := 0; i < len(pairs); i += 2 {
		s, n := pairs[i].(dcs.Status), int32(pairs[i+1].(int))
		c.Add(dcs.Redis, s, n)
	}
	return c
}

func TestParseCondition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		err  string
	}{
		{in: "running_count>=16", want: "running_count>=16"},
		{in: "running>=16", want: "running_count>=16"},
		{in: " creating_count == 0 ", want: "creating_count==0"},
		{in: "redis.error_count<1", want: "redis.error_count<1"},
		{in: "memcached.running!=3", want: "memcached.running_count!=3"},
		{in: "createfailed_count>0", want: "createfailed_count>0"},
		{in: "running_count<=2", want: "running_count<=2"},
		{in: "running_count=>2", err: "unknown operator"},
		{in: "running_count", err: "want <counter><op><number>"},
		{in: ">=3", err: "want <counter><op><number>"},
		{in: "closing_count>0", err: "unknown counter"},
		{in: "kafka.running>0", err: "unknown engine"},
		{in: "running>=-1", err: "non-negative"},
		{in: "running>=1x", err: "not a non-negative whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			c, err := settle.ParseCondition(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.String())
		})
	}
}

func TestConditionHolds(t *testing.T) {
	t.Parallel()
	c := counts(dcs.Running, 16)
	c.Add(dcs.Memcached, dcs.Running, 4)
	for cond, want := range map[string]bool{
		"running>=20": true, "running>=21": false, "running>19": true, "running<20": false,
		"running<=20": true, "running==20": true, "running!=20": false,
		"redis.running==16": true, "memcached.running==4": true, "memcached.error==0": true,
	} {
		parsed, err := settle.ParseCondition(cond)
		require.NoError(t, err)
		assert.Equal(t, want, parsed.Holds(c), cond)
	}
}

// script is a Fetch that returns one answer per poll, repeating the last.
type script struct {
	answers []answer
	polls   int
}

type answer struct {
	counts dcs.Counts
	err    error
}

func (s *script) fetch(context.Context) (dcs.Counts, error) {
	a := s.answers[min(s.polls, len(s.answers)-1)]
	s.polls++
	return a.counts, a.err
}

// fakeTime is a clock that only Sleep moves.
type fakeTime struct{ now time.Time }

func (f *fakeTime) Now() time.Time { return f.now }
func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	return ctx.Err()
}

func options(s *script, ft *fakeTime) settle.Options {
	return settle.Options{Fetch: s.fetch, Interval: 10 * time.Second, Sleep: ft.Sleep, Now: ft.Now}
}

func TestWaitSettlesWhenNothingIsTransitional(t *testing.T) {
	t.Parallel()
	s := &script{answers: []answer{
		{counts: counts(dcs.Creating, 2, dcs.Running, 1)},
		{counts: counts(dcs.Creating, 1, dcs.Restarting, 1, dcs.Running, 2)},
		{counts: counts(dcs.Running, 3, dcs.Error, 1)},
	}}
	ft := &fakeTime{now: time.Unix(0, 0)}
	var seen []settle.Poll
	opts := options(s, ft)
	opts.Progress = func(p settle.Poll) { seen = append(seen, p) }

	got, err := settle.Wait(t.Context(), opts)
	require.NoError(t, err)
	assert.EqualValues(t, 3, got.Total.Get(dcs.Running))
	assert.Equal(t, 3, s.polls)
	require.Len(t, seen, 3)
	assert.True(t, seen[2].Done)
	assert.False(t, seen[1].Done)
	assert.Equal(t, 20*time.Second, ft.now.Sub(time.Unix(0, 0)), "two intervals slept")
}

func TestWaitUntilConditions(t *testing.T) {
	t.Parallel()
	s := &script{answers: []answer{
		{counts: counts(dcs.Running, 8)},
		{counts: counts(dcs.Running, 16, dcs.Creating, 1)},
	}}
	ft := &fakeTime{}
	opts := options(s, ft)
	c, err := settle.ParseCondition("running_count>=16")
	require.NoError(t, err)
	opts.Until = []settle.Condition{c}
	got, err := settle.Wait(t.Context(), opts)
	require.NoError(t, err)
	assert.EqualValues(t, 16, got.Total.Get(dcs.Running), "conditions replace the transitional rule")
	assert.Equal(t, 2, s.polls)
}

func TestWaitTimesOutWithLastCounts(t *testing.T) {
	t.Parallel()
	s := &script{answers: []answer{{counts: counts(dcs.Creating, 1)}}}
	ft := &fakeTime{}
	ctx, cancel := context.WithCancel(t.Context())
	opts := options(s, ft)
	opts.Sleep = func(ctx context.Context, d time.Duration) error {
		if s.polls == 3 {
			cancel()
		}
		return ft.Sleep(ctx, d)
	}
	_, err := settle.Wait(ctx, opts)
	var stop *settle.StopError
	require.ErrorAs(t, err, &stop)
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, stop.Last)
	assert.EqualValues(t, 1, stop.Last.Total.Get(dcs.Creating))
	assert.Equal(t, 3, stop.Polls)

	deadline := &settle.StopError{Err: context.DeadlineExceeded, Polls: 4, Elapsed: 90 * time.Second}
	assert.Equal(t, "timed out after 1m30s and 4 polls without one successful answer", deadline.Error())
}

func TestWaitFailOnError(t *testing.T) {
	t.Parallel()
	s := &script{answers: []answer{
		{counts: counts(dcs.Creating, 2)},
		{counts: counts(dcs.Creating, 1, dcs.CreateFailed, 1)},
	}}
	opts := options(s, &fakeTime{})
	opts.FailOnError = true
	got, err := settle.Wait(t.Context(), opts)
	require.ErrorIs(t, err, settle.ErrFailures)
	assert.Contains(t, err.Error(), "1 in CREATEFAILED")
	assert.EqualValues(t, 1, got.Total.Get(dcs.CreateFailed))
	assert.Equal(t, 2, s.polls, "stops at once, not when settled")

	// Without the flag, failures are just settled states.
	s2 := &script{answers: []answer{{counts: counts(dcs.Error, 1)}}}
	_, err = settle.Wait(t.Context(), options(s2, &fakeTime{}))
	assert.NoError(t, err)
}

func TestWaitErrors(t *testing.T) {
	t.Parallel()
	transient := errors.New("503 after retries")
	fatal := errors.New("401 bad signature")
	s := &script{answers: []answer{{err: transient}, {err: transient}, {err: fatal}}}
	opts := options(s, &fakeTime{})
	opts.Fatal = func(err error) bool { return errors.Is(err, fatal) }
	var lines bytes.Buffer
	opts.Progress = (&settle.Reporter{W: &lines}).Report
	_, err := settle.Wait(t.Context(), opts)
	require.ErrorIs(t, err, fatal)
	assert.Equal(t, 3, s.polls, "transient errors are polled through")
	assert.Equal(t, 2, strings.Count(lines.String(), "trying again"))

	// With no Fatal func every error ends the wait.
	s2 := &script{answers: []answer{{err: transient}, {counts: dcs.Counts{}}}}
	_, err = settle.Wait(t.Context(), options(s2, &fakeTime{}))
	require.ErrorIs(t, err, transient)
	assert.Equal(t, 1, s2.polls)

	_, err = settle.Wait(t.Context(), settle.Options{})
	assert.Error(t, err, "Fetch is required")
}

func TestSummary(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "no instances", settle.Summary(dcs.Counts{}))
	assert.Equal(t, "settled: running 3, error 1", settle.Summary(counts(dcs.Running, 3, dcs.Error, 1)))
	assert.Equal(t, "moving: creating 2", settle.Summary(counts(dcs.Creating, 2)))
	assert.Equal(t, "moving: extending 1, restarting 2; running 3", settle.Summary(counts(dcs.Running, 3, dcs.Restarting, 2, dcs.Extending, 1)))
}

func TestReporter(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var plain bytes.Buffer
	r := &settle.Reporter{W: &plain}
	r.Report(settle.Poll{At: at, Counts: counts(dcs.Creating, 1)})
	r.Report(settle.Poll{At: at.Add(time.Second), Err: errors.New("HTTP 503")})
	r.Report(settle.Poll{At: at.Add(2 * time.Second), Counts: counts(dcs.Running, 1), Done: true})
	r.Report(settle.Poll{At: at.Add(3 * time.Second), Err: errors.New("HTTP 401"), Done: true})
	assert.Equal(t, "2026-11-25T12:00:00Z moving: creating 1\n"+
		"2026-11-25T12:00:01Z poll failed, trying again: HTTP 503\n"+
		"2026-11-25T12:00:02Z settled: running 1\n", plain.String(), "the error that ends a wait is left to the caller")

	var live bytes.Buffer
	r = &settle.Reporter{W: &live, Live: true}
	r.Report(settle.Poll{At: at, Counts: counts(dcs.Creating, 1)})
	r.Report(settle.Poll{At: at, Err: errors.New("HTTP 503")})
	r.Report(settle.Poll{At: at, Counts: counts(dcs.Creating, 1)})
	r.Report(settle.Poll{At: at, Counts: counts(dcs.Running, 1), Done: true})
	r.Close()
	assert.Equal(t, "\r\x1b[Kmoving: creating 1"+
		"\r\x1b[Kpoll failed, trying again: HTTP 503\n"+
		"\r\x1b[Kmoving: creating 1"+
		"\r\x1b[Ksettled: running 1\n", live.String(), "a retry message keeps its line; Close after the end adds nothing")

	// Stopped mid-wait (Ctrl-C, a timeout): Close ends the open line.
	live.Reset()
	r = &settle.Reporter{W: &live, Live: true}
	r.Report(settle.Poll{At: at, Counts: counts(dcs.Creating, 1)})
	r.Close()
	assert.Equal(t, "\r\x1b[Kmoving: creating 1\n", live.String())
}

func TestTimeoutNamesWhatIsUnmet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		until []string
		want  string
	}{
		{"conditions", []string{"running_count>=16", "RUNNING>=1", "redis.Creating==0"}, "not yet: running_count>=16 (is 3), redis.creating_count==0 (is 2)"},
		{"no conditions", nil, "not yet: creating 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &script{answers: []answer{{counts: counts(dcs.Running, 3, dcs.Creating, 2)}}}
			clock := &fakeTime{}
			opts := options(s, clock)
			for _, u := range tt.until {
				c, err := settle.ParseCondition(u)
				require.NoError(t, err)
				opts.Until = append(opts.Until, c)
			}
			// The deadline falls between polls: the last sleep is cut short.
			opts.Timeout = 25 * time.Second
			_, err := settle.Wait(t.Context(), opts)
			var stop *settle.StopError
			require.ErrorAs(t, err, &stop)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, "timed out after 25s and 3 polls; "+tt.want, err.Error())
			assert.Equal(t, 3, s.polls)
			assert.Equal(t, 25*time.Second, clock.now.Sub(time.Time{}))
		})
	}
}

// On the real clock, the Timeout cuts off a call that hangs.
func TestTimeoutCutsOffAHungCall(t *testing.T) {
	t.Parallel()
	hung := func(ctx context.Context) (dcs.Counts, error) {
		<-ctx.Done()
		return dcs.Counts{}, ctx.Err()
	}
	_, err := settle.Wait(t.Context(), settle.Options{Fetch: hung, Timeout: time.Millisecond})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "timed out after 0s and 1 polls without one successful answer", err.Error())
}
