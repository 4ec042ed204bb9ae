package containers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" driver of MariaDB's readiness check
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of PostgreSQL's readiness check
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcmysql "github.com/testcontainers/testcontainers-go/modules/mysql"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"

	"stampede/internal/proc"
)

// Want says which services an Env starts. The zero value starts nothing.
type Want struct {
	Postgres bool
	MySQL    bool
	Redis    bool
}

// Images of the services, the same as docker-compose.yml's.
const (
	DefaultPostgresImage = "postgres:15"
	DefaultMySQLImage    = "mariadb:10.11"
	DefaultRedisImage    = "redis:7"
)

// startupTimeout bounds how long a service may take to answer after its container starts
// (an image pull comes before it and is not bounded here).
const startupTimeout = 2 * time.Minute

type config struct {
	postgres, mysql, redis string
}

// Option changes how StartEnv starts the services.
type Option func(*config)

// WithPostgresImage runs PostgreSQL from image (default DefaultPostgresImage).
func WithPostgresImage(image string) Option { return func(c *config) { c.postgres = image } }

// WithMySQLImage runs MySQL or MariaDB from image (default DefaultMySQLImage).
func WithMySQLImage(image string) Option { return func(c *config) { c.mysql = image } }

// WithRedisImage runs Redis from image (default DefaultRedisImage).
func WithRedisImage(image string) Option { return func(c *config) { c.redis = image } }

// Env is a set of service containers started together: what one run asks for. The fields of
// a service that was not wanted are nil and empty. Close removes every container.
type Env struct {
	Postgres    *Container
	PostgresURL string // postgres://postgres:stampede@127.0.0.1:PORT/stampede?sslmode=disable

	MySQL    *Container // MariaDB, or MySQL with WithMySQLImage
	MySQLDSN string     // mysql://root@tcp(127.0.0.1:PORT)/stampede

	Redis    *Container
	RedisURL string // redis://127.0.0.1:PORT/0

	docker    *testcontainers.DockerClient
	closeOnce sync.Once
	closeErr  error
}

// StartEnv starts the wanted services as containers, concurrently, each published on a free
// loopback port. Without a Docker engine it fails at once with an error wrapping ErrNoDocker
// (see Available), before testcontainers-go is called. When any service fails to start, the
// others are removed and the errors returned joined.
func StartEnv(ctx context.Context, want Want, opts ...Option) (*Env, error) {
	if !want.Postgres && !want.MySQL && !want.Redis {
		return nil, errors.New("start service containers: none wanted")
	}
	if err := Available(); err != nil {
		return nil, fmt.Errorf("start service containers: %w", err)
	}
	cfg := config{postgres: DefaultPostgresImage, mysql: DefaultMySQLImage, redis: DefaultRedisImage}
	for _, o := range opts {
		o(&cfg)
	}
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("start service containers: %w: %w", ErrNoDocker, err)
	}
	e := &Env{docker: docker}
	var jobs []func() error
	if want.Postgres {
		jobs = append(jobs, func() (err error) {
			e.Postgres, e.PostgresURL, err = e.startPostgres(ctx, cfg.postgres)
			return err
		})
	}
	if want.MySQL {
		jobs = append(jobs, func() (err error) {
			e.MySQL, e.MySQLDSN, err = e.startMySQL(ctx, cfg.mysql)
			return err
		})
	}
	if want.Redis {
		jobs = append(jobs, func() (err error) {
			e.Redis, e.RedisURL, err = e.startRedis(ctx, cfg.redis)
			return err
		})
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() { errs[i] = job() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("start service containers: %w", errors.Join(err, e.Close()))
	}
	return e, nil
}

// Containers returns the started containers, PostgreSQL, MySQL, Redis in that order, skipping
// those not wanted.
func (e *Env) Containers() []*Container {
	var out []*Container
	for _, c := range []*Container{e.Postgres, e.MySQL, e.Redis} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// Close removes every container with its volumes. It is safe to call more than once and from
// several goroutines; later calls return the first result.
func (e *Env) Close() error {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var errs []error
		for _, c := range e.Containers() {
			errs = append(errs, c.terminate(ctx))
		}
		if e.docker != nil {
			errs = append(errs, e.docker.Close())
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// publish binds the container's port to a free loopback port of this machine, fixed for the
// container's life, so that a restart keeps its address. (With a remote engine in DOCKER_HOST
// the port is free here, not necessarily there.)
func publish(containerPort string) (int, testcontainers.CustomizeRequestOption, error) {
	port, err := proc.FreePort()
	if err != nil {
		return 0, nil, err
	}
	p := network.MustParsePort(containerPort)
	return port, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.PortBindings = network.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port)}}}
	}), nil
}

