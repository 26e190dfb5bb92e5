package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen"
)

// countsAnswer is the 200 answer to a query. It writes, byte for byte,
// what the generated gen.ListNumberOfInstancesInDifferentStatus200JSONResponse
// writes (encoding/json of dcs.Counts.API(), with its trailing newline),
// without reflection: encoding was a third of the cost of the fake's hot
// path. TestCountsAnswerMatchesGenerated holds the two together.
type countsAnswer dcs.Counts

var _ gen.ListNumberOfInstancesInDifferentStatusResponseObject = countsAnswer{}

// countsField is one member of a counters object: its name, and the
// status index it shows or, for a nested engine object, engine >= 0.
type countsField struct {
	name   string
	key    string // the name quoted, with the colon
	status int
	engine int
}

// topLevel and perEngine are the members in the order encoding/json
// writes gen.InstanceStatusCounts and gen.StatusStatistic: the order of
// the struct fields, which oapi-codegen sorts by JSON name.
var topLevel, perEngine = countsLayout()

func countsLayout() (top, engine []countsField) {
	field := func(name string, status, engine int) countsField {
		return countsField{name: name, key: strconv.Quote(name) + ":", status: status, engine: engine}
	}
	byName := func(a, b countsField) int { return strings.Compare(a.name, b.name) }
	for i, st := range dcs.Statuses {
		engine = append(engine, field(st.Counter(), i, -1))
	}
	slices.SortFunc(engine, byName)
	top = append(slices.Clone(engine), field("redis", 0, 0), field("memcached", 0, 1))
	slices.SortFunc(top, byName)
	return top, engine
}

func (c countsAnswer) VisitListNumberOfInstancesInDifferentStatusResponse(w http.ResponseWriter) error {
	buf := answerBuffers.Get().(*[]byte)
	defer answerBuffers.Put(buf)
	*buf = appendCounts((*buf)[:0], dcs.Counts(c))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(*buf)
	return err
}

// answerBuffers hold encoded answers: a buffer handed to Write escapes,
// and would otherwise be garbage after every query.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func appendCounts(b []byte, c dcs.Counts) []byte {
	engines := [2]*dcs.Counters{&c.Redis, &c.Memcached}
	b = append(b, '{')
	for i, f := range topLevel {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		if f.engine >= 0 {
			b = appendCounters(b, engines[f.engine])
		} else {
			b = strconv.AppendInt(b, int64(c.Total[f.status]), 10)
		}
	}
	return append(b, '}', '\n')
}

func appendCounters(b []byte, c *dcs.Counters) []byte {
	b = append(b, '{')
	for i, f := range perEngine {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		b = strconv.AppendInt(b, int64(c[f.status]), 10)
	}
	return append(b, '}')
}
