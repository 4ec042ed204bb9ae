package main

import (
	"os"
	"testing"
)

// TestSubcommandFlags: every subcommand that takes flags exits 0 on -h (after printing its
// usage) and 2 on a flag it does not know.
func TestSubcommandFlags(t *testing.T) {
	// The usage goes to stderr; keep the test output clean.
	stderr := os.Stderr
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	os.Stderr = devnull
	t.Cleanup(func() { os.Stderr = stderr; devnull.Close() })
	for _, cmd := range []string{"serve", "psp", "drive", "check", "run", "report", "compare"} {
		if got := realMain([]string{cmd, "-h"}); got != 0 {
			t.Errorf("stampede %s -h exited %d, want 0", cmd, got)
		}
		if got := realMain([]string{cmd, "--no-such-flag"}); got != 2 {
			t.Errorf("stampede %s --no-such-flag exited %d, want 2", cmd, got)
		}
	}
}
