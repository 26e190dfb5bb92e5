package httpserve

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParsePlainError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		status int
		text   string
		ok     bool
	}{
		{"HTTP/1.1 400 Bad Request" + plainErrorHeaders + "400 Bad Request", 400, "400 Bad Request", true},
		{"HTTP/1.1 431 Request Header Fields Too Large" + plainErrorHeaders + "431 Request Header Fields Too Large", 431, "431 Request Header Fields Too Large", true},
		{"HTTP/1.0 431 Request Header Fields Too Large" + plainErrorHeaders + "x", 431, "x", true},
		{"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version" + plainErrorHeaders + "505 x", 505, "505 x", true},
		{"HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: Thu, 26 Nov 2026 08:01:22 GMT\r\nContent-Length: 0\r\n\r\n", 417,
			"417 Expectation Failed: only the expectation 100-continue is supported", true},
		{"HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 0, "", false},
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: x\r\n\r\nhi", 0, "", false},
		{"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}", 0, "", false},
		{"HTTP/1.1 100 Continue\r\n\r\n", 0, "", false},
		{"HTTP/1.1 299 Odd" + plainErrorHeaders, 0, "", false},
		{"body bytes of a long answer", 0, "", false},
		{"", 0, "", false},
	}
	for _, tt := range tests {
		status, text, ok := parsePlainError([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.status, status, tt.in)
		assert.Equal(t, tt.text, text, tt.in)
	}
}
