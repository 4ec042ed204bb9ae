package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSelftestUsage: bad flags and arguments of stampede selftest exit 2 naming what is wrong,
// before anything runs.
func TestSelftestUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"selftest", "--seeds", "0", "--out", out}, "--seeds: 0"},
		{[]string{"selftest", "--strategy", "no-such", "--out", out}, `strategy "no-such": unknown`},
		{[]string{"selftest", "no/such/scenario.yaml", "--out", out}, "no/such/scenario.yaml"},
		{[]string{"selftest", "--target", "http://127.0.0.1:1", "--out", out}, "not a target"},
		{[]string{"selftest", "--parallel", "-1", "--out", out}, "--parallel: -1"},
		{[]string{"selftest", "--env", "external", "--pg", "postgres://127.0.0.1:1/x", "--parallel", "2", "--out", out}, "parallel: 2"},
	} {
		code, _, stderr := runCLI(t, nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("stampede %v exited %d (%s), want 2 naming %q", tc.args, code, stderr, tc.want)
		}
	}
}
