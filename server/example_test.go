package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

func ExampleServer_Handler() {
	s, err := server.New(server.Options{})
	if err != nil {
		panic(err)
	}
	err = s.LoadFixture("inline", strings.NewReader(
		`{"instances":[{"project_id":"my-project","engine":"Redis","status":"RUNNING","count":2}]}`))
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/v2/my-project/instances/status")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.Contains(string(body), `"running_count":2`))
	fmt.Println(s.Counts("my-project", false).Redis.Get(dcs.Running))
	// Output:
	// 200 true
	// 2
}
