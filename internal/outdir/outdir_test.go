package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name  string
		files []string // created under the directory first; nil: the directory does not exist
		force bool
		want  string // a part of the error; empty: none, and the directory is empty afterwards
	}{
		{"missing", nil, false, ""},
		{"empty", []string{}, false, ""},
		{"an earlier run", []string{"summary.json", "skip-locked-postgres/server.log"}, false, "is not empty (it holds skip-locked-postgres/, summary.json): choose another, or --force"},
		{"an earlier run, forced", []string{"summary.json", "report.md", "skip-locked-postgres/server.log"}, true, ""},
		{"an interrupted run, forced", []string{"pessimistic-mysql/history.jsonl"}, true, ""},
		{"a drive's directory, forced", []string{"history.jsonl", "ledger.json"}, true, ""},
		{"something else, forced", []string{"main.go", "go.mod"}, true, "holds no stampede run (go.mod, main.go)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if tt.files != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.files {
				write(t, filepath.Join(dir, f))
			}
			err := Prepare(dir, tt.force)
			if tt.want != "" {
				if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Prepare(%v, force %v) = %v, want ErrNotEmpty saying %q", tt.files, tt.force, err, tt.want)
				}
				if left, _ := os.ReadDir(dir); len(left) == 0 {
					t.Errorf("Prepare refused, yet emptied the directory")
				}
				return
			}
			if err != nil {
				t.Fatalf("Prepare(%v, force %v) = %v", tt.files, tt.force, err)
			}
			if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
				t.Errorf("after Prepare the directory holds %v (%v), want it empty", left, err)
			}
		})
	}
}
