package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/server"
)

// TestInstanceLimit: the store holds at most MaxInstances, counts summed
// before anything is added. Eight entries of a million, the 583-byte
// request that once ran the fake out of memory, are refused at once.
func TestInstanceLimit(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})
			entry := `{"project_id":"p","engine":"Redis","status":"RUNNING","count":1000000}`
			attack := `{"instances":[` + strings.Repeat(entry+",", 7) + entry + `]}`
			for _, method := range []string{http.MethodPost, http.MethodPut} {
				r := f.call(t, method, "/_fake/instances", attack)
				limitError(t, r, "MaxInstances")
				assert.Contains(t, r.error(t).Msg, "would be 8000000, at most 1000000")
			}
			assert.Empty(t, f.Instances(""))
			assert.Equal(t, dcs.Counts{}, f.counts(t, "p", ""), "queries go on")

			small := m.start(t, server.Options{MaxInstances: 10})
			r := small.call(t, http.MethodPost, "/_fake/instances", `{"instances":[
				{"project_id":"p","engine":"Redis","status":"RUNNING","count":6},
				{"project_id":"p","engine":"Redis","status":"RUNNING","count":5}]}`)
			limitError(t, r, "MaxInstances")
			assert.Empty(t, small.Instances(""), "all or nothing")
			assert.Equal(t, 10, decode[admin.AddResult](t, small.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","count":10}]}`)).Added)
			_, err := small.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Running})
			var le *server.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, "MaxInstances", le.Limit)
			assert.EqualValues(t, 10, le.Max)
			// A replace counts without what it replaces.
			assert.Equal(t, 10, decode[admin.AddResult](t, small.call(t, http.MethodPut, "/_fake/instances",
				`{"instances":[{"project_id":"q","engine":"Redis","status":"RUNNING","count":10}]}`)).Added)
		})
	}
}

// TestAddAnswerIsCompact: an entry with a count is answered once, its
// chain once: the answer grows with the request, not with its count.
func TestAddAnswerIsCompact(t *testing.T) {
	t.Parallel()
	f := startHandler(t, server.Options{})
	var chain strings.Builder
	for range server.MaxChain - 1 {
		chain.WriteString(`{"status":"RUNNING","after":"1ns","then":`)
	}
	chain.WriteString(`{"status":"RUNNING","after":"1ns"}` + strings.Repeat("}", server.MaxChain-1))
	body := `{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","count":20000,"becomes":` + chain.String() + `}]}`
	r := f.call(t, http.MethodPost, "/_fake/instances", body)
	res := decode[admin.AddResult](t, r)
	assert.Equal(t, 20000, res.Added)
	require.Len(t, res.Instances, 1)
	assert.Equal(t, 20000, res.Instances[0].Count)
	assert.NotEmpty(t, res.Instances[0].Id)
	assert.Less(t, len(r.body), 2*len(body), "no bigger than the request")
}

// TestChainLimit: a chain of more than MaxChain changes is refused, by
// the Go API and the admin API, with validation on or off.
func TestChainLimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(`{"status":"RUNNING","after":"1s","then":`, server.MaxChain) +
		`{"status":"RUNNING","after":"1s"}` + strings.Repeat("}", server.MaxChain)
	for _, validation := range []bool{true, false} {
		f := startHandler(t, server.Options{DisableValidation: !validation})
		r := f.call(t, http.MethodPost, "/_fake/instances", `{"instances":[{"project_id":"p","engine":"Redis","status":"CREATING","becomes":`+long+`}]}`)
		assert.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
		assert.Contains(t, r.error(t).Msg, "a chain of more than 100 changes (MaxChain)")
	}
	var head server.Transition
	link := &head
	for range server.MaxChain {
		link.Status, link.Then = dcs.Running, &server.Transition{Status: dcs.Running}
		link = link.Then
	}
	s, err := server.New(server.Options{})
	require.NoError(t, err)
	_, err = s.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Creating, Becomes: &head})
	assert.ErrorContains(t, err, "(MaxChain)")
}

