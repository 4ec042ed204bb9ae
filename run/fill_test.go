package run

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stampede/workloads"
)

// TestSeriesCountsErrors: each second of the report's series keeps the metrics' error count,
// so that the report tells refused requests from errors.
func TestSeriesCountsErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	var lines []byte
	for _, m := range []workloads.MetricsLine{
		{T: 10.4, Requests: 50, Ok: 30, Fail: 18, Info: 2, Errors: 5, Ops: map[string]workloads.OpWindow{"hold": {Ok: 12, P50: 3, P99Intended: 40}}},
		{T: 11.4, Requests: 40, Ok: 40},
	} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, b...), '\n')
	}
	if err := os.WriteFile(path, lines, 0o644); err != nil {
		t.Fatal(err)
	}
	pts := series(path, 10*time.Second)
	if len(pts) != 2 {
		t.Fatalf("series = %+v, want two seconds", pts)
	}
	if p := pts[0]; p.T != 0 || p.Fail != 18 || p.Info != 2 || p.Errors != 5 || p.Holds != 12 || p.P99 != 40 {
		t.Errorf("first second = %+v, want t 0, 18 fails, 2 info, 5 errors, 12 holds, p99 40 ms", p)
	}
	if p := pts[1]; p.Errors != 0 || p.Ok != 40 {
		t.Errorf("second second = %+v, want 40 ok and no errors", p)
	}
}
