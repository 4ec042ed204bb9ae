// Package infra says where a run's backing services come from, and gives faults their handles.
//
// Three providers build a Services value: Local starts ephemeral PostgreSQL, MariaDB and Redis
// processes from the binaries installed on the machine (package infra/local), Containers starts
// them as Docker containers through testcontainers-go (package infra/containers; it fails at
// once, with containers.ErrNoDocker, where no engine runs), and External takes URLs and DSNs
// from flags or the environment (STAMPEDE_PG, STAMPEDE_MYSQL,
// STAMPEDE_REDIS, and STAMPEDE_TARGET for a booking system under test that is not the
// reference server). Each service in use is a sut.Service; what a fault may do to it is found
// by type assertion on package sut's capability interfaces (Killer, Pauser, Restarter), and
// sut.Kill, Pause, Resume and Restart return sut.ErrUnsupported when the service cannot.
//
// The repository's docker-compose.yml and Dockerfile describe the same services for people
// with a Docker engine; compose_test.go keeps them in line with what the server reads.
package infra
