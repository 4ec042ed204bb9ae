// Command gatecal calibrates the regression gate of `stampede run --baseline` on this machine
// (make gate-calibrate): how often it fails a correct server compared with itself (its false
// alarms), and how often it catches a server whose holds answer late (its power).
//
// It starts local services once, then runs sets of --repeat runs of one strategy x database
// (each a `stampede run --repeat N` in all but the process): correct sets C0..Cn, and after the
// first sets, sets with every hold delayed at the after-hold failpoint (-delay, and the
// smaller -small-delay, which marks where detection fades). Set C(i+1) is gated against C(i)
// (n comparisons of a server with itself), and each delayed set against the correct set run
// just before it, all with the default gate (workloads.DefaultGate) unless -gate says
// otherwise. It prints a markdown table of the figures and writes every run directory and
// gatecal.md under -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"stampede/infra"
	"stampede/reports"
	"stampede/run"
	"stampede/workloads"
)

type config struct {
	stampede, scenario, strategy, db, out, gate string
	comparisons, repeat, powerSets              int
	delay, smallDelay, budget                   time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.stampede, "stampede", "bin/stampede", "the stampede executable the runs start as the reference server")
	flag.StringVar(&c.scenario, "scenario", "run/testdata/gate.yaml", "scenario of every run")
	flag.StringVar(&c.strategy, "strategy", "skip-locked", "strategy")
	flag.StringVar(&c.db, "db", "postgres", "database: postgres or mysql")
	flag.StringVar(&c.out, "out", "bin/gatecal", "directory of the runs and of gatecal.md (emptied first)")
	flag.StringVar(&c.gate, "gate", "", "tolerances, metric=value,... over the default gate (default: the default gate alone)")
	flag.IntVar(&c.comparisons, "comparisons", 20, "comparisons of the correct server with itself (sets of runs: one more)")
	flag.IntVar(&c.repeat, "repeat", 5, "runs a set (stampede run --repeat)")
	flag.IntVar(&c.powerSets, "power", 5, "comparisons with each delay")
	flag.DurationVar(&c.delay, "delay", 20*time.Millisecond, "delay injected on every hold for the power comparisons")
	flag.DurationVar(&c.smallDelay, "small-delay", 2*time.Millisecond, "a smaller delay, to see where detection fades (0: none)")
	flag.DurationVar(&c.budget, "budget", 40*time.Minute, "bound on the whole calibration; sets not started by then are left out, and the figures say so")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := calibrate(ctx, c, os.Stdout); err != nil {
		log.Fatalf("gatecal: %v", err)
	}
}

// set is one set of runs: correct (delay 0) or with every hold delayed.
type set struct {
	name     string
	delay    time.Duration
	baseline string // the set it is gated against; "" for C0
	dir      string
	gate     *reports.Gate
	err      error
}

