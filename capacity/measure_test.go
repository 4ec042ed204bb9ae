package capacity

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stampede/internal/exitcode"
	"stampede/internal/testsvc"
	"stampede/reports"
	"stampede/run"
)

// stampedeBin is the stampede executable the real steps start as the reference server.
var stampedeBin string

func TestMain(m *testing.M) { testsvc.MainWithStampede(m, &stampedeBin) }

// TestMeasureBadInput: what Measure cannot work with is ErrInput, said clearly, and nothing is
// started or written.
func TestMeasureBadInput(t *testing.T) {
	base := func(scenario string) Config {
		return Config{Options: run.Options{Scenario: scenario, Strategies: []string{"skip-locked"}, DBs: []string{"postgres"}, Binary: stampedeBin}}
	}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"budget too small for one step", with(base("../scenarios/capacity.yaml"), func(c *Config) { c.Budget = 20 * time.Second }),
			"budget too small for one step: --budget 20s shared by 1 searches is 20s each, and one step of capacity takes about 25s"},
		{"budget shared too thin", with(base("../scenarios/capacity.yaml"), func(c *Config) {
			c.Budget, c.Strategies = time.Minute, []string{"skip-locked", "pessimistic", "redis-lock"}
		}), "shared by 3 searches is 20s each"},
		{"no SLOs", base("testdata/noslo.yaml"), "noslo.yaml: no SLOs: a capacity search needs objectives"},
		{"unsafe without the flag", with(base("testdata/naive.yaml"), func(c *Config) { c.Strategies = []string{"naive"} }), "--allow-unsafe"},
		{"unknown mode", with(base("../scenarios/capacity.yaml"), func(c *Config) { c.Mode = "exponential" }), `mode "exponential"`},
		{"short step", with(base("../scenarios/capacity.yaml"), func(c *Config) { c.Mode, c.StepDuration = ModeRate, time.Millisecond }), "step duration"},
		{"precision", with(base("../scenarios/capacity.yaml"), func(c *Config) { c.Precision = 2 }), "precision"},
		{"missing scenario", base("testdata/nope.yaml"), "read scenario"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			tc.c.Out = out
			var log bytes.Buffer
			tc.c.Progress = &log
			sum, _, err := Measure(context.Background(), tc.c)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Measure = %v, want ErrInput containing %q", err, tc.want)
			}
			if sum != nil {
				t.Errorf("Measure returned a summary for bad input")
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("bad input, yet the run directory was created (%v)", err)
			}
			if log.Len() > 0 {
				t.Errorf("bad input, yet something started: %s", log.String())
			}
		})
	}
}

// TestMeasureUnsafeStrategy searches the capacity of the naive strategy through the real step
// runner (services, the reference server, the checker): its first step sells a seat twice, so
// it is reported unsafe with the counterexample, never given a capacity, and exits 1.
func TestMeasureUnsafeStrategy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real services")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		testsvc.Unavailable(t, "redis-server is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	c := Config{Options: run.Options{Scenario: "testdata/naive.yaml", Strategies: []string{"naive"}, DBs: []string{"postgres"},
		AllowUnsafe: true, Binary: stampedeBin, Out: t.TempDir(), Progress: &log}, Budget: 3 * time.Minute, Min: 1}
	sum, dir, err := Measure(ctx, c)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	r := sum.Runs[0]
	cs := r.CapacitySearch
	if cs == nil || cs.Verdict != string(Unsafe) {
		t.Fatalf("naive: capacity search %+v, want unsafe", cs)
	}
	if r.Capacity != 0 || cs.Capacity != 0 || cs.OnSale != nil {
		t.Errorf("naive was given a capacity: %v (%v), on-sale %+v", r.Capacity, cs.Capacity, cs.OnSale)
	}
	if cs.Violation == nil || cs.Violation.Counterexample == "" || !strings.HasPrefix(cs.Answer, "naive on PostgreSQL: unsafe at ") {
		t.Errorf("answer %q, violation %+v: want unsafe at a load, with the counterexample", cs.Answer, cs.Violation)
	}
	if got := ExitCode(sum); got != exitcode.Violation {
		t.Errorf("ExitCode = %d, want %d (a violation)", got, exitcode.Violation)
	}
	if r.Verdict != reports.Fail {
		t.Errorf("run verdict %s, want fail", r.Verdict)
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if err != nil || !strings.Contains(string(md), "unsafe at ") {
		t.Fatalf("report.md does not say unsafe (%v):\n%s", err, md)
	}
	// The step's directory holds what repeats it, and the run the checker judged.
	step := cs.Steps[len(cs.Steps)-1]
	for _, f := range []string{"../../scenario.yaml", "history.jsonl", "check.json"} {
		if _, err := os.Stat(filepath.Join(dir, step.Dir, f)); err != nil {
			t.Errorf("step directory %s lacks %s: %v", step.Dir, f, err)
		}
	}
}
