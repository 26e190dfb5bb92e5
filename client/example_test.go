package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

// startFake runs the embedded fake with AK/SK checking, seeded with the
// API page's example: 8 running and 22 create-failed instances per engine.
func startFake(ak, sk, project string) (srv *server.Server, stop func()) {
	srv, err := server.New(server.Options{AccessKey: ak, SecretKey: sk})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	err = srv.LoadFixture("example", strings.NewReader(`{"instances": [
		{"project_id": "`+project+`", "engine": "Redis",     "status": "RUNNING",      "count": 8},
		{"project_id": "`+project+`", "engine": "Memcached", "status": "RUNNING",      "count": 8},
		{"project_id": "`+project+`", "engine": "Redis",     "status": "CREATEFAILED", "count": 22},
		{"project_id": "`+project+`", "engine": "Memcached", "status": "CREATEFAILED", "count": 22}
	]}`))
	if err != nil {
		log.Fatal(err)
	}
	return srv, func() { _ = srv.Shutdown(context.Background()) }
}

func ExampleClient_InstanceStatus() {
	srv, stop := startFake("EXAMPLEAK", "example-sk", "my-project")
	defer stop()

	c, err := client.New(
		client.WithEndpoint(srv.URL()), // without it: https://dcs.cn-north-4.myhuaweicloud.com
		client.WithProjectID("my-project"),
		client.WithCredentials("EXAMPLEAK", "example-sk"),
	)
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.InstanceStatus(context.Background(), client.IncludeFailure())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("running:", st.Count(dcs.Running))
	fmt.Println("running Redis:", st.Redis.Get(dcs.Running))
	fmt.Println("create failed:", st.Count(dcs.CreateFailed))
	fmt.Println("in transition:", st.Transitional())
	// Output:
	// running: 16
	// running Redis: 8
	// create failed: 44
	// in transition: 0
}

// FromEnv reads the official SDK's variables, so one configuration serves
// both. Here a map stands in for os.Getenv.
func ExampleFromEnv() {
	srv, stop := startFake("EXAMPLEAK", "example-sk", "env-project")
	defer stop()
	environ := map[string]string{
		"HUAWEICLOUD_SDK_AK":                        "EXAMPLEAK",
		"HUAWEICLOUD_SDK_SK":                        "example-sk",
		"HUAWEICLOUD_SDK_PROJECT_ID":                "env-project",
		"HUAWEICLOUD_SDK_REGION_DCS_AP_SOUTHEAST_1": srv.URL(),
	}
	c, err := client.New(
		client.FromEnv(func(k string) string { return environ[k] }),
		client.WithRegion("ap-southeast-1"),
	)
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.InstanceStatus(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("instances:", st.Total.Total(), "(create-failed ones left out)")
	// Output:
	// instances: 16 (create-failed ones left out)
}

// Every answer other than 2xx is an *APIError, here the API gateway's
// answer to a wrong secret key.
func ExampleAPIError() {
	srv, stop := startFake("EXAMPLEAK", "example-sk", "my-project")
	defer stop()
	c, err := client.New(
		client.WithEndpoint(srv.URL()),
		client.WithProjectID("my-project"),
		client.WithCredentials("EXAMPLEAK", "not-the-secret-key"),
	)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.InstanceStatus(context.Background())
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
	}
	// Output:
	// 401 APIGW.0301
}
