package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stampede/internal/testsvc"
	"stampede/server"
)

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"addr": "STAMPEDE_ADDR", "hold-ttl": "STAMPEDE_HOLD_TTL", "allow-unsafe": "STAMPEDE_ALLOW_UNSAFE", "key-prefix": "STAMPEDE_KEY_PREFIX",
	} {
		if got := server.EnvName(flagName); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

func TestServeMainRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown strategy", args: []string{"--strategy", "optimistic", "--db", "postgres://x/y"}, want: `strategy "optimistic": unknown`},
		{name: "unsafe", args: []string{"--strategy", "naive", "--db", "postgres://x/y"}, want: "--allow-unsafe"},
		{name: "unknown strategy from env", env: map[string]string{"STAMPEDE_STRATEGY": "nope", "STAMPEDE_DB": "postgres://x/y"}, want: `strategy "nope": unknown`},
		{name: "unknown strategy from serve's own env", env: map[string]string{"STAMPEDE_STRATEGY": "pessimistic", "STAMPEDE_SERVE_STRATEGY": "nope", "STAMPEDE_DB": "postgres://x/y"},
			want: `strategy "nope": unknown`},
		{name: "redis-lock without redis", args: []string{"--strategy", "redis-lock", "--db", "postgres://x/y"}, want: "keeps its holds in Redis: give --redis"},
		{name: "a bad value from env", env: map[string]string{"STAMPEDE_HOLD_TTL": "ten minutes"}, want: `STAMPEDE_HOLD_TTL="ten minutes"`},
		{name: "no db", args: []string{"--strategy", "pessimistic"}, want: "db: required"},
		{name: "stray argument", args: []string{"--strategy", "pessimistic", "extra"}, want: `unexpected argument "extra"`},
		{name: "negative freshness", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y", "--seatmap-freshness", "-1s"}, want: "seatmap-freshness"},
		{name: "negative budget from env", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y"}, env: map[string]string{"STAMPEDE_MAX_IN_FLIGHT": "-5"}, want: "max-in-flight"},
		{name: "negative queue length", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y", "--max-queue-length", "-1"}, want: "max-queue-length: must not be negative"},
		{name: "negative streams per session from env", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y"}, env: map[string]string{"STAMPEDE_MAX_STREAMS_PER_SESSION": "-2"}, want: "max-streams-per-session: must not be negative"},
		{name: "bad log level", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y", "--log-level", "loud"}, want: "log-level"},
		{name: "every interface without a token", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y", "--addr", "0.0.0.0:0"}, want: "give --admin-token"},
		{name: "a short token from env", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y"}, env: map[string]string{"STAMPEDE_ADMIN_TOKEN": "abc"}, want: "admin-token: at least 16"},
		{name: "processor beside it on every interface", args: []string{"--strategy", "pessimistic", "--db", "postgres://x/y", "--with-psp", "0.0.0.0:0"}, want: "with-psp: addr 0.0.0.0:0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.env, append([]string{"serve"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("serve %v exited %d (%s), want 2 and a message containing %q", tc.args, code, stderr, tc.want)
			}
		})
	}
	if code, _, _ := runCLI(t, nil, "serve", "--no-such-flag"); code != 2 {
		t.Errorf("serve --no-such-flag exited %d, want 2", code)
	}
}

// TestServeBinary builds stampede, runs `stampede serve` configured through STAMPEDE_*
// variables on a free port, reads the address it prints, checks /healthz, and stops it with
// SIGTERM.
func TestServeBinary(t *testing.T) {
	dsn := testsvc.PG(t)
	bin := filepath.Join(t.TempDir(), "stampede")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	byFlag, byEnv := server.DefaultOptions(), server.DefaultOptions()
	byFlag.Addr = "127.0.0.1:0"
	byEnv.Strategy, byEnv.DB, byEnv.HoldTTL, byEnv.Addr = "pessimistic", dsn, 45*time.Second, "127.0.0.1:1"
	cmd := exec.Command(bin, append([]string{"serve"}, byFlag.Args()...)...)
	cmd.Env = append(os.Environ(), byEnv.Env()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stampede serve: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- addr
			}
		}
		close(lines)
	}()
	var addr string
	select {
	case a, ok := <-lines:
		if !ok {
			t.Fatalf("stampede serve exited without listening; stderr:\n%s", stderr.String())
		}
		addr = a
	case <-time.After(60 * time.Second):
		t.Fatalf("stampede serve printed no address in 60s; stderr:\n%s", stderr.String())
	}
	if strings.HasSuffix(addr, ":1") || strings.HasSuffix(addr, ":0") {
		t.Errorf("listening on %s: want the real port picked for --addr 127.0.0.1:0 (the flag wins over STAMPEDE_ADDR)", addr)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"strategy":"pessimistic"`) {
		t.Errorf("GET /healthz = %d %s, want 200 from the pessimistic strategy", resp.StatusCode, body)
	}
	if !strings.Contains(stderr.String(), "hold_ttl=45s") {
		t.Errorf("log %q: want hold_ttl=45s from STAMPEDE_HOLD_TTL", stderr.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stampede serve after SIGTERM: %v, want exit status 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("stampede serve did not stop within 30s of SIGTERM")
	}
}

// lockedBuffer is a bytes.Buffer that a child's output copier and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPSPRefusesOpenAdmin: the processor refuses to listen beyond loopback without an admin
// token, and refuses a token too short to be one.
func TestPSPRefusesOpenAdmin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--addr", "0.0.0.0:0"}, nil, "give --admin-token"},
		{[]string{"--addr", "127.0.0.1:0"}, map[string]string{"STAMPEDE_PSP_ADMIN_TOKEN": "short"}, "admin-token: at least 16"},
	} {
		code, _, stderr := runCLI(t, tc.env, append([]string{"psp"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("psp %v (env %v) exited %d (%s), want 2 and a message containing %q", tc.args, tc.env, code, stderr, tc.want)
		}
	}
}