// TestAdminBodyLimit: a body over MaxAdminBody is refused with 413,
// whether its Content-Length says so or it is sent in chunks; queries are
// answered while it is being sent, and after.
func TestAdminBodyLimit(t *testing.T) {
	t.Parallel()
	f := startListener(t, server.Options{})
	big := `{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","id":"` + strings.Repeat("a", server.MaxAdminBody) + `"}]}`

	r := f.call(t, http.MethodPost, "/_fake/instances", big)
	limitError(t, r, "MaxAdminBody")

	// Chunked, and held half-sent: the fake answers queries meanwhile.
	pr, pw := io.Pipe()
	req := f.request(t, http.MethodPost, "/_fake/instances", "")
	req.Body, req.ContentLength = pr, -1
	req.Header.Set("Content-Type", "application/json")
	done := make(chan reply, 1)
	go func() {
		resp, err := f.do(req)
		if err != nil {
			done <- reply{}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		done <- reply{resp.StatusCode, resp.Header, body}
	}()
	_, err := pw.Write([]byte(big[:len(big)/2]))
	require.NoError(t, err)
	assert.Equal(t, dcs.Counts{}, f.counts(t, "p", ""), "a query during the big request")
	assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, "/_fake/healthz", "").status)
	go func() {
		_, _ = pw.Write([]byte(big[len(big)/2:]))
		_ = pw.Close()
	}()
	select {
	case r := <-done:
		limitError(t, r, "MaxAdminBody")
	case <-time.After(time.Minute): // a hang guard only
		t.Fatal("no answer to the big request")
	}
	assert.Empty(t, f.Instances(""))
	assert.Equal(t, dcs.Counts{}, f.counts(t, "p", ""), "a query after it")
}

// TestIDRule: an instance id follows the project_id rule, so that every
// id can be PATCHed and DELETEd by URL; a name prints on one line. The
// admin API refuses others, validation on or off.
func TestIDRule(t *testing.T) {
	t.Parallel()
	bad := []struct{ field, value string }{
		{"id", "a/b"},
		{"id", "a\x00b"},
		{"id", "a b"},
		{"id", strings.Repeat("x", 65)},
		{"name", "a\nb"},
		{"name", strings.Repeat("x", server.MaxNameLength+1)},
	}
	for _, validation := range []bool{true, false} {
		f := startHandler(t, server.Options{DisableValidation: !validation})
		for _, tt := range bad {
			body := jsonBody(t, map[string]any{"instances": []map[string]string{
				{"project_id": "p", "engine": "Redis", "status": "RUNNING", tt.field: tt.value},
			}})
			r := f.call(t, http.MethodPost, "/_fake/instances", body)
			assert.Equal(t, http.StatusBadRequest, r.status, "%q, validation %v: %s", tt.value, validation, r.body)
			assert.Contains(t, r.error(t).Msg, tt.field)
		}
		assert.Empty(t, f.Instances(""))
		longest := strings.Repeat("x", 64)
		_, err := f.Add(server.Instance{ProjectID: "p", ID: longest, Engine: dcs.Redis, Status: dcs.Running})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/_fake/instances/"+longest, "").status)
	}
}

// TestListPages: GET /_fake/instances pages in the order instances were
// added, DefaultPageSize at a time unless limit says otherwise, and the
// last page has no next_cursor.
func TestListPages(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := m.start(t, server.Options{})
			var want []string
			for i := range 250 {
				p := []string{"p", "q"}[i%2]
				added, err := f.Add(server.Instance{ProjectID: p, ID: fmt.Sprintf("i%03d", i), Engine: dcs.Redis, Status: dcs.Running})
				require.NoError(t, err)
				if p == "p" {
					want = append(want, added[0].ID)
				}
			}
			page := func(query string) admin.InstanceList {
				return decode[admin.InstanceList](t, f.call(t, http.MethodGet, "/_fake/instances"+query, ""))
			}
			first := page("")
			assert.Len(t, first.Instances, server.DefaultPageSize)
			require.NotNil(t, first.NextCursor)

			var got []string
			query := "?project_id=p&limit=50"
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10, "no end of pages")
				l := page(query)
				for _, in := range l.Instances {
					got = append(got, in.Id)
				}
				if l.NextCursor == nil {
					break
				}
				if pages == 0 {
					// A removal between pages changes nothing for the rest.
					require.NoError(t, f.Remove(want[60]))
					want = append(want[:60], want[61:]...)
				}
				query = "?project_id=p&limit=50&cursor=" + *l.NextCursor
			}
			assert.Equal(t, want, got)

			assert.Empty(t, page("?project_id=nobody").Instances)
			for _, q := range []string{"?limit=0", "?limit=1001", "?cursor=x", "?cursor=-1"} {
				r := f.call(t, http.MethodGet, "/_fake/instances"+q, "")
				assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", q, r.body)
			}
		})
	}
}
