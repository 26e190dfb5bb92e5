package signer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// parseDate must agree with time.Parse plus a round trip through Format,
// which it replaces.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"20240305T060708Z", "20240231T000000Z", "20241305T060708Z", "20240305T246060Z",
		"2024030ST060708Z", "20240305t060708Z", "20240305T060708z", "+0240305T060708Z", "00000101T000000Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse(DateFormat, s)
		wantOK := err == nil && want.Format(DateFormat) == s
		got, ok := parseDate(s)
		assert.Equal(t, wantOK, ok, "%q", s)
		if ok && wantOK {
			assert.True(t, want.Equal(got), "%q: %v != %v", s, got, want)
		}
	})
}
