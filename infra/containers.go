package infra

import (
	"context"

	"stampede/infra/containers"
	"stampede/sut"
)

// Containers starts the wanted services as Docker containers through testcontainers-go (see
// package infra/containers), each published on a free loopback port. Their targets are
// *containers.Container values: they can be killed, paused, resumed and restarted at the same
// address through the Docker API. Close removes the containers. Without a Docker engine it
// fails at once with an error wrapping containers.ErrNoDocker that says what was looked for.
func Containers(ctx context.Context, want Want, opts ...containers.Option) (*Services, error) {
	env, err := containers.StartEnv(ctx, containers.Want(want), opts...)
	if err != nil {
		return nil, err
	}
	return services(env.PostgresURL, env.Postgres, env.MySQLDSN, env.MySQL, env.RedisURL, env.Redis, env.Close), nil
}

var (
	_ sut.Service   = (*containers.Container)(nil)
	_ sut.Killer    = (*containers.Container)(nil)
	_ sut.Pauser    = (*containers.Container)(nil)
	_ sut.Restarter = (*containers.Container)(nil)
)
