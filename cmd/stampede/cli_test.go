package main

import (
	"context"
	"encoding/json"
	"testing"
)

// runCLI runs one stampede command line in process, with env as its whole environment, and
// returns the exit status and what it printed.
func runCLI(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIContext(t, context.Background(), env, args...)
}

func runCLIContext(t testing.TB, ctx context.Context, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr lockedBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	code := c.main(ctx, args)
	return code, stdout.String(), stderr.String()
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
