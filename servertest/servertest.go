// Package servertest starts dcskit's fake DCS server for a Go test, as
// net/http/httptest does for a handler: on a free loopback port, shut
// down when the test ends. It is apart from package server so that
// programs that embed the fake do not link package testing.
package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/dcskit/dcskit/dcs"
	"github.com/dcskit/dcskit/server"
)

// New starts a fake with opts on a free loopback port and shuts it down
// when the test ends; a request still delayed by a fault is cut off after
// a few seconds rather than waited for.
func New(tb testing.TB, opts server.Options) *server.Server {
	tb.Helper()
	s, err := server.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// OneOfEach is an instance of projectID in each status of each engine.
func OneOfEach(projectID string) []server.Instance {
	var out []server.Instance
	for _, e := range dcs.Engines() {
		for _, st := range dcs.Statuses() {
			out = append(out, server.Instance{ProjectID: projectID, Engine: e, Status: st})
		}
	}
	return out
}
