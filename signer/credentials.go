package signer

import (
	"encoding/json"
	"fmt"
)

// Credentials are an access key pair, plus the security token of
// temporary credentials. Every way this package formats them (String,
// any fmt verb, slog, JSON) hides the secret key and the token, and
// shows no more than the first four characters of the access key.
type Credentials struct {
	AccessKey     string
	SecretKey     string
	SecurityToken string // empty for permanent credentials
}

// Validate reports an empty access key or secret key.
func (c Credentials) Validate() error {
	switch {
	case c.AccessKey == "":
		return fmt.Errorf("%w: empty access key", ErrInvalidCredentials)
	case c.SecretKey == "":
		return fmt.Errorf("%w: empty secret key", ErrInvalidCredentials)
	}
	return nil
}

// String describes the credentials without revealing them.
func (c Credentials) String() string {
	if c.SecurityToken != "" {
		return "AK " + maskAccessKey(c.AccessKey) + " (temporary)"
	}
	return "AK " + maskAccessKey(c.AccessKey)
}

// Format makes every verb print String, and %#v the fields, hidden.
// Without it, verbs that skip Stringer, such as %d or %x, would print the
// fields as they are.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprintf(f, "signer.Credentials{AccessKey:%q, SecretKey:%q, SecurityToken:%q}",
			maskAccessKey(c.AccessKey), redact(c.SecretKey), redact(c.SecurityToken))
		return
	}
	fmt.Fprint(f, c.String())
}

// MarshalJSON writes the credentials hidden, so that a struct that holds
// them can be logged or dumped as JSON without leaking a secret.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key,omitempty"`
		Temporary bool   `json:"temporary"`
	}{maskAccessKey(c.AccessKey), redact(c.SecretKey), c.SecurityToken != ""})
}

// maskAccessKey keeps a prefix long enough to tell keys apart in logs. An
// access key is not secret, but it is half of the pair.
func maskAccessKey(ak string) string {
	switch {
	case ak == "":
		return "(none)"
	case len(ak) < 8:
		return "****"
	}
	return ak[:4] + "****"
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return RedactedValue
}
