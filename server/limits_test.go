package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/gen/admin"
	"github.com/dcskit/dcskit/internal/httpserve"
	"github.com/dcskit/dcskit/openapi"
	"github.com/dcskit/dcskit/server"
	"github.com/dcskit/dcskit/signer"
)

// TestLimitsAreInTheSpec holds admin.yaml to the constants of package
// server: every limit is stated there, with its value.
func TestLimitsAreInTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadAdmin(t.Context())
	require.NoError(t, err)
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	prop := func(schemaName, p string) *openapi3.Schema { return schema(schemaName).Properties[p].Value }

	entry := schema("FixtureEntry")
	assert.EqualValues(t, server.MaxCount, *entry.Properties["count"].Value.Max)
	assert.EqualValues(t, server.MaxIDLength, *prop("FixtureEntry", "id").MaxLength)
	assert.EqualValues(t, server.MaxNameLength, *prop("FixtureEntry", "name").MaxLength)
	assert.EqualValues(t, server.MaxIDLength, *schema("InstanceID").MaxLength)
	assert.EqualValues(t, server.MaxPageSize, *prop("InstanceList", "instances").MaxItems)
	assert.EqualValues(t, server.MaxFaultDelay.Milliseconds(), *prop("Fault", "delay_ms").Max)
	assert.Less(t, server.MaxFaultDelay, httpserve.WriteTimeout, "a delayed answer can still be written")

	list := doc.Paths.Find("/_fake/instances").Get
	limit := list.Parameters.GetByInAndName("query", "limit").Schema.Value
	assert.EqualValues(t, server.MaxPageSize, *limit.Max)
	assert.EqualValues(t, server.DefaultPageSize, limit.Default)

	for name, stated := range map[string]string{
		"MaxAdminBody":        fmt.Sprintf("%d MiB (MaxAdminBody)", server.MaxAdminBody>>20),
		"DefaultMaxInstances": fmt.Sprintf("%s instances in the fake (DefaultMaxInstances", thousands(server.DefaultMaxInstances)),
		"MaxScheduledChanges": fmt.Sprintf("%s scheduled changes held (MaxScheduledChanges)", thousands(server.MaxScheduledChanges)),
		"MaxChain":            fmt.Sprintf("%d changes (MaxChain)", server.MaxChain),
		"MaxPageSize":         fmt.Sprintf("%s instances per page of GET /_fake/instances\n  (MaxPageSize)", thousands(server.MaxPageSize)),
		"DefaultPageSize":     fmt.Sprintf("%d by default (DefaultPageSize)", server.DefaultPageSize),
		"MaxPendingFaults":    fmt.Sprintf("%s queued faults (MaxPendingFaults)", thousands(server.MaxPendingFaults)),
		"MaxFaultDelay":       fmt.Sprintf("%d s (MaxFaultDelay", int(server.MaxFaultDelay.Seconds())),
		"MaxFaultRetryAfter":  fmt.Sprintf("Retry-After of at most %d h (MaxFaultRetryAfter)", int(server.MaxFaultRetryAfter.Hours())),
		"MaxAdminInFlight":    fmt.Sprintf("%d admin requests served at once (MaxAdminInFlight)", server.MaxAdminInFlight),
	} {
		assert.Contains(t, doc.Info.Description, stated, name)
	}
}

