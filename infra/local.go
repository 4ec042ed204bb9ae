package infra

import (
	"context"

	"stampede/infra/local"
	"stampede/sut"
)

// Want says which services a run needs from the local provider.
type Want struct {
	Postgres bool
	MySQL    bool
	Redis    bool
}

// Local starts the wanted services from the binaries installed on this machine (see package
// infra/local), in a new directory under dir (os.TempDir() when empty), on free loopback ports.
// Their services are *local.Process values: they can be killed, paused, resumed and restarted.
// Close kills them and removes the directory. A missing binary is a *local.MissingBinaryError
// naming the package to install.
func Local(ctx context.Context, dir string, want Want) (*Services, error) {
	env, err := local.StartEnv(ctx, dir, local.Want(want))
	if err != nil {
		return nil, err
	}
	return services(env.PostgresURL, env.Postgres, env.MySQLDSN, env.MySQL, env.RedisURL, env.Redis, env.Close), nil
}

var (
	_ sut.Service   = (*local.Process)(nil)
	_ sut.Killer    = (*local.Process)(nil)
	_ sut.Pauser    = (*local.Process)(nil)
	_ sut.Restarter = (*local.Process)(nil)
)