func calibrate(ctx context.Context, c config, w io.Writer) error {
	if c.comparisons < 1 || c.repeat < 1 || c.powerSets < 0 {
		return fmt.Errorf("want -comparisons and -repeat of at least 1 and -power of at least 0")
	}
	tol := []workloads.Tolerance(workloads.DefaultGate())
	for _, f := range strings.Split(c.gate, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		t, err := workloads.ParseToleranceFlag(f)
		if err != nil {
			return fmt.Errorf("-gate: %w", err)
		}
		tol = append(tol, t)
	}
	bin, err := filepath.Abs(c.stampede)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-stampede: %w (make build first)", err)
	}
	if err := os.RemoveAll(c.out); err != nil {
		return err
	}
	svc, err := infra.Local(ctx, "", infra.Want{Postgres: c.db == "postgres", MySQL: c.db == "mysql", Redis: true})
	if err != nil {
		return fmt.Errorf("start local services: %w", err)
	}
	defer svc.Close()

	// The order the sets run in: each delayed set right after the correct set it is gated
	// against, so that both meet the machine in the same state.
	var sets []*set
	for i := 0; i <= c.comparisons; i++ {
		ci := &set{name: fmt.Sprintf("C%d", i)}
		if i > 0 {
			ci.baseline = fmt.Sprintf("C%d", i-1)
		}
		sets = append(sets, ci)
		if i < c.powerSets {
			sets = append(sets, &set{name: fmt.Sprintf("D%d", i), delay: c.delay, baseline: ci.name})
			if c.smallDelay > 0 {
				sets = append(sets, &set{name: fmt.Sprintf("S%d", i), delay: c.smallDelay, baseline: ci.name})
			}
		}
	}
	byName := map[string]*set{}
	loadBefore := loadavg()
	deadline := time.Now().Add(c.budget)
	started := time.Now()
	for _, s := range sets {
		byName[s.name] = s
		s.dir = filepath.Join(c.out, s.name)
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.err = fmt.Errorf("not run: the budget of %s was spent", c.budget)
			continue
		}
		o := run.Options{Scenario: c.scenario, Strategies: []string{c.strategy}, DBs: []string{c.db}, Env: "local", Services: svc,
			Binary: bin, Out: s.dir, Repeat: c.repeat, Progress: io.Discard, Version: "gatecal"}
		if s.delay > 0 {
			o.Failpoints = "after-hold=delay:" + s.delay.String()
		}
		if s.baseline != "" {
			b := byName[s.baseline]
			if b.err != nil {
				s.err = fmt.Errorf("not run: its baseline %s has no runs", b.name)
				continue
			}
			o.Baseline, o.Gate = b.dir, tol
		}
		t0 := time.Now()
		sum, _, err := run.Run(ctx, o)
		switch {
		case err != nil:
			s.err = err
		case sum.Verdict != reports.Pass:
			s.err = fmt.Errorf("verdict %s: %v", sum.Verdict, sum.Runs[0].Reasons)
		}
		if sum != nil {
			s.gate = sum.Gate
		}
		line := "ok"
		if s.gate != nil {
			line = "gate " + s.gate.Line()
		}
		if s.err != nil {
			line = "error: " + s.err.Error()
		}
		fmt.Fprintf(os.Stderr, "%s (%s, hold delay %s) in %.0fs: %s\n", s.name, c.strategy+"/"+c.db, s.delay, time.Since(t0).Seconds(), line)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Gate calibration\n\nScenario `%s`, %s on %s, %d runs a side (`stampede run --repeat %d`), gate: %s; %s, %.0f minutes, load average %s before and %s after (other work on the machine is noise the gate must see through).\n\n",
		c.scenario, c.strategy, c.db, c.repeat, c.repeat, gateText(workloads.Gate(tol).With()), reports.ThisMachine().String(),
		time.Since(started).Minutes(), loadBefore, loadavg())
	var notes []string
	b.WriteString("| comparison | judged | gate failed | hold_p50 regressed | hold_p99 regressed | any metric significantly worse |\n|---|---:|---:|---:|---:|---:|\n")
	for _, kind := range []struct {
		label, prefix string
	}{
		{"correct server against itself (false alarms)", "C"},
		{fmt.Sprintf("every hold %s late (power)", c.delay), "D"},
		{fmt.Sprintf("every hold %s late (detection limit)", c.smallDelay), "S"},
	} {
		var judged, failed, p50, p99, worse int
		anyNote := len(notes)
		for _, s := range sets {
			if !strings.HasPrefix(s.name, kind.prefix) || s.baseline == "" {
				continue
			}
			if s.err != nil || s.gate == nil {
				if s.err != nil {
					notes = append(notes, s.name+": "+s.err.Error())
				}
				continue
			}
			judged++
			if s.gate.Failed() {
				failed++
			}
			sig := false
			for _, f := range s.gate.Findings {
				if f.Status == reports.GateRegression && f.Metric == "hold_p50" {
					p50++
				}
				if f.Status == reports.GateRegression && f.Metric == "hold_p99" {
					p99++
				}
				sig = sig || f.Status == reports.GateRegression || f.Status == "within-tolerance"
			}
			if sig {
				worse++
			}
		}
		if judged == 0 && len(notes) == anyNote {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", kind.label, judged, failed, p50, p99, worse)
	}
	b.WriteString("\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	for _, s := range sets {
		if s.gate != nil && s.gate.Failed() {
			fmt.Fprintf(&b, "- %s against %s: %s\n", s.name, s.baseline, strings.Join(s.gate.Reasons, "; "))
		}
	}
	report := b.String()
	if _, err := io.WriteString(w, report); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.out, "gatecal.md"), []byte(report), 0o644)
}

func gateText(g workloads.Gate) string {
	parts := make([]string, len(g))
	for i, t := range g {
		parts[i] = t.Metric + " " + t.Text
	}
	return strings.Join(parts, ", ")
}

// loadavg is the machine's one-minute load average, "?" where there is no /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
