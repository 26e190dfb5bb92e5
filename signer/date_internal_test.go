package signer

import (
	"strings"
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

func TestLowerHeaderConstants(t *testing.T) {
	for name, lower := range map[string]string{
		HeaderDate: lowerDate, HeaderSecurityToken: lowerSecurityToken, HeaderContentSHA256: lowerContentSHA256,
	} {
		if strings.ToLower(name) != lower {
			t.Errorf("lower-case %s is %q, want %q", name, lower, strings.ToLower(name))
		}
	}
}

// The allocation-free path for plain queries must agree with the general
// one wherever it applies.
func FuzzPlainQuery(f *testing.F) {
	for _, s := range []string{"", "include_failure=true", "b=2&a=1", "a-b=1&a=2", "a=2&a=1&a=10", "=x&x=", "a&b=1",
		"a=b=c", "&&a=1&", "a.b=~&a_b=-", "a=1&a=1", "1=1&2=2&3=3&4=4&5=5&6=6&7=7&8=8&9=9", "a=%41", "a+b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		fast, ok := appendPlainQuery(nil, raw)
		if !ok {
			return
		}
		slow, err := appendParsedQuery(nil, raw)
		if err != nil || string(fast) != string(slow) {
			t.Fatalf("plain %q, parsed %q (%v)", fast, slow, err)
		}
	})
}
