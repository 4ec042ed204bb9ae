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
	s := &Services{
		PostgresURL: env.PostgresURL,
		MySQLDSN:    env.MySQLDSN,
		RedisURL:    env.RedisURL,
		closeFn:     env.Close,
	}
	// Only started processes go into the interface fields: a nil *local.Process in a
	// sut.Service would not compare equal to nil.
	if env.Postgres != nil {
		s.Postgres = env.Postgres
	}
	if env.MySQL != nil {
		s.MySQL = env.MySQL
	}
	if env.Redis != nil {
		s.Redis = env.Redis
	}
	return s, nil
}

var (
	_ sut.Service   = (*local.Process)(nil)
	_ sut.Killer    = (*local.Process)(nil)
	_ sut.Pauser    = (*local.Process)(nil)
	_ sut.Restarter = (*local.Process)(nil)
)
