package selftest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"stampede/reports"
	"stampede/strategies"
)

// Files a selftest writes in its directory.
const (
	MarkdownFile = "selftest.md"
	JSONFile     = "selftest.json"
	// Schema names the JSON's layout; fields are only added within a version.
	Schema = "stampede.selftest/v1"
)

// Outcomes of one broken variant's run.
const (
	Caught       = "caught"
	NotExercised = "not-exercised"
	Missed       = "missed"
	Error        = "error"
)

// Matrix is what a selftest found.
type Matrix struct {
	Schema    string        `json:"schema"`
	Scenarios []ScenarioRun `json:"scenarios"`
	// Variants are the strategies broken on purpose, each with a cell per scenario.
	Variants []VariantRow `json:"variants"`
	// Safe are the safe strategies, one row per strategy x database over every scenario and
	// seed.
	Safe []SafeRow `json:"safe"`
	// SafeRuns and FalseAlarms count the safe strategies' runs and those that failed a check.
	SafeRuns    int `json:"safe_runs"`
	FalseAlarms int `json:"false_alarms"`
	// Errors counts the runs that could not complete.
	Errors int `json:"errors"`
	// Undetected names the variants no scenario caught at any seed.
	Undetected  []string `json:"undetected"`
	Seconds     float64  `json:"seconds"`
	Interrupted bool     `json:"interrupted,omitempty"`
	// ExitCode is ExitCode of the matrix.
	ExitCode int `json:"exit_code"`
}

// ScenarioRun is a scenario of the selftest and the seeds it ran.
type ScenarioRun struct {
	Name  string  `json:"name"`
	File  string  `json:"file"`
	Seeds []int64 `json:"seeds"`
}

// VariantRow is one broken strategy across the scenarios.
type VariantRow struct {
	Name string `json:"name"`
	// Safe is the safe strategy it is built on and Flaw its named defect, "" for naive.
	Safe  string   `json:"safe,omitempty"`
	Flaw  string   `json:"flaw,omitempty"`
	Needs []string `json:"needs"`
	Cells []Cell   `json:"cells"`
}

// Cell is one variant under one scenario over its seeds.
type Cell struct {
	Scenario     string `json:"scenario"`
	Runs         int    `json:"runs"`
	Caught       int    `json:"caught"`
	NotExercised int    `json:"not_exercised"`
	Missed       int    `json:"missed"`
	Errors       int    `json:"errors"`
	// By counts, per check, the runs in which it failed.
	By map[string]int `json:"by"`
	// MeanSeconds is the mean duration of the runs that caught the variant.
	MeanSeconds float64 `json:"mean_seconds"`
	// Seeds are the outcome of each seed, in order.
	Seeds []SeedOutcome `json:"seeds"`

	secs float64
}

// SeedOutcome is one run of a variant.
type SeedOutcome struct {
	Seed    int64  `json:"seed"`
	Outcome string `json:"outcome"`
	// Checks are the checks that failed.
	Checks []string `json:"checks,omitempty"`
}

// SafeRow is a safe strategy on one database over every scenario and seed.
type SafeRow struct {
	Strategy    string `json:"strategy"`
	DB          string `json:"db"`
	Runs        int    `json:"runs"`
	Passed      int    `json:"passed"`
	FalseAlarms int    `json:"false_alarms"`
	Errors      int    `json:"errors"`
	// Alarms say, for each false alarm, the scenario, seed, check and counterexample.
	Alarms []string `json:"alarms,omitempty"`
}

func newMatrix(unsafe []string) *Matrix {
	m := &Matrix{Schema: Schema, Undetected: []string{}}
	flaws := map[string]strategies.Variant{}
	for _, v := range strategies.Broken() {
		flaws[v.Name] = v
	}
	for _, n := range unsafe {
		row := VariantRow{Name: n, Safe: flaws[n].Safe, Flaw: string(flaws[n].Flaw), Needs: []string{}}
		for _, h := range needs[n] {
			row.Needs = append(row.Needs, string(h))
		}
		m.Variants = append(m.Variants, row)
	}
	return m
}

