package compare

import (
	"fmt"
	"sort"
	"strings"

	"stampede/reports"
	"stampede/workloads"
)

// Result is a candidate compared with a base, per strategy x database and metric.
type Result struct {
	Scenario string `json:"scenario"`
	// Alpha is the U test's significance level; Confidence the level of the medians'
	// confidence intervals.
	Alpha      float64  `json:"alpha"`
	Confidence float64  `json:"confidence"`
	Base       SideInfo `json:"base"`
	Candidate  SideInfo `json:"candidate"`
	// Warnings say where the sides differ in a way that makes the comparison less fair
	// (scenario file, seeds, machine, service versions), or what could not be compared.
	Warnings []string `json:"warnings,omitempty"`
	// Cells has one entry per strategy x database of either side: the base's order first,
	// then the candidate's own.
	Cells []Cell `json:"cells"`
}

// SideInfo describes one side of a Result.
type SideInfo struct {
	Sources []string `json:"sources"`
	// Runs counts every run of the side's summaries.
	Runs int `json:"runs"`
	// Versions are the stampede versions (and VCS revisions) the side was run with.
	Versions []string `json:"versions,omitempty"`
	// Failed has one line per run whose checks failed or could not decide (a correctness
	// failure), Errored one per run that could not complete; such runs' numbers are left out.
	Failed  []string `json:"failed,omitempty"`
	Errored []string `json:"errored,omitempty"`
}

// Cell is one strategy x database: how many runs each side had, and every metric measured.
type Cell struct {
	Strategy string `json:"strategy"`
	DB       string `json:"db"`
	// BaseRuns and CandidateRuns count the runs that gave numbers (runs that could not
	// complete are not samples).
	BaseRuns      int      `json:"base_runs"`
	CandidateRuns int      `json:"candidate_runs"`
	Metrics       []Metric `json:"metrics,omitempty"`
}

// Name is the cell as the reports write it: "skip-locked on postgres".
func (c Cell) Name() string { return c.Strategy + " on " + c.DB }

// Metric returns the cell's metric called name.
func (c Cell) Metric(name string) (Metric, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Compare compares cand with base. Every run of a strategy x database on one side is a
// sample; each metric's samples are compared with the Mann-Whitney U test. It refuses (an
// error wrapping ErrMismatch) summaries of different schemas, of different scenarios (unless
// WithForce), or without a strategy x database in common; differences that make the
// comparison less fair are Warnings.
func Compare(base, cand *Side, opts ...Option) (*Result, error) {
	o := newOptions(opts)
	if !(o.alpha > 0 && o.alpha < 1) || !(o.confidence > 0 && o.confidence < 1) {
		return nil, fmt.Errorf("alpha %v and confidence %v must lie strictly between 0 and 1", o.alpha, o.confidence)
	}
	for _, s := range []struct {
		name string
		side *Side
	}{{"base", base}, {"candidate", cand}} {
		if s.side == nil || len(s.side.Summaries) == 0 {
			return nil, fmt.Errorf("%w: the %s has none", ErrNoSummary, s.name)
		}
		if s.side.Runs() == 0 {
			return nil, fmt.Errorf("%w: the %s (%s) has no runs", ErrMismatch, s.name, strings.Join(s.side.Sources, ", "))
		}
	}
	warnings, err := fairness(base, cand, o)
	if err != nil {
		return nil, err
	}
	r := &Result{Scenario: base.Summaries[0].Scenario, Alpha: o.alpha, Confidence: o.confidence, Warnings: warnings}
	bs, bi := samples(base)
	cs, ci := samples(cand)
	r.Base, r.Candidate = bi, ci
	keys := append([]cellKey(nil), bs.order...)
	for _, k := range cs.order {
		if _, ok := bs.runs[k]; !ok {
			keys = append(keys, k)
		}
	}
	common := 0
	for _, k := range keys {
		b, inBase := bs.runs[k]
		c, inCand := cs.runs[k]
		cell := Cell{Strategy: k.strategy, DB: k.db, BaseRuns: len(b), CandidateRuns: len(c)}
		switch {
		case !inBase:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is only in the candidate: not compared", cell.Name()))
		case !inCand:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is only in the base: not compared", cell.Name()))
		default:
			common++
			cell.Metrics = compareCell(b, c, o)
		}
		r.Cells = append(r.Cells, cell)
	}
	if common == 0 {
		return nil, fmt.Errorf("%w: no strategy x database is on both sides (base: %s; candidate: %s)",
			ErrMismatch, cellList(bs.order), cellList(cs.order))
	}
	return r, nil
}

// compareCell judges every metric that either side measured.
func compareCell(base, cand []*reports.Run, o options) []Metric {
	var out []Metric
	for _, m := range workloads.GateMetrics() {
		get := measures[m.Name]
		bv, cv := values(base, get), values(cand, get)
		if len(bv) == 0 && len(cv) == 0 {
			continue
		}
		out = append(out, judge(m, bv, cv, o))
	}
	return out
}

func values(runs []*reports.Run, get measure) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := get(r); ok {
			out = append(out, v)
		}
	}
	return out
}

