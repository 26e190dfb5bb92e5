package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Verifier checks signed requests the way the API gateway does. The zero
// value knows no keys and rejects everything; set SecretKey.
//
// It does not judge a security token: after Verify succeeds, a caller that
// cares checks the X-Security-Token header itself.
//
// A Verifier is safe for concurrent use. It keeps the keyed HMAC state of
// the secret keys it has seen, so it must not be copied after first use.
type Verifier struct {
	// SecretKey returns the secret key of an access key, ok false if the
	// key is unknown.
	SecretKey func(accessKey string) (secretKey string, ok bool)
	// Now is the verifier's clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |X-Sdk-Date - Now()|; zero or less means MaxClockSkew.
	MaxSkew time.Duration

	// macs keeps keyed HMAC states for the secret keys seen, so that a
	// request does not derive them again: secret key -> *sync.Pool of
	// hash.Hash. At most maxKeyedPools keys.
	macs  sync.Map
	nmacs atomic.Int32
}

// maxKeyedPools bounds how many secret keys a Verifier keeps HMAC states
// for; past it, the states of other keys are derived per request.
const maxKeyedPools = 64

// mac returns an HMAC-SHA256 keyed with secretKey, reset, and the pool to
// put it back into when done, if any.
func (v *Verifier) mac(secretKey string) (hash.Hash, *sync.Pool) {
	p, ok := v.macs.Load(secretKey)
	if !ok {
		if v.nmacs.Load() >= maxKeyedPools {
			return hmac.New(sha256.New, []byte(secretKey)), nil
		}
		var loaded bool
		p, loaded = v.macs.LoadOrStore(secretKey, &sync.Pool{New: func() any {
			return hmac.New(sha256.New, []byte(secretKey))
		}})
		if !loaded {
			v.nmacs.Add(1)
		}
	}
	pool := p.(*sync.Pool)
	m := pool.Get().(hash.Hash)
	// For crypto/hmac, Reset keeps the keyed state of the first call and
	// restores it from then on, so a pooled hash never derives it again.
	m.Reset()
	return m, pool
}

