package signer

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Credentials are an access key pair, plus the security token of
// temporary credentials. Every way this package formats them (String,
// GoString, any fmt verb, slog, JSON) hides the secret key and the token, and
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
	s := "AK " + maskAccessKey(c.AccessKey)
	if c.SecurityToken != "" {
		s += " (temporary)"
	}
	return s
}

// GoString keeps %#v from printing the fields.
func (c Credentials) GoString() string {
	return fmt.Sprintf("signer.Credentials{AccessKey:%q, SecretKey:%q, SecurityToken:%q}",
		maskAccessKey(c.AccessKey), redact(c.SecretKey), redact(c.SecurityToken))
}

// Format makes every verb print String, and %#v print GoString. Without it
// verbs that skip Stringer, such as %d or %x, would print the fields.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// MarshalJSON writes the credentials as LogValue shows them, so that a
// struct that holds them can be logged or dumped as JSON without leaking
// the secret key or the token.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key,omitempty"`
		Temporary bool   `json:"temporary"`
	}{maskAccessKey(c.AccessKey), redact(c.SecretKey), c.SecurityToken != ""})
}

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key", maskAccessKey(c.AccessKey)),
		slog.String("secret_key", redact(c.SecretKey)),
		slog.Bool("temporary", c.SecurityToken != ""),
	)
}

// maskAccessKey keeps a prefix long enough to tell keys apart in logs. An
// access key is not secret, but it is half of the pair.
func maskAccessKey(ak string) string {
	const shown = 4
	if ak == "" {
		return "(none)"
	}
	if len(ak) < 2*shown {
		return "****"
	}
	return ak[:shown] + "****"
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}