// handle wraps a started container, which the module returns even when starting it failed
// (so that it can be removed).
func (e *Env) handle(name string, port int, c testcontainers.Container) *Container {
	return &Container{name: name, host: "127.0.0.1", port: port, c: c, docker: e.docker}
}

// fail removes a container that did not start and returns err naming the service.
func fail(name string, c testcontainers.Container, err error) error {
	if c != nil {
		err = errors.Join(err, testcontainers.TerminateContainer(c))
	}
	return fmt.Errorf("start %s: %w", name, err)
}

func (e *Env) startPostgres(ctx context.Context, image string) (*Container, string, error) {
	port, bind, err := publish("5432/tcp")
	if err != nil {
		return nil, "", err
	}
	url := fmt.Sprintf("postgres://postgres:stampede@127.0.0.1:%d/stampede?sslmode=disable", port)
	c, err := tcpostgres.Run(ctx, image,
		tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("stampede"), tcpostgres.WithDatabase("stampede"),
		testcontainers.WithCmd("postgres", "-c", "fsync=off", "-c", "max_connections=300"),
		bind,
		// Over TCP only: the image's initialisation runs a server on the unix socket alone, so
		// the first answer comes from the real one. It runs again after every restart.
		testcontainers.WithWaitStrategy(wait.ForSQL("5432/tcp", "pgx", func(host string, p network.Port) string {
			return fmt.Sprintf("postgres://postgres:stampede@%s:%d/stampede?sslmode=disable", host, p.Num())
		}).WithStartupTimeout(startupTimeout)),
	)
	if err != nil {
		return nil, "", fail("postgres", c, err)
	}
	return e.handle("postgres", port, c), url, nil
}

func (e *Env) startMySQL(ctx context.Context, image string) (*Container, string, error) {
	port, bind, err := publish("3306/tcp")
	if err != nil {
		return nil, "", err
	}
	dsn := fmt.Sprintf("mysql://root@tcp(127.0.0.1:%d)/stampede", port)
	c, err := tcmysql.Run(ctx, image,
		tcmysql.WithUsername("root"), tcmysql.WithPassword(""), tcmysql.WithDatabase("stampede"),
		testcontainers.WithCmd("--max-connections=500", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"),
		bind,
		// The module waits for MySQL's own log line, which MariaDB does not print: ask over
		// SQL instead (the initialisation server does not listen on TCP).
		testcontainers.WithWaitStrategy(wait.ForSQL("3306/tcp", "mysql", func(host string, p network.Port) string {
			return fmt.Sprintf("root@tcp(%s:%d)/stampede", host, p.Num())
		}).WithStartupTimeout(startupTimeout)),
	)
	name := "mariadb"
	if image != DefaultMySQLImage {
		name = "mysql"
	}
	if err != nil {
		return nil, "", fail(name, c, err)
	}
	return e.handle(name, port, c), dsn, nil
}

func (e *Env) startRedis(ctx context.Context, image string) (*Container, string, error) {
	port, bind, err := publish("6379/tcp")
	if err != nil {
		return nil, "", err
	}
	c, err := tcredis.Run(ctx, image,
		testcontainers.WithCmd("redis-server", "--save", "", "--appendonly", "no", "--maxclients", "10000"),
		bind,
		// The module also waits for a log line, which an earlier start's log would satisfy
		// at once after a restart; the port alone is enough for a Redis without persistence.
		testcontainers.WithWaitStrategy(wait.ForListeningPort("6379/tcp").WithStartupTimeout(startupTimeout)),
	)
	if err != nil {
		return nil, "", fail("redis", c, err)
	}
	return e.handle("redis", port, c), fmt.Sprintf("redis://127.0.0.1:%d/0", port), nil
}
