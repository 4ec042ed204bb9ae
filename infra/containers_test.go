package infra

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"stampede/infra/containers"
)

func TestContainersWithoutDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	s, err := Containers(context.Background(), Want{Postgres: true, Redis: true})
	if s != nil || !errors.Is(err, containers.ErrNoDocker) {
		t.Fatalf("Containers without an engine = %v, %v; want containers.ErrNoDocker", s, err)
	}
}
