package client

import (
	"encoding/json"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// decodeCounts reads a 200 body. Decoding was half of a call's CPU, so
// the common shape (an object of known counters and the two engine
// objects, integers only) is read by hand; anything else, including every
// error, goes through encoding/json, which therefore decides what is
// accepted. FuzzDecodeCounts holds the two paths together.
func decodeCounts(body []byte) (dcs.Counts, error) {
	if c, ok := fastCounts(body); ok {
		return c, nil
	}
	var in gen.InstanceStatusCounts
	if err := json.Unmarshal(body, &in); err != nil {
		return dcs.Counts{}, err
	}
	return dcs.FromAPI(in), nil
}

// counterIndex maps a counter's JSON name to its status index.
var counterIndex = func() map[string]int {
	m := make(map[string]int, len(dcs.Statuses))
	for i, st := range dcs.Statuses {
		m[st.Counter()] = i
	}
	return m
}()

// countsScanner reads the fast path's subset of JSON.
type countsScanner struct {
	b []byte
	i int
}

func fastCounts(body []byte) (dcs.Counts, bool) {
	var c dcs.Counts
	s := countsScanner{b: body}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "redis":
			return s.counters(&c.Redis)
		case "memcached":
			return s.counters(&c.Memcached)
		}
		return s.counter(key, &c.Total)
	})
	s.space()
	return c, ok && s.i == len(s.b)
}

func (s *countsScanner) counters(c *dcs.Counters) bool {
	return s.object(func(key []byte) bool { return s.counter(key, c) })
}

func (s *countsScanner) counter(key []byte, c *dcs.Counters) bool {
	i, known := counterIndex[string(key)] // no copy: Go looks up without one
	if !known {
		return false
	}
	v, ok := s.int32()
	c[i] = v
	return ok
}

// object reads {"key": value, ...}, calling member to read each value.
func (s *countsScanner) object(member func(key []byte) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.key()
		if !ok || !s.byte(':') || !member(key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// key reads a string without escapes: a counter name never needs one.
// The key is a slice of the body.
func (s *countsScanner) key() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			k := s.b[start:s.i]
			s.i++
			return k, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// int32 reads an integer as JSON writes it: no leading zeros, no plus.
func (s *countsScanner) int32() (int32, bool) {
	s.space()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var v int64
	for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
		v = v*10 + int64(s.b[s.i]-'0')
		if v > 1<<31 {
			return 0, false
		}
	}
	n := s.i - start
	if n == 0 || n > 1 && s.b[start] == '0' {
		return 0, false
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 || v < -1<<31 {
		return 0, false
	}
	return int32(v), true
}

// byte skips white space and then c, if c is next.
func (s *countsScanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *countsScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}
