package containers

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoDocker is wrapped by the error of StartEnv and Available when no Docker engine can be
// reached. Callers match it with errors.Is.
var ErrNoDocker = errors.New("no Docker engine")

// dialTimeout bounds the check that something listens on the engine's socket or address.
const dialTimeout = 2 * time.Second

// Available returns nil when a Docker engine answers on DOCKER_HOST (a unix:// socket or a
// tcp:// address), or, when DOCKER_HOST is not set, on one of the usual sockets (rootful,
// rootless, Docker Desktop). Otherwise it returns an error wrapping ErrNoDocker that names
// what it looked for. An ssh:// or npipe:// DOCKER_HOST is not checked: testcontainers-go is
// left to reach it.
func Available() error {
	return available(os.Getenv, defaultSockets())
}

// defaultSockets are where Docker engines put their socket when DOCKER_HOST is not set.
func defaultSockets() []string {
	socks := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, filepath.Join(d, "docker.sock"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		socks = append(socks, filepath.Join(h, ".docker", "run", "docker.sock"), filepath.Join(h, ".docker", "desktop", "docker.sock"))
	}
	return socks
}

func available(getenv func(string) string, sockets []string) error {
	host := getenv("DOCKER_HOST")
	if host == "" {
		var seen []string
		for _, s := range sockets {
			err := dial("unix", s)
			if err == nil {
				return nil
			}
			seen = append(seen, err.Error())
		}
		return fmt.Errorf("%w: DOCKER_HOST is not set and no engine answers on %s (testcontainers needs a running Docker engine, or another runtime with a Docker-compatible socket in DOCKER_HOST)",
			ErrNoDocker, strings.Join(seen, "; "))
	}
	u, err := url.Parse(host)
	if err != nil {
		return fmt.Errorf("%w: DOCKER_HOST=%s: %v", ErrNoDocker, host, err)
	}
	switch u.Scheme {
	case "unix":
		err = dial("unix", u.Path)
	case "tcp":
		err = dial("tcp", u.Host)
	case "ssh", "npipe":
		return nil
	default:
		err = fmt.Errorf("scheme %q: want unix://, tcp://, ssh:// or npipe://", u.Scheme)
	}
	if err != nil {
		return fmt.Errorf("%w: DOCKER_HOST=%s: %v", ErrNoDocker, host, err)
	}
	return nil
}

// dial connects to addr and hangs up, saying what it tried when nothing answers.
func dial(network, addr string) error {
	if network == "unix" {
		if _, err := os.Stat(addr); err != nil {
			return fmt.Errorf("%s: no socket", addr)
		}
	}
	c, err := net.DialTimeout(network, addr, dialTimeout)
	if err != nil {
		return fmt.Errorf("%s: %v", addr, err)
	}
	return c.Close()
}
