// Package containers starts PostgreSQL, MariaDB and Redis as Docker containers through
// testcontainers-go, for machines with a Docker engine and without the servers installed. It
// is the container counterpart of package infra/local: StartEnv starts the services a run
// wants and returns their URLs and a *Container for each, which faults kill (SIGKILL), pause
// (the cgroup freezer: connections hang), resume and restart through the Docker API. Each
// container publishes its port on a fixed loopback port chosen when it starts, so that a
// restarted service comes back at the same address and the server's DSN stays valid.
//
// Without a Docker engine StartEnv fails at once with an error wrapping ErrNoDocker that says
// what was looked for (DOCKER_HOST, the usual sockets); Available makes the same check, so
// callers and tests can decide before anything is started. testcontainers-go itself is only
// called once an engine answers.
//
// docker.go is the engine check, container.go the handle faults act on, env.go the set of
// services started together.
package containers
