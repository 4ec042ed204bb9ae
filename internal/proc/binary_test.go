package proc_test

import (
	"os"
	"path/filepath"
	"testing"

	"stampede/internal/proc"
)

func TestFindBinaryPrefersPathThenNewestVersion(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mk("lib/9.6/bin/initdb", 0o755)
	want := mk("lib/15/bin/initdb", 0o755)
	mk("lib/16/bin/initdb", 0o644) // not executable: skipped
	inPath := mk("path/initdb", 0o755)
	search := []string{filepath.Join(root, "lib/*/bin")}

	tests := []struct {
		name string
		path string
		want string
	}{
		{"PATH first", filepath.Join(root, "path"), inPath},
		{"then the highest executable version", filepath.Join(root, "nothing"), want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			got, err := proc.FindBinary("initdb", "postgresql", search...)
			if err != nil || got != tt.want {
				t.Errorf("FindBinary = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