// cell returns the variant's cell for the scenario, making it.
func (m *Matrix) cell(variant, scenario string) *Cell {
	for i := range m.Variants {
		v := &m.Variants[i]
		if v.Name != variant {
			continue
		}
		for j := range v.Cells {
			if v.Cells[j].Scenario == scenario {
				return &v.Cells[j]
			}
		}
		v.Cells = append(v.Cells, Cell{Scenario: scenario, By: map[string]int{}})
		return &v.Cells[len(v.Cells)-1]
	}
	return nil
}

func (m *Matrix) safeRow(strategy, db string) *SafeRow {
	for i := range m.Safe {
		if m.Safe[i].Strategy == strategy && m.Safe[i].DB == db {
			return &m.Safe[i]
		}
	}
	m.Safe = append(m.Safe, SafeRow{Strategy: strategy, DB: db})
	return &m.Safe[len(m.Safe)-1]
}

// failed lists the checks of r that failed.
func failed(r reports.Run) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Result == reports.Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// outcome classifies a broken variant's run.
func outcome(r reports.Run) string {
	switch {
	case len(failed(r)) > 0:
		return Caught
	case r.Error != "":
		return Error
	}
	for _, h := range needs[r.Strategy] {
		for _, c := range r.Coverage {
			if c.Hazard == string(h) && c.Count > 0 {
				return Missed
			}
		}
	}
	return NotExercised
}

// describe is r's outcome in a few words, for progress lines.
func (m *Matrix) describe(r reports.Run) string {
	if !strategies.Unsafe(r.Strategy) {
		if fs := failed(r); len(fs) > 0 {
			return "FALSE ALARM (" + strings.Join(fs, ", ") + ")"
		}
		if r.Error != "" {
			return "error: " + r.Error
		}
		return "pass"
	}
	o := outcome(r)
	if o == Caught {
		return "caught by " + strings.Join(failed(r), ", ")
	}
	return o
}

// add counts one run of the scenario at seed.
func (m *Matrix) add(scenario string, seed int64, r reports.Run) {
	if !strategies.Unsafe(r.Strategy) {
		row := m.safeRow(r.Strategy, r.DB)
		row.Runs++
		m.SafeRuns++
		switch fs := failed(r); {
		case len(fs) > 0:
			row.FalseAlarms++
			m.FalseAlarms++
			for _, c := range r.Checks {
				if c.Result == reports.Fail {
					row.Alarms = append(row.Alarms, fmt.Sprintf("%s seed %d: %s: %s", scenario, seed, c.Name, c.Counterexample))
				}
			}
		case r.Error != "":
			row.Errors++
			m.Errors++
		default:
			row.Passed++
		}
		return
	}
	c := m.cell(r.Strategy, scenario)
	if c == nil {
		return
	}
	c.Runs++
	o := outcome(r)
	so := SeedOutcome{Seed: seed, Outcome: o}
	switch o {
	case Caught:
		c.Caught++
		c.secs += r.DurationSeconds
		so.Checks = failed(r)
		for _, f := range so.Checks {
			c.By[f]++
		}
	case NotExercised:
		c.NotExercised++
	case Missed:
		c.Missed++
	case Error:
		c.Errors++
		m.Errors++
	}
	c.Seeds = append(c.Seeds, so)
}

// missing counts the runs of a group that produced no summary at all as errors.
func (m *Matrix) missing(scenario string, names, dbs []string, err error) {
	for _, n := range names {
		if strategies.Unsafe(n) {
			c := m.cell(n, scenario)
			c.Runs++
			c.Errors++
			m.Errors++
			continue
		}
		for _, db := range dbs {
			row := m.safeRow(n, db)
			row.Runs++
			row.Errors++
			m.SafeRuns++
			m.Errors++
			if err != nil {
				row.Alarms = append(row.Alarms, fmt.Sprintf("%s: did not run: %v", scenario, err))
			}
		}
	}
}

// finish computes the means, the undetected variants and the exit code.
func (m *Matrix) finish() {
	for i := range m.Variants {
		v := &m.Variants[i]
		caught := 0
		for j := range v.Cells {
			c := &v.Cells[j]
			if c.Caught > 0 {
				c.MeanSeconds = c.secs / float64(c.Caught)
			}
			caught += c.Caught
		}
		if caught == 0 {
			m.Undetected = append(m.Undetected, v.Name)
		}
	}
	m.ExitCode = ExitCode(m)
}

