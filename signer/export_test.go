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
	auth, err := authorizationOf(values)
	if err != nil {
		return ""
	}
	dates := values[strings.ToLower(HeaderDate)]
	if len(dates) != 1 {
		return ""
	}
	mac, err := computeSignature(req, values, body, auth.SignedHeaders, strings.TrimSpace(dates[0]), secretKey)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(mac)
}
