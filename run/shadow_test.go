package run

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"stampede/reports"
)

// seatID is a seat of the scenarios' inventory: SECTION-ROW-NUMBER.
var seatID = regexp.MustCompile(`^[A-Za-z0-9]+-\d+-\d+$`)

// TestRunShadowFindsBrokenVariant runs testdata/broken.yaml (every payment outlasts its hold and
// another buyer takes the seat meanwhile) on status-expiry, on both databases, with
// status-expiry-blind as its shadow. The primary passes every check (its answers are its own);
// the shadow section of each run reports seats the shadow would have sold that the primary did
// not (confirm_sold), naming them, with both strategies' latency; report.md, report.html and
// junit.xml carry it.
func TestRunShadowFindsBrokenVariant(t *testing.T) {
	sum, dir := runE2E(t, Options{Scenario: "testdata/broken.yaml", Strategies: []string{"status-expiry"},
		DBs: []string{"postgres", "mysql"}, Shadow: "status-expiry-blind"})
	if len(sum.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(sum.Runs))
	}
	md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	for _, r := range sum.Runs {
		name := r.Strategy + "/" + r.DB
		if r.Verdict != reports.Pass {
			t.Errorf("%s: verdict %s (%v), want pass: the shadow changes no answer\n%s", name, r.Verdict, r.Reasons, md)
		}
		sh := r.Shadow
		if sh == nil {
			t.Fatalf("%s: no shadow section\n%s", name, md)
		}
		if sh.Primary != "status-expiry" || sh.Shadow != "status-expiry-blind" || sh.Replayed == 0 || sh.Pending != 0 {
			t.Errorf("%s: shadow %+v, want status-expiry-blind beside status-expiry, replayed, nothing pending", name, sh)
		}
		var sold *reports.ShadowKind
		for i := range sh.Kinds {
			if sh.Kinds[i].Kind == "confirm_sold" {
				sold = &sh.Kinds[i]
			}
		}
		if sold == nil || sold.Count == 0 || len(sold.Examples) == 0 {
			t.Fatalf("%s: no confirm_sold divergence: %+v\n%s", name, sh.Kinds, md)
		}
		for _, d := range sold.Examples {
			if len(d.Seats) == 0 || !seatID.MatchString(d.Seats[0]) || d.Shadow != "ok" || d.Primary == "ok" || d.At.IsZero() {
				t.Errorf("%s: example %+v, want a seat the shadow sold and the primary did not, with its time", name, d)
			}
		}
		if len(sh.Latency) == 0 || sh.Latency[0].Primary.Count == 0 || sh.Latency[0].Shadow.Count == 0 {
			t.Errorf("%s: latency %+v, want both strategies'", name, sh.Latency)
		}
	}
	for _, f := range []string{reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if !strings.Contains(string(b), "confirm_sold") || !strings.Contains(string(b), "status-expiry-blind") {
			t.Errorf("%s lacks the shadow section", f)
		}
	}
}
