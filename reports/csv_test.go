package reports

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readCSV reads a CSV file Write produced in dir.
func readCSV(t *testing.T, dir, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("Write did not produce %s: %v", name, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rows
}

func TestCSVExport(t *testing.T) {
	s := demo(t)
	s.Runs[0].Series[3].Extra = map[string]int64{"dropped": 2}
	dir := t.TempDir()
	if err := Write(dir, s); err != nil {
		t.Fatalf("Write: %v", err)
	}

	metrics := readCSV(t, dir, MetricsFile)
	wantHeader := strings.Join(metricsHeader, ",") + ",dropped"
	if got := strings.Join(metrics[0], ","); got != wantHeader {
		t.Fatalf("metrics.csv header %q, want %q", got, wantHeader)
	}
	points := 0
	for _, r := range s.Runs {
		points += len(r.Series)
	}
	if len(metrics)-1 != points {
		t.Fatalf("metrics.csv has %d rows, want one per second of every run (%d)", len(metrics)-1, points)
	}
	p := s.Runs[0].Series[3]
	want := []string{"pessimistic", "postgres", "3", integer(p.Requests), integer(p.Ok), integer(p.Fail), integer(p.Info),
		integer(p.Errors), integer(p.Holds), integer(p.Bookings), decimal(p.P50), decimal(p.P99), integer(p.InFlight), "2"}
	if got := metrics[4]; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("metrics.csv row of second 3 = %q, want %q", got, want)
	}
	if last := metrics[len(metrics)-1]; last[0] != "skip-locked" || last[1] != "mysql" || last[13] != "0" {
		t.Errorf("metrics.csv last row %q, want skip-locked/mysql's last second with dropped 0", last)
	}

	latency := readCSV(t, dir, LatencyFile)
	if got := strings.Join(latency[0], ","); got != strings.Join(latencyHeader, ",") {
		t.Fatalf("latency.csv header %q", got)
	}
	ops := 0
	for _, r := range s.Runs {
		ops += len(r.Latency) + len(r.LatencyActual)
	}
	if len(latency)-1 != ops {
		t.Fatalf("latency.csv has %d rows, want one per operation and measure of every run (%d)", len(latency)-1, ops)
	}
	var hold []string
	for _, row := range latency {
		if row[0] == "pessimistic" && row[1] == "mysql" && row[2] == "hold" && row[3] == "intended" {
			hold = row
		}
	}
	if strings.Join(hold, ",") != "pessimistic,mysql,hold,intended,885,3.4,2189.2,5473,6841.2,7662.2" {
		t.Errorf("latency.csv pessimistic/mysql hold = %q", hold)
	}

	// The sample has latencies measured from the send as well.
	s = sample()
	s.Runs[0].LatencyActual = map[string]Percentiles{"hold": {Count: 810, P50: 2, P90: 5, P99: 20, P999: 40, Max: 41}}
	dir = t.TempDir()
	if err := Write(dir, s); err != nil {
		t.Fatalf("Write: %v", err)
	}
	latency = readCSV(t, dir, LatencyFile)
	if got := latency[3]; strings.Join(got, ",") != "skip-locked,postgres,hold,sent,810,2,5,20,40,41" {
		t.Errorf("latency.csv row 3 = %q, want skip-locked's hold measured from the send", got)
	}
}

// failingWriter fails every write, like a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCSVWriteErrors(t *testing.T) {
	if err := MetricsCSV(failingWriter{}, sample()); err == nil || !strings.Contains(err.Error(), "metrics.csv: disk full") {
		t.Errorf("MetricsCSV on a failing writer = %v, want the write error naming metrics.csv", err)
	}
	if err := LatencyCSV(failingWriter{}, sample()); err == nil || !strings.Contains(err.Error(), "latency.csv: disk full") {
		t.Errorf("LatencyCSV on a failing writer = %v, want the write error naming latency.csv", err)
	}
}
