package signer_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dcskit/dcskit/signer"
)

func ExampleSign() {
	req, _ := http.NewRequest(http.MethodGet,
		"https://dcs.cn-north-4.myhuaweicloud.com/v2/0a1b2c3d4e5f/instances/status?include_failure=true", nil)
	req.Header.Set(signer.HeaderProjectID, "0a1b2c3d4e5f") // set before signing, so it is signed
	cred := signer.Credentials{AccessKey: "EXAMPLEACCESSKEY0001", SecretKey: "example-secret"}
	now := time.Date(2024, 3, 5, 6, 7, 8, 0, time.UTC)

	if err := signer.Sign(req, nil, cred, now); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Header.Get(signer.HeaderDate))
	fmt.Println(req.Header.Get(signer.HeaderAuthorization))
	fmt.Println(cred)
	// Output:
	// 20240305T060708Z
	// SDK-HMAC-SHA256 Access=EXAMPLEACCESSKEY0001, SignedHeaders=x-project-id;x-sdk-date, Signature=5d29ed49952f2e0960c61e7da480eaab0e9e26b3f77db5265bc68d5870bb0254
	// AK EXAM****
}

func ExampleVerifier_Verify() {
	now := time.Date(2024, 3, 5, 6, 7, 8, 0, time.UTC)
	keys := map[string]string{"EXAMPLEACCESSKEY0001": "example-secret"}
	v := &signer.Verifier{
		SecretKey: func(ak string) (string, bool) { sk, ok := keys[ak]; return sk, ok },
		Now:       func() time.Time { return now.Add(time.Minute) },
	}

	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/v2/0a1b2c3d4e5f/instances/status", nil)
	_ = signer.Sign(req, nil, signer.Credentials{AccessKey: "EXAMPLEACCESSKEY0001", SecretKey: "example-secret"}, now)
	fmt.Println(v.Verify(req, nil))

	req.URL.RawQuery = "include_failure=true"
	err := v.Verify(req, nil)
	fmt.Println(errors.Is(err, signer.ErrSignatureMismatch))

	_ = signer.Sign(req, nil, signer.Credentials{AccessKey: "EXAMPLEACCESSKEY0001", SecretKey: "example-secret"}, now.Add(-time.Hour))
	fmt.Println(v.Verify(req, nil))
	// Output:
	// <nil>
	// true
	// request date outside the allowed clock skew: X-Sdk-Date is 1h1m0s from the verifier's clock, limit 15m0s
}
