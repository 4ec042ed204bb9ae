package envflag

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	tests := []struct {
		command, flag string
		want          []string
	}{
		{"serve", "hold-ttl", []string{"STAMPEDE_SERVE_HOLD_TTL", "STAMPEDE_HOLD_TTL"}},
		{"psp", "addr", []string{"STAMPEDE_PSP_ADDR", "STAMPEDE_ADDR"}},
		{"drive plan", "users", []string{"STAMPEDE_DRIVE_PLAN_USERS", "STAMPEDE_USERS"}},
		{"", "allow-unsafe", []string{"STAMPEDE_ALLOW_UNSAFE"}},
	}
	for _, tt := range tests {
		if got := Names(tt.command, tt.flag); !slices.Equal(got, tt.want) {
			t.Errorf("Names(%q, %q) = %q, want %q", tt.command, tt.flag, got, tt.want)
		}
	}
}

func TestApply(t *testing.T) {
	newFS := func() (*flag.FlagSet, *string, *time.Duration, *bool, *int64) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return fs, fs.String("strategy", "", ""), fs.Duration("hold-ttl", 0, ""), fs.Bool("allow-unsafe", false, ""), fs.Int64("seed", 1, "")
	}
	env := map[string]string{
		"STAMPEDE_STRATEGY": "skip-locked", "STAMPEDE_HOLD_TTL": "30s", "STAMPEDE_ALLOW_UNSAFE": "true",
		"STAMPEDE_SEED": "7", "STAMPEDE_SERVE_SEED": "9", "STAMPEDE_SERVE_HOLD_TTL": "",
	}
	fs, strategy, ttl, unsafe, seed := newFS()
	if err := fs.Parse([]string{"--strategy", "pessimistic"}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, "serve", func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if *strategy != "pessimistic" || *ttl != 30*time.Second || !*unsafe || *seed != 9 {
		t.Errorf("after Apply: strategy %q hold-ttl %s allow-unsafe %v seed %d; want the flag's pessimistic, the shared 30s and true (the scoped variable is empty), the scoped 9",
			*strategy, *ttl, *unsafe, *seed)
	}

	fs, _, _, _, _ = newFS()
	_ = fs.Parse(nil)
	err := Apply(fs, "run", func(k string) string {
		if k == "STAMPEDE_RUN_HOLD_TTL" {
			return "ten minutes"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "STAMPEDE_RUN_HOLD_TTL") {
		t.Errorf("Apply with a bad duration = %v, want an error naming STAMPEDE_RUN_HOLD_TTL", err)
	}
}
