package signer_test

import (
	"net/http"
	"testing"

	"github.com/dcskit/dcskit/signer"
)

func BenchmarkSign(b *testing.B) {
	req := newRequest(b, http.MethodGet, statusURL, nil)
	cred := testCred()
	b.ReportAllocs()
	for b.Loop() {
		if err := signer.Sign(req, nil, cred, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	sreq, body := toServer(b, signedRequest(b, http.MethodGet, statusURL, nil))
	v := testVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(sreq, body); err != nil {
			b.Fatal(err)
		}
	}
}
