package proc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"stampede/internal/proc"
)

func TestStartRedisMissingBinary(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	_, err := proc.StartRedisIn(context.Background(), t.TempDir(), []string{empty, empty + "/*/bin"})
	var mb *proc.MissingBinaryError
	if !errors.As(err, &mb) {
		t.Fatalf("start with an empty PATH returned %v, want a *MissingBinaryError", err)
	}
	if mb.Binary != "redis-server" || mb.Package != "redis-server" {
		t.Errorf("MissingBinaryError = {%s %s}, want {redis-server redis-server}", mb.Binary, mb.Package)
	}
	if !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Errorf("error %q does not say apt-get install redis-server", err)
	}
}
