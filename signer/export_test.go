package signer

import (
	"encoding/hex"
	"net/http"
	"strings"
)

// ExpectedSignature is the hex signature Verify would compute for req with
// secretKey, or "" if it would fail before computing one. Tests use it to
// prove that errors never reveal it.
func ExpectedSignature(req *http.Request, body []byte, secretKey string) string {
	values := headerValues(req)
	if len(values["authorization"]) != 1 || len(values[lowerDate]) != 1 {
		return ""
	}
	auth, err := ParseAuthorization(values["authorization"][0])
	if err != nil {
		return ""
	}
	cr, err := canonicalRequest(req, values, body, auth.SignedHeaders, false)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(signature(cr, strings.TrimSpace(values[lowerDate][0]), secretKey))
}
