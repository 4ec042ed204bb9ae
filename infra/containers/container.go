package containers

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Container is a service container this package started. It can be killed, paused, resumed
// and restarted at the same address, which is what chaos faults need; it is safe for
// concurrent use (each call is one request to the Docker engine).
type Container struct {
	name   string // the service: postgres, mariadb or redis
	host   string
	port   int
	c      testcontainers.Container
	docker client.APIClient
}

// Name is the service name: postgres, mariadb or redis.
func (c *Container) Name() string { return c.name }

// Addr is host:port where the service is published. It stays the same across restarts.
func (c *Container) Addr() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// ID is the Docker container id.
func (c *Container) ID() string { return c.c.GetContainerID() }

// Kill sends SIGKILL to the container's processes: the service stops at once, without a clean
// shutdown. The container stays, so Restart can start it again.
func (c *Container) Kill() error {
	if _, err := c.docker.ContainerKill(context.Background(), c.ID(), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		return fmt.Errorf("kill container %s: %w", c.name, err)
	}
	return nil
}

// Pause freezes every process of the container (the cgroup freezer): connections stay open and
// hang, as with SIGSTOP.
func (c *Container) Pause() error {
	if _, err := c.docker.ContainerPause(context.Background(), c.ID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause container %s: %w", c.name, err)
	}
	return nil
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if _, err := c.docker.ContainerUnpause(context.Background(), c.ID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("resume container %s: %w", c.name, err)
	}
	return nil
}

// Restart kills the container and starts it again on the same published port, waiting until
// the service answers again (its readiness check runs anew). PostgreSQL and MariaDB keep their
// data (crash recovery runs); Redis, which runs without persistence, comes back empty.
func (c *Container) Restart(ctx context.Context) error {
	if err := c.Kill(); err != nil {
		return err
	}
	if err := c.c.Start(ctx); err != nil {
		return fmt.Errorf("restart container %s: %w", c.name, err)
	}
	return nil
}

// terminate removes the container and its volumes.
func (c *Container) terminate(ctx context.Context) error {
	if err := c.c.Terminate(ctx); err != nil {
		return fmt.Errorf("remove container %s: %w", c.name, err)
	}
	return nil
}
