//go:build drill

// Package drill is run by scripts/drill.sh, in a copy of the tree whose
// spec has one more status, deleting_count, and nothing else changed by
// hand. It drives the built binary ($DCSKIT_BIN) as a user would and
// checks that every command knows the new status.
package drill

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const project = "drill-project"

func bin(t *testing.T) string {
	t.Helper()
	b := os.Getenv("DCSKIT_BIN")
	if b == "" {
		t.Fatal("DCSKIT_BIN is not set: run scripts/drill.sh")
	}
	return b
}

// start runs a long-lived command and returns the first line it prints.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin(t), args...)
	cmd.Env = append(os.Environ(), "HUAWEICLOUD_SDK_AK=AK", "HUAWEICLOUD_SDK_SK=SK")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.TrimSpace(line)
}

// run runs a command to its end.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin(t), args...)
	cmd.Env = append(os.Environ(), "HUAWEICLOUD_SDK_AK=AK", "HUAWEICLOUD_SDK_SK=SK")
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return o.String(), e.String(), code
}

func TestDrill(t *testing.T) {
	fixture := filepath.Join(t.TempDir(), "fixture.json")
	require.NoError(t, os.WriteFile(fixture, []byte(`{"instances":[
		{"project_id":"`+project+`","engine":"Redis","status":"DELETING","count":2},
		{"project_id":"`+project+`","engine":"Memcached","status":"RUNNING"}]}`), 0o644))

	url := start(t, "serve", "--addr", "127.0.0.1:0", "--fixture", fixture)
	require.True(t, strings.HasPrefix(url, "http://"), url)
	conn := []string{"--endpoint", url, "--project-id", project}

	t.Run("status --all shows DELETING", func(t *testing.T) {
		out, errOut, code := run(t, append([]string{"status", "--all"}, conn...)...)
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `(?m)^DELETING\s+2\s+0\s+2\s*$`, out)
	})

	t.Run("status -o json has deleting_count", func(t *testing.T) {
		out, errOut, code := run(t, append([]string{"status", "-o", "json"}, conn...)...)
		require.Equal(t, 0, code, errOut)
		var body struct {
			Deleting int `json:"deleting_count"`
			Redis    struct {
				Deleting int `json:"deleting_count"`
			} `json:"redis"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &body), out)
		assert.Equal(t, 2, body.Deleting)
		assert.Equal(t, 2, body.Redis.Deleting)
	})

	t.Run("the exporter publishes status=deleting", func(t *testing.T) {
		metrics := start(t, append([]string{"exporter", "--listen", "127.0.0.1:0", "--min-interval", "0"}, conn...)...)
		resp, err := http.Get(metrics)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Contains(t, string(body), `huaweicloud_dcs_instances{engine="redis",project_id="`+project+`",region="cn-north-4",status="deleting"} 2`)
		assert.Contains(t, string(body), `huaweicloud_dcs_transitional_instances{engine="redis",project_id="`+project+`",region="cn-north-4"} 2`)
	})

	t.Run("wait keeps waiting while one is DELETING", func(t *testing.T) {
		_, errOut, code := run(t, append([]string{"wait", "--interval", "200ms", "--timeout", "1s"}, conn...)...)
		assert.Equal(t, 1, code, errOut)
		assert.Contains(t, errOut, "deleting 2")
		assert.Contains(t, errOut, "timed out", "it waited until the timeout")
	})

	t.Run("the admin API accepts DELETING", func(t *testing.T) {
		resp, err := http.Post(url+"/_fake/instances", "application/json", strings.NewReader(
			`{"instances":[{"project_id":"`+project+`","engine":"Memcached","status":"DELETING"}]}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		out, errOut, code := run(t, append([]string{"status"}, conn...)...)
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `(?m)^DELETING\s+2\s+1\s+3\s*$`, out)
	})
}