type cellKey struct{ strategy, db string }

// cellRuns groups a side's runs that gave numbers by strategy x database.
type cellRuns struct {
	runs  map[cellKey][]*reports.Run
	order []cellKey
}

// samples groups a side's runs into samples and notes the runs that failed a check or could
// not complete.
func samples(s *Side) (cellRuns, SideInfo) {
	cr := cellRuns{runs: map[cellKey][]*reports.Run{}}
	info := SideInfo{Sources: append([]string(nil), s.Sources...), Runs: s.Runs()}
	seenVersion := map[string]bool{}
	for i, sum := range s.Summaries {
		src := ""
		if i < len(s.Sources) {
			src = s.Sources[i]
		}
		if v := versionOf(sum); v != "" && !seenVersion[v] {
			seenVersion[v] = true
			info.Versions = append(info.Versions, v)
		}
		perCell := map[cellKey]int{}
		for j := range sum.Runs {
			perCell[cellKey{sum.Runs[j].Strategy, sum.Runs[j].DB}]++
		}
		nth := map[cellKey]int{}
		for j := range sum.Runs {
			run := &sum.Runs[j]
			k := cellKey{run.Strategy, run.DB}
			nth[k]++
			where := k.strategy + " on " + k.db
			if perCell[k] > 1 {
				where += fmt.Sprintf(", run %d of %d", nth[k], perCell[k])
			}
			if src != "" {
				where += " (" + src + ")"
			}
			if failed := failedChecks(run); failed != "" {
				info.Failed = append(info.Failed, where+": "+failed)
			}
			if run.Error != "" {
				info.Errored = append(info.Errored, where+": "+run.Error)
				continue
			}
			if _, ok := cr.runs[k]; !ok {
				cr.order = append(cr.order, k)
			}
			cr.runs[k] = append(cr.runs[k], run)
		}
	}
	return cr, info
}

// failedChecks describes the checks of r that failed or could not decide; "" when none did.
func failedChecks(r *reports.Run) string {
	var parts []string
	for _, c := range r.Checks {
		var s string
		switch c.Result {
		case reports.Fail:
			s = fmt.Sprintf("%s failed (%d)", c.Name, c.Count)
		case reports.Unknown:
			s = fmt.Sprintf("%s could not decide", c.Name)
		default:
			continue
		}
		if c.Counterexample != "" {
			s += ": " + c.Counterexample
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func versionOf(s *reports.Summary) string {
	if s.Provenance == nil {
		return s.Versions["stampede"]
	}
	return s.Provenance.Build()
}

func cellList(keys []cellKey) string {
	if len(keys) == 0 {
		return "none"
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.strategy + "/" + k.db
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
