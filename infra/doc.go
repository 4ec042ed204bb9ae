// Package infra says where a run's backing services come from: local processes started from
// installed binaries (infra/local, the default), external DSNs given by flag or environment
// (STAMPEDE_PG, STAMPEDE_MYSQL, STAMPEDE_REDIS, STAMPEDE_TARGET), testcontainers where a Docker
// engine is reachable, or the repository's docker-compose.yml.
package infra