// thousands writes n as admin.yaml does: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// limitError checks that r refuses a request over limit with 413 and a
// message that names it.
func limitError(t *testing.T, r reply, limit string) {
	t.Helper()
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, "body: %s", r.body)
	e := r.error(t)
	assert.Equal(t, "111413001", e.Code)
	assert.Contains(t, e.Msg, "limit "+limit+" exceeded")
}

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
			assert.Equal(t, 10, small.call(t, http.MethodPost, "/_fake/instances",
				`{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING","count":10}]}`).added(t).Added)
			_, err := small.Add(server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Running})
			var le *server.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, "MaxInstances", le.Limit)
			assert.EqualValues(t, 10, le.Max)
			// A replace counts without what it replaces.
			assert.Equal(t, 10, small.call(t, http.MethodPut, "/_fake/instances",
				`{"instances":[{"project_id":"q","engine":"Redis","status":"RUNNING","count":10}]}`).added(t).Added)
		})
	}
	_, err := server.New(server.Options{MaxInstances: -1})
	assert.Error(t, err)
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
	res := r.added(t)
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
// id can be PATCHed and DELETEd by URL; a name prints on one line.
func TestIDRule(t *testing.T) {
	t.Parallel()
	bad := []struct{ field, value string }{
		{"id", "a/b"},
		{"id", "a\x00b"},
		{"id", "a\nb"},
		{"id", "a b"},
		{"id", strings.Repeat("x", server.MaxIDLength+1)},
		{"name", "a\nb"},
		{"name", "a\x00b"},
		{"name", strings.Repeat("x", server.MaxNameLength+1)},
	}
	for _, tt := range bad {
		in := server.Instance{ProjectID: "p", Engine: dcs.Redis, Status: dcs.Running}
		if tt.field == "id" {
			in.ID = tt.value
		} else {
			in.Name = tt.value
		}
		s, err := server.New(server.Options{})
		require.NoError(t, err)
		_, err = s.Add(in)
		var ie *server.InvalidError
		if assert.ErrorAs(t, err, &ie, "%q", tt.value) {
			assert.Equal(t, tt.field, ie.Field)
		}
		for _, validation := range []bool{true, false} {
			f := startHandler(t, server.Options{DisableValidation: !validation})
			body, err := json.Marshal(map[string]any{"instances": []map[string]string{
				{"project_id": "p", "engine": "Redis", "status": "RUNNING", tt.field: tt.value},
			}})
			require.NoError(t, err)
			r := f.call(t, http.MethodPost, "/_fake/instances", string(body))
			assert.Equal(t, http.StatusBadRequest, r.status, "%q, validation %v: %s", tt.value, validation, r.body)
			assert.Contains(t, r.error(t).Msg, tt.field)
			assert.Empty(t, f.Instances(""))
		}
	}
	f := startHandler(t, server.Options{})
	longest := strings.Repeat("x", server.MaxIDLength)
	_, err := f.Add(server.Instance{ProjectID: "p", ID: longest, Name: strings.Repeat("é", server.MaxNameLength), Engine: dcs.Redis, Status: dcs.Running})
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, f.call(t, http.MethodDelete, "/_fake/instances/"+longest, "").status)
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
				r := f.call(t, http.MethodGet, "/_fake/instances"+query, "")
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				var l admin.InstanceList
				require.NoError(t, json.Unmarshal(r.body, &l))
				return l
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

// TestListPagesWithoutValidation: the handler checks limit and cursor
// itself.
func TestListPagesWithoutValidation(t *testing.T) {
	t.Parallel()
	f := startHandler(t, server.Options{DisableValidation: true})
	for _, q := range []string{"?limit=0", "?limit=1001", "?cursor=x"} {
		r := f.call(t, http.MethodGet, "/_fake/instances"+q, "")
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", q, r.body)
		assert.Equal(t, "111400063", r.error(t).Code)
	}
}

// TestFaultLimits: a delay over MaxFaultDelay, one that would overflow,
// and more than MaxPendingFaults queued are refused.
func TestFaultLimits(t *testing.T) {
	t.Parallel()
	for _, validation := range []bool{true, false} {
		f := startHandler(t, server.Options{DisableValidation: !validation})
		for _, body := range []string{
			fmt.Sprintf(`{"delay_ms":%d}`, server.MaxFaultDelay.Milliseconds()+1),
			`{"delay_ms":100000}`,
			`{"delay_ms":9223372036854775807}`,
			`{"delay_ms":-1}`,
		} {
			r := f.call(t, http.MethodPost, "/_fake/faults", body)
			assert.Equal(t, http.StatusBadRequest, r.status, "%s, validation %v: %s", body, validation, r.body)
		}
		assert.Equal(t, http.StatusOK, f.call(t, http.MethodGet, statusPath("p"), "").status, "nothing queued")
	}
	assert.Panics(t, func() {
		s, err := server.New(server.Options{})
		require.NoError(t, err)
		s.InjectFault(server.Fault{Delay: server.MaxFaultDelay + 1})
	})

	f := startHandler(t, server.Options{})
	for range server.MaxPendingFaults {
		f.InjectFault(server.Fault{Status: 503})
	}
	limitError(t, f.call(t, http.MethodPost, "/_fake/faults", `{"status":503}`), "MaxPendingFaults")
}

