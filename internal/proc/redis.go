package proc

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// redisDirs are where redis-server lives outside PATH (Homebrew, source installs, sbin).
var redisDirs = []string{"/usr/local/bin", "/opt/homebrew/bin", "/usr/bin", "/usr/sbin", "/usr/local/sbin"}

// StartRedis starts an ephemeral redis-server on a free loopback port, keeping nothing on disk,
// with its files under dir/redis. Stop it with Kill or Stop; a restart comes back empty. A
// missing redis-server gives a *MissingBinaryError.
func StartRedis(ctx context.Context, dir string) (*Process, error) {
	return startRedis(ctx, dir, redisDirs)
}

func startRedis(ctx context.Context, dir string, search []string) (*Process, error) {
	bin, err := FindBinary("redis-server", "redis-server", search...)
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	rdir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	p := New(Config{
		Name: "redis",
		Bin:  bin,
		Args: []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
			"--dir", rdir, "--daemonize", "no", "--protected-mode", "no", "--maxclients", "10000"},
		Dir:  rdir,
		Port: port,
		Log:  filepath.Join(rdir, "redis.log"),
		Ready: func(ctx context.Context) error {
			return redisPing(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		},
	})
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// RedisURL is the redis:// URL (database 0) of a Redis process.
func RedisURL(p *Process) string { return "redis://" + p.Addr() + "/0" }

// redisPing speaks just enough RESP to see a PONG.
func redisPing(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
	}
	return nil
}