// write writes selftest.md and selftest.json into dir.
func (m *Matrix) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode selftest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write selftest: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, MarkdownFile))
	if err != nil {
		return fmt.Errorf("write selftest: %w", err)
	}
	if err := m.WriteMarkdown(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Text is a cell as the matrix shows it: "caught 9/10", with the seeds not exercised and
// missed when there are any.
func (c Cell) Text() string {
	if c.Runs == 0 {
		return "-"
	}
	s := fmt.Sprintf("caught %d/%d", c.Caught, c.Runs)
	for _, p := range []struct {
		n    int
		what string
	}{{c.NotExercised, "not exercised"}, {c.Missed, "MISSED"}, {c.Errors, "error"}} {
		if p.n > 0 {
			s += fmt.Sprintf(", %d %s", p.n, p.what)
		}
	}
	return s
}

// checksText is the checks that caught the variant with their counts, most first.
func (c Cell) checksText() string {
	names := slices.Collect(maps.Keys(c.By))
	slices.SortFunc(names, func(a, b string) int {
		if c.By[a] != c.By[b] {
			return c.By[b] - c.By[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, c.By[n])
	}
	return strings.Join(parts, ", ")
}

// WriteMarkdown writes the matrix as markdown: the verdict, the detection matrix, which checks
// caught each variant, and the safe strategies' false alarms.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# stampede selftest\n\n")
	switch {
	case m.ExitCode == 0:
		b.WriteString("**pass**: every broken variant was caught by some scenario, and no safe strategy failed a check.\n\n")
	default:
		fmt.Fprintf(&b, "**fail** (exit %d)", m.ExitCode)
		if len(m.Undetected) > 0 {
			fmt.Fprintf(&b, ": caught by no scenario: %s", strings.Join(m.Undetected, ", "))
		}
		if m.FalseAlarms > 0 {
			fmt.Fprintf(&b, "; %d false alarm(s) on safe strategies", m.FalseAlarms)
		}
		if m.Errors > 0 {
			fmt.Fprintf(&b, "; %d run(s) could not complete", m.Errors)
		}
		b.WriteString(".\n\n")
	}
	if m.Interrupted {
		b.WriteString("Interrupted: the matrix covers the runs finished before.\n\n")
	}
	for _, s := range m.Scenarios {
		fmt.Fprintf(&b, "- %s (`%s`): seeds %s\n", s.Name, s.File, seedList(s.Seeds))
	}
	fmt.Fprintf(&b, "- %.0f s in all\n\n", m.Seconds)
	b.WriteString("## Detection matrix\n\n| variant | needs |")
	for _, s := range m.Scenarios {
		b.WriteString(" " + s.Name + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(m.Scenarios)) + "\n")
	for _, v := range m.Variants {
		fmt.Fprintf(&b, "| %s | %s |", v.Name, strings.Join(v.Needs, ", "))
		for _, s := range m.Scenarios {
			c := Cell{}
			for _, x := range v.Cells {
				if x.Scenario == s.Name {
					c = x
				}
			}
			b.WriteString(" " + c.Text() + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\nA variant is caught when a check failed, not exercised when the run created none of the hazards it needs, MISSED when it did and no check failed.\n\n")
	b.WriteString("## Caught by\n\n| variant | scenario | checks (runs) | mean s |\n|---|---|---|---|\n")
	for _, v := range m.Variants {
		for _, c := range v.Cells {
			if c.Caught > 0 {
				fmt.Fprintf(&b, "| %s | %s | %s | %.1f |\n", v.Name, c.Scenario, c.checksText(), c.MeanSeconds)
			}
		}
	}
	fmt.Fprintf(&b, "\n## Safe strategies\n\n%d false alarm(s) in %d runs.\n\n| strategy | db | runs | passed | false alarms | errors |\n|---|---|---|---|---|---|\n", m.FalseAlarms, m.SafeRuns)
	for _, r := range m.Safe {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d |\n", r.Strategy, r.DB, r.Runs, r.Passed, r.FalseAlarms, r.Errors)
	}
	for _, r := range m.Safe {
		for _, a := range r.Alarms {
			fmt.Fprintf(&b, "\n- %s on %s: %s", r.Strategy, r.DB, a)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func seedList(seeds []int64) string {
	if len(seeds) > 2 && seeds[len(seeds)-1]-seeds[0] == int64(len(seeds)-1) {
		return fmt.Sprintf("%d..%d", seeds[0], seeds[len(seeds)-1])
	}
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}
