package proc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NewProcess describes a program of stampede's own (the reference server, run as a child
// process so chaos can kill it) that runs like a service: in its own process group, dying with
// stampede, restartable on the same port. bin is looked up in PATH unless it is a path. ready
// reports when a fresh start accepts work. Nothing runs until Start.
func NewProcess(name, bin string, args []string, env []string, port int, logPath string, ready func(ctx context.Context) error) (*Process, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return New(Config{Name: name, Bin: path, Args: args, Env: env, Port: port, Log: logPath, Ready: ready}), nil
}

// RunLogged runs a set-up command (initdb, mariadb-install-db) to its end, in dir, with its
// output in logPath, as cred when set, and returns an error with the log's tail when it
// fails. It dies with stampede, as services do.
func RunLogged(ctx context.Context, logPath, dir string, cred *syscall.Credential, env []string, bin string, args ...string) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w; see %s%s", filepath.Base(bin), err, logPath, logTail(logPath))
	}
	return nil
}

// Running reports whether the process is started and has not exited (it may have crashed on
// its own, as a server does at a crash failpoint).
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Exited returns an error saying how the process ended, with the end of its log, when it
// exited on its own (it crashed, or killed itself at a crash failpoint and was not started
// again); nil while it runs, and after Kill, Stop or Restart.
func (p *Process) Exited() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
	default:
		return nil
	}
	return fmt.Errorf("%s (pid %d) exited on its own (%s); see %s%s", p.name, cmd.Process.Pid, exitText(cmd, nil), p.log, logTail(p.log))
}

// HTTPReady is a readiness check for NewProcess: ready once GET url answers 200 (a server's
// /healthz).
func HTTPReady(url string) func(context.Context) error {
	c := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		status, err := get(ctx, c, url)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", url, status, http.StatusText(status))
		}
		return nil
	}
}

// get sends GET url with c and returns the answer's status, its body read and closed.
func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// serverAnswerTimeout bounds each poll of ServerAnswers: longer than the reference server's
// own bound on a /healthz dependency check (2 s), so that a check that waited for a pooled
// connection still reaches the poll.
const serverAnswerTimeout = 10 * time.Second

// ServerAnswers is a readiness check for a server that listens only once its dependencies
// answered at start (the reference server: database, migrations and Redis first): ready once
// GET url gets an HTTP answer, of any status. A 503 from /healthz while a herd keeps the
// server's pool busy (right after a crash and restart under load, when every client retries at
// once) says the pool is busy, not that the server is down; waiting for a 200 there timed the
// restart out.
func ServerAnswers(url string) func(context.Context) error {
	c := &http.Client{Timeout: serverAnswerTimeout}
	return func(ctx context.Context) error {
		_, err := get(ctx, c, url)
		return err
	}
}

// EnvWithout is this process's environment without the variables whose names start with
// prefix: a child given it reads only the configuration passed on its command line.
func EnvWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}