// Verify checks the signature of req over body (the exact payload read
// from the request, nil for none), recomputed over the headers that the
// Authorization header declares. x-sdk-date must be among them; so must
// X-Security-Token and X-Sdk-Content-Sha256 when they are on the request.
// Host need not be: the official SDK never signs it.
//
// Every error wraps one of ErrMissing, ErrMalformed, ErrUnknownKey,
// ErrDateSkew or ErrSignatureMismatch. A signature that does not match
// is a *MismatchError, which tells what Verify computed.
func (v *Verifier) Verify(req *http.Request, body []byte) error {
	if v == nil {
		v = &Verifier{}
	}
	if req == nil || req.URL == nil {
		return fmt.Errorf("%w: nil request or URL", ErrMalformed)
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	sc.host[0] = requestHost(req)
	addHeaderValues(sc.values, req, sc.host[:])
	values := sc.values
	auth, err := authorizationOf(values)
	if err != nil {
		return err
	}
	if err := checkSignedHeaders(values, auth.SignedHeaders); err != nil {
		return err
	}
	date, err := v.checkDate(values)
	if err != nil {
		return err
	}
	secretKey, err := v.secretKey(auth.AccessKey)
	if err != nil {
		return err
	}
	if err := checkPayloadHash(values, body); err != nil {
		return err
	}
	mac, pool := v.mac(secretKey)
	var want [sha256.Size]byte
	err = signature(&want, req, values, body, auth.SignedHeaders, date, mac)
	if pool != nil {
		pool.Put(mac)
	}
	if err != nil {
		return err
	}
	var got [sha256.Size]byte
	if n, err := hex.Decode(got[:], []byte(auth.Signature)); err != nil || n != len(got) || !hmac.Equal(want[:], got[:]) {
		return mismatch(req, values, body, auth.SignedHeaders, date)
	}
	return nil
}

// scratch is what Verify needs for a request, kept between requests.
type scratch struct {
	values map[string][]string // headerValues(req)
	host   [1]string
}

var scratchPool = sync.Pool{New: func() any { return &scratch{values: make(map[string][]string, 16)} }}

// maxPooledHeaders: a scratch that served a request with more headers is
// dropped rather than kept at that size.
const maxPooledHeaders = 64

func (sc *scratch) put() {
	if len(sc.values) > maxPooledHeaders {
		return
	}
	clear(sc.values) // nothing of a request stays behind
	sc.host[0] = ""
	scratchPool.Put(sc)
}

func authorizationOf(values map[string][]string) (Authorization, error) {
	switch vs := values["authorization"]; len(vs) {
	case 0:
		return Authorization{}, fmt.Errorf("%w: %s header", ErrMissing, HeaderAuthorization)
	case 1:
		return ParseAuthorization(vs[0])
	default:
		return Authorization{}, fmt.Errorf("%w: repeated %s header", ErrMalformed, HeaderAuthorization)
	}
}

// checkSignedHeaders enforces which headers must be covered. Without
// x-sdk-date a signature would never expire; an unsigned token or payload
// hash header could be swapped in transit.
func checkSignedHeaders(values map[string][]string, signed []string) error {
	if slices.Contains(signed, "authorization") {
		return fmt.Errorf("%w: authorization cannot sign itself", ErrMalformed)
	}
	for _, h := range [...]string{lowerDate, lowerSecurityToken, lowerContentSHA256} {
		if h != lowerDate && len(values[h]) == 0 {
			continue
		}
		if _, found := slices.BinarySearch(signed, h); !found {
			return fmt.Errorf("%w: %s is not among the signed headers", ErrMalformed, h)
		}
	}
	return nil
}

// checkDate returns X-Sdk-Date if it is well-formed and within the skew.
func (v *Verifier) checkDate(values map[string][]string) (string, error) {
	vs := values[lowerDate]
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w: %s header", ErrMissing, HeaderDate)
	case 1:
	default:
		return "", fmt.Errorf("%w: repeated %s header", ErrMalformed, HeaderDate)
	}
	date := strings.TrimSpace(vs[0])
	t, ok := parseDate(date)
	if !ok {
		return "", fmt.Errorf("%w: %s is not in the form %s", ErrMalformed, HeaderDate, DateFormat)
	}
	now, maxSkew := time.Now, v.MaxSkew
	if v.Now != nil {
		now = v.Now
	}
	if maxSkew <= 0 {
		maxSkew = MaxClockSkew
	}
	if skew := now().Sub(t); skew > maxSkew || skew < -maxSkew {
		return "", fmt.Errorf("%w: %s is %v from the verifier's clock, limit %v", ErrDateSkew, HeaderDate, skew.Round(time.Second), maxSkew)
	}
	return date, nil
}

func (v *Verifier) secretKey(accessKey string) (string, error) {
	if v.SecretKey != nil {
		if sk, ok := v.SecretKey(accessKey); ok && sk != "" {
			return sk, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrUnknownKey, maskAccessKey(accessKey))
}

// checkPayloadHash: a payload hash that the client states in place of the
// body's must be UNSIGNED-PAYLOAD or match the body.
func checkPayloadHash(values map[string][]string, body []byte) error {
	vs := values[lowerContentSHA256]
	if len(vs) != 1 || vs[0] == UnsignedPayload {
		return nil // none, or repeated: canonicalRequest reports that
	}
	sum := sha256.Sum256(body)
	if vs[0] != hex.EncodeToString(sum[:]) {
		return fmt.Errorf("%w: %s does not match the body", ErrSignatureMismatch, HeaderContentSHA256)
	}
	return nil
}

// parseDate reads X-Sdk-Date strictly: exactly the form of DateFormat
// with a real date and time. It is time.Parse plus a round trip through
// Format, without their allocations: it runs on every request.
func parseDate(s string) (time.Time, bool) {
	if len(s) != len(DateFormat) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	var f [6]int
	for i, span := range [6][2]int{{0, 4}, {4, 6}, {6, 8}, {9, 11}, {11, 13}, {13, 15}} {
		n, ok := num(span[0], span[1])
		if !ok {
			return time.Time{}, false
		}
		f[i] = n
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
	// time.Date normalises 20240231 into March; a real date survives.
	if t.Year() != f[0] || int(t.Month()) != f[1] || t.Day() != f[2] || t.Hour() != f[3] || t.Minute() != f[4] || t.Second() != f[5] {
		return time.Time{}, false
	}
	return t, true
}
