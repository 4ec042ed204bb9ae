package checker

import (
	"os"
	"strconv"
	"testing"
)

// TestWriteStadiumHistory writes the history `make bench-checker` checks: a simulated herd of
// STAMPEDE_STADIUM_OPS operations (ten million by default there) over benchSeats seats, to
// STAMPEDE_STADIUM_OUT, unless that file is already there. Without those variables it is
// skipped: it is a step of the benchmark, not a test.
func TestWriteStadiumHistory(t *testing.T) {
	path, n := os.Getenv("STAMPEDE_STADIUM_OUT"), os.Getenv("STAMPEDE_STADIUM_OPS")
	if path == "" || n == "" {
		t.Skip("STAMPEDE_STADIUM_OUT and STAMPEDE_STADIUM_OPS unset: make bench-checker sets them")
	}
	ops, err := strconv.Atoi(n)
	if err != nil || ops <= 0 {
		t.Fatalf("STAMPEDE_STADIUM_OPS=%q: want a positive number of operations", n)
	}
	if _, err := os.Stat(path); err == nil {
		t.Logf("%s exists; remove it to write it again", path)
		return
	}
	tmp := path + ".tmp"
	if err := writeSim(tmp, defaultSim(benchSeats, ops, 42)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d operations to %s", ops, path)
}
