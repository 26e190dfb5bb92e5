package signer

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"AZaz09-_.~", "AZaz09-_.~"},
		{"a b", "a%20b"},
		{"a+b=c&d", "a%2Bb%3Dc%26d"},
		{"x/y", "x%2Fy"},
		{"ä", "%C3%A4"},
		{"%", "%25"},
		{"!*'();:@$,[]", "%21%2A%27%28%29%3B%3A%40%24%2C%5B%5D"},
		{"\x00\x7f\xff", "%00%7F%FF"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, escape(tt.in))
		})
	}
}

func TestCanonicalURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"empty", "http://h", "/"},
		{"root", "http://h/", "/"},
		{"trailing slash added", "http://h/v2/p/instances/status", "/v2/p/instances/status/"},
		{"trailing slash kept", "http://h/v2/p/", "/v2/p/"},
		{"empty segments kept", "http://h//a//b", "//a//b/"},
		{"encoded slash stays in its segment", "http://h/v2/a%2Fb/x", "/v2/a%2Fb/x/"},
		{"lower-case escapes normalised", "http://h/v2/a%2fb%c3%a4", "/v2/a%2Fb%C3%A4/"},
		{"sub-delims escaped", "http://h/v2/a:b@c+d", "/v2/a%3Ab%40c%2Bd/"},
		{"needless escape decoded", "http://h/%7Ea%41", "/~aA/"},
		{"space", "http://h/p%20id", "/p%20id/"},
		{"escaped percent", "http://h/a%252Fb", "/a%252Fb/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.url)
			require.NoError(t, err)
			got, err := canonicalURI(u)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// What the SDK does: substitute the project id into URL.Path as is.
func TestCanonicalURI_PathWithoutRawPath(t *testing.T) {
	t.Parallel()
	got, err := canonicalURI(&url.URL{Path: "/v2/p id:ä/instances/status"})
	require.NoError(t, err)
	assert.Equal(t, "/v2/p%20id%3A%C3%A4/instances/status/", got)
}

func TestCanonicalQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty", "", ""},
		{"one", "include_failure=true", "include_failure=true"},
		{"keys sorted", "b=1&a=2", "a=2&b=1"},
		{"values sorted before escaping", "a=%C3%A4&a=~", "a=~&a=%C3%A4"},
		{"keys sorted before escaping", "%C3%A4=1&~=2", "~=2&%C3%A4=1"},
		{"plus and %20 are a space", "q=a+b&r=a%20b", "q=a%20b&r=a%20b"},
		{"empty value", "marker=&limit", "limit=&marker="},
		{"repeated key", "k=2&k=1&k=2", "k=1&k=2&k=2"},
		{"reserved characters", "q=a%2Bb%3Dc%26d&p=x%2Fy", "p=x%2Fy&q=a%2Bb%3Dc%26d"},
		{"unreserved kept", "q=~-._", "q=~-._"},
		{"bad escape", "a=%zz", ""},
		{"semicolon", "a=1;b=2", ""},
		{"lone percent", "%", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canonicalQuery(tt.raw)
			if tt.want == "" && tt.raw != "" {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
