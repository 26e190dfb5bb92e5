package signer_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/signer"
)

const validSig = "0a15ee4642735ee3af5a7f604966c258d4bc78cf9ae8a58785eb398fdb605e63"

func TestParseAuthorization_Valid(t *testing.T) {
	t.Parallel()
	want := signer.Authorization{AccessKey: "AK1", SignedHeaders: []string{"host", "x-sdk-date"}, Signature: validSig}
	tests := []struct {
		name   string
		header string
	}{
		{"SDK format", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=" + validSig},
		{"no spaces after commas", "SDK-HMAC-SHA256 Access=AK1,SignedHeaders=host;x-sdk-date,Signature=" + validSig},
		{"fields in another order", "SDK-HMAC-SHA256 Signature=" + validSig + ", Access=AK1, SignedHeaders=host;x-sdk-date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := signer.ParseAuthorization(tt.header)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature="+validSig, got.String())
		})
	}
}

func TestParseAuthorization_Malformed(t *testing.T) {
	t.Parallel()
	const (
		access  = "Access=AK1"
		headers = "SignedHeaders=host;x-sdk-date"
		sig     = "Signature=" + validSig
	)
	join := func(parts ...string) string { return strings.Join(parts, ", ") }
	tests := []struct {
		name   string
		header string
	}{
		{"empty", ""},
		{"only the algorithm", "SDK-HMAC-SHA256"},
		{"algorithm and space", "SDK-HMAC-SHA256 "},
		{"wrong algorithm", "SDK-HMAC-SM3 " + join(access, headers, sig)},
		{"lower-case algorithm", "sdk-hmac-sha256 " + join(access, headers, sig)},
		{"AWS", "AWS4-HMAC-SHA256 Credential=AK1/20240305/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + validSig},
		{"leading space", " SDK-HMAC-SHA256 " + join(access, headers, sig)},
		{"two spaces after algorithm", "SDK-HMAC-SHA256  " + join(access, headers, sig)},
		{"trailing comma", "SDK-HMAC-SHA256 " + join(access, headers, sig) + ","},
		{"missing Access", "SDK-HMAC-SHA256 " + join(headers, sig)},
		{"missing SignedHeaders", "SDK-HMAC-SHA256 " + join(access, sig)},
		{"missing Signature", "SDK-HMAC-SHA256 " + join(access, headers)},
		{"duplicated Access", "SDK-HMAC-SHA256 " + join(access, access, sig)},
		{"duplicated Signature", "SDK-HMAC-SHA256 " + join(sig, headers, sig)},
		{"four fields", "SDK-HMAC-SHA256 " + join(access, headers, sig, "Extra=1")},
		{"unknown field", "SDK-HMAC-SHA256 " + join(access, headers, "Sig="+validSig)},
		{"field without =", "SDK-HMAC-SHA256 " + join(access, headers, "Signature")},
		{"lower-case field name", "SDK-HMAC-SHA256 " + join("access=AK1", headers, sig)},
		{"empty access key", "SDK-HMAC-SHA256 " + join("Access=", headers, sig)},
		{"access key with space", "SDK-HMAC-SHA256 " + join("Access=A K", headers, sig)},
		{"access key too long", "SDK-HMAC-SHA256 " + join("Access="+strings.Repeat("A", 129), headers, sig)},
		{"empty header list", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders=", sig)},
		{"empty header name", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders=host;;x-sdk-date", sig)},
		{"upper-case header", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders=Host;x-sdk-date", sig)},
		{"unsorted headers", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders=x-sdk-date;host", sig)},
		{"duplicated header", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders=host;host;x-sdk-date", sig)},
		{"header with space", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders=host; x-sdk-date", sig)},
		{"short signature", "SDK-HMAC-SHA256 " + join(access, headers, sig[:len(sig)-1])},
		{"long signature", "SDK-HMAC-SHA256 " + join(access, headers, sig+"0")},
		{"upper-case hex", "SDK-HMAC-SHA256 " + join(access, headers, strings.ToUpper(sig))},
		{"non-hex signature", "SDK-HMAC-SHA256 " + join(access, headers, "Signature="+strings.Repeat("g", 64))},
		{"trailing space", "SDK-HMAC-SHA256 " + join(access, headers, sig) + " "},
		{"garbage", "\x00\xff\xfe,=;=,"},
		{"invalid UTF-8 access key", "SDK-HMAC-SHA256 " + join("Access=\xff", headers, sig)},
		{"very long", "SDK-HMAC-SHA256 " + join(access, "SignedHeaders="+strings.Repeat("a;", 1<<14)+"b", sig)},
		{"huge", strings.Repeat("SDK-HMAC-SHA256 ", 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			require.NotPanics(t, func() { _, err = signer.ParseAuthorization(tt.header) })
			assert.ErrorIs(t, err, signer.ErrMalformed)
			assert.Less(t, len(err.Error()), 200, "errors do not echo the input")
		})
	}
}

func TestRedactAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, header, want string }{
		{"SDK format", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=" + validSig,
			"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=REDACTED"},
		{"fields in another order", "SDK-HMAC-SHA256 Signature=" + validSig + ", Access=AK1, SignedHeaders=host;x-sdk-date",
			"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=REDACTED"},
		{"unparseable", "Bearer " + validSig, "REDACTED"},
		{"signature of the wrong length", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=" + validSig[:40], "REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := signer.RedactAuthorization(tt.header)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, validSig[:40])
		})
	}
}
