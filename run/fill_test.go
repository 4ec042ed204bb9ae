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

// TestParsePoolStatsBeyondLastBucket: a wait longer than the histogram's last finite bucket
// (a pool starved for the whole of a herd) shows that bound as its maximum, never +Inf, so
// summary.json can still be written.
func TestParsePoolStatsBeyondLastBucket(t *testing.T) {
	text := `# TYPE stampede_db_pool_wait_seconds histogram
stampede_db_pool_wait_seconds_bucket{tag="hold",le="0.1"} 1
stampede_db_pool_wait_seconds_bucket{tag="hold",le="10"} 2
stampede_db_pool_wait_seconds_bucket{tag="hold",le="+Inf"} 5
stampede_db_pool_wait_seconds_sum{tag="hold"} 95.05
stampede_db_pool_wait_seconds_count{tag="hold"} 5
stampede_db_pool_wait_seconds_bucket{tag="checkout",le="0.1"} 3
stampede_db_pool_wait_seconds_bucket{tag="checkout",le="10"} 3
stampede_db_pool_wait_seconds_bucket{tag="checkout",le="+Inf"} 3
stampede_db_pool_wait_seconds_sum{tag="checkout"} 0.03
stampede_db_pool_wait_seconds_count{tag="checkout"} 3
`
	got := parsePoolStats([]byte(text))
	if hold := got["hold"]; hold.Count != 5 || hold.WaitMaxMs != 10000 || hold.WaitMeanMs != 19010 {
		t.Errorf("hold: %+v, want count 5, max 10000 ms (the last finite bound), mean 19010 ms", hold)
	}
	if co := got["checkout"]; co.Count != 3 || co.WaitMaxMs != 100 {
		t.Errorf("checkout: %+v, want count 3, max 100 ms", co)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("encode: %v", err)
	}
}