// TestAdminDemandsTheFakesCredentials: a fake with credentials answers
// admin requests from another host only with them (an AK/SK signature or
// the token); requests from loopback, and healthz, need none. A fake
// without credentials asks for none.
func TestAdminDemandsTheFakesCredentials(t *testing.T) {
	t.Parallel()
	const ak, sk, token = "ADMINAK", "admin-sk", "admin-token"
	const remote = "203.0.113.9:40000"
	body := `{"instances":[{"project_id":"p","engine":"Redis","status":"RUNNING"}]}`
	f := startHandler(t, server.Options{AccessKey: ak, SecretKey: sk, Token: token})
	from := func(addr, method, path, body string) *http.Request {
		req := f.request(t, method, path, body)
		req.RemoteAddr = addr
		return req
	}
	for _, tt := range []struct {
		method, path, body string
	}{
		{http.MethodPost, "/_fake/instances", body},
		{http.MethodPut, "/_fake/instances", body},
		{http.MethodGet, "/_fake/instances", ""},
		{http.MethodPost, "/_fake/reset", ""},
		{http.MethodPost, "/_fake/faults", `{"status":503}`},
		{http.MethodDelete, "/_fake/faults", ""},
		{http.MethodDelete, "/_fake/instances/x", ""},
		{http.MethodGet, "/_fake/requests", ""},
	} {
		r := f.send(t, from(remote, tt.method, tt.path, tt.body))
		assert.Equal(t, http.StatusForbidden, r.status, "%s %s: %s", tt.method, tt.path, r.body)
		e := r.error(t)
		assert.Equal(t, "111403003", e.Code)
		assert.NotContains(t, string(r.body), sk)
		assert.NotContains(t, string(r.body), token)

		req := from(remote, tt.method, tt.path, tt.body)
		req.Header.Set("X-Auth-Token", "wrong")
		assert.Equal(t, http.StatusForbidden, f.send(t, req).status)
	}
	assert.Empty(t, f.Instances(""))
	assert.Equal(t, http.StatusOK, f.send(t, from(remote, http.MethodGet, "/_fake/healthz", "")).status)

	req := from(remote, http.MethodPost, "/_fake/instances", body)
	require.NoError(t, signer.Sign(req, []byte(body), signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	assert.Equal(t, 1, f.send(t, req).added(t).Added, "signed, body included")

	req = from(remote, http.MethodPost, "/_fake/instances", body)
	require.NoError(t, signer.Sign(req, []byte(`{}`), signer.Credentials{AccessKey: ak, SecretKey: sk}, time.Now()))
	assert.Equal(t, http.StatusForbidden, f.send(t, req).status, "signed over another body")

	req = from(remote, http.MethodPost, "/_fake/reset", "")
	req.Header.Set("X-Auth-Token", token)
	assert.Equal(t, http.StatusNoContent, f.send(t, req).status)
	assert.Empty(t, f.Instances(""))

	// From this machine, the admin API needs nothing: over a real loopback
	// connection, over IPv6 loopback, and handed to the Handler.
	for _, addr := range []string{"127.0.0.1:50000", "[::1]:50000", ""} {
		assert.Equal(t, http.StatusOK, f.send(t, from(addr, http.MethodPost, "/_fake/instances", body)).status, addr)
	}
	l := startListener(t, server.Options{AccessKey: ak, SecretKey: sk})
	assert.Equal(t, http.StatusNoContent, l.call(t, http.MethodPost, "/_fake/reset", "").status, "loopback")

	open := startHandler(t, server.Options{})
	assert.Equal(t, http.StatusNoContent, open.send(t, from(remote, http.MethodPost, "/_fake/reset", "")).status)
}
