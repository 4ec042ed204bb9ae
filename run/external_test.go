package run

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stampede/internal/testsvc"
	"stampede/reports"
)

// TestRunExternalServicesRefuseProcessFaults runs against PostgreSQL and Redis the run does not
// own (the shared services), with a schedule of Redis restart and pause: neither can be done to
// a Redis we did not start, so the run goes on without them, and every report says so.
func TestRunExternalServicesRefuseProcessFaults(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second); err != nil {
		testsvc.Unavailable(t, "no shared Redis on 127.0.0.1:6379: "+err.Error())
	} else {
		c.Close()
	}
	sum, dir := runE2E(t, Options{Scenario: "testdata/external.yaml", Strategies: []string{"status-expiry"}, DBs: []string{"postgres"},
		Env: "external", PG: testsvc.PGAdminURL(), Redis: "redis://127.0.0.1:6379/0"})
	if len(sum.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(sum.Runs))
	}
	r := sum.Runs[0]
	if r.Error != "" || r.Bookings == 0 {
		t.Fatalf("run error %q with %d bookings: the herd should run without the faults", r.Error, r.Bookings)
	}
	if len(r.Faults) != 2 {
		t.Fatalf("faults %+v, want the two scheduled", r.Faults)
	}
	for _, f := range r.Faults {
		if !strings.Contains(f.Error, "not supported by this target") || !strings.Contains(f.Error, "Redis process") {
			t.Errorf("%s: error %q, want it to say a Redis process of the run's own is needed", f.Fault, f.Error)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**2 scheduled faults were not injected**", "redis-restart@0s (not injected)", "| redis-pause | "} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if html, _ := os.ReadFile(filepath.Join(dir, reports.HTMLFile)); !strings.Contains(string(html), "not supported by this target") {
		t.Errorf("report.html does not show why the faults were not injected")
	}
}
