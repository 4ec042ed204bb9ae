package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapacityCommandUsage: -h exits 0, a flag or a value it does not know exits 2 with the
// reason, and input it cannot search (a budget too small for one step, a scenario without
// SLOs) exits 2 before anything is written.
func TestCapacityCommandUsage(t *testing.T) {
	noSLO := filepath.Join(t.TempDir(), "noslo.yaml")
	if err := os.WriteFile(noSLO, []byte("name: noslo\ninventory: {events: 1, sections: 1, rows: 1, seats_per_row: 4}\n"+
		"arrivals: {profile: constant, rate: 5/s, duration: 2s}\nusers: [{flow: browse, weight: 1}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "stampede capacity [scenario.yaml] [flags]"},
		{"unknown flag", []string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{"two scenarios", []string{"a.yaml", "b.yaml"}, 2, "one scenario file at most"},
		{"precision", []string{"--precision", "ten"}, 2, "--precision"},
		{"min", []string{"--min", "fast"}, 2, "--min"},
		{"over without expect", []string{"--over", "10m"}, 2, "--over needs --expect"},
		{"budget too small", []string{"../../scenarios/capacity.yaml", "--strategy", "skip-locked", "--db", "postgres", "--budget", "10s"}, 2,
			"budget too small for one step"},
		{"no SLOs", []string{noSLO, "--strategy", "skip-locked", "--db", "postgres"}, 2, "no SLOs"},
		{"unsafe strategy", []string{"../../scenarios/capacity.yaml", "--strategy", "naive", "--db", "postgres"}, 2, "--allow-unsafe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runCLI(t, nil, append([]string{"capacity"}, append(tc.args, "--out", out)...)...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("stampede capacity %q exited %d with %q; want %d and %q", tc.args, code, stdout+stderr, tc.code, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stampede capacity %q wrote %s", tc.args, out)
			}
		})
	}
}
