package run

import (
	"fmt"
	"path/filepath"
	"slices"

	"stampede/compare"
	"stampede/reports"
	"stampede/workloads"
)

// baseline reads o.Baseline and checks, before anything runs, that the runs o asks for can
// be judged against it (compare.Baseline); it returns the tolerances to judge with. Nil
// without a baseline.
func (o *Options) baseline(sc *workloads.Scenario) (*compare.Side, workloads.Gate, error) {
	if o.Baseline == "" {
		if len(o.Gate) > 0 {
			return nil, nil, fmt.Errorf("--gate without --baseline: give the run to compare with")
		}
		return nil, nil, nil
	}
	base, err := compare.Load(o.Baseline)
	if err != nil {
		return nil, nil, fmt.Errorf("baseline: %w", err)
	}
	dbs := o.DBs
	if o.Target == "" && len(dbs) == 0 {
		dbs = defaultDBs(*o)
	}
	var cells [][2]string
	for _, st := range o.Strategies {
		for _, db := range dbs {
			if c := [2]string{st, db}; !slices.Contains(cells, c) {
				cells = append(cells, c)
			}
		}
	}
	if err := compare.Baseline(base, sc.Name, cells); err != nil {
		return nil, nil, fmt.Errorf("baseline: %w", err)
	}
	return base, sc.Tolerances(o.Gate...), nil
}

// judge is the gate's verdict on sum against base (compare.Gate): a comparison that cannot
// be made (no run of this side completed) or an interrupted run is incomplete, never a pass.
func judge(sum *reports.Summary, base *compare.Side, tol workloads.Gate, out string) *reports.Gate {
	cand := &compare.Side{Sources: []string{filepath.Join(out, reports.SummaryFile)}, Summaries: []*reports.Summary{sum}}
	incomplete := func(reason string) *reports.Gate {
		g := &reports.Gate{Baseline: base.Sources, Verdict: reports.GateIncomplete, Reasons: []string{reason},
			Alpha: compare.DefaultAlpha, Tolerances: map[string]string{}, BaseRuns: base.Runs(), Runs: len(sum.Runs)}
		for _, t := range tol {
			g.Tolerances[t.Metric] = t.Text
		}
		return g
	}
	if sum.Interrupted {
		return incomplete("the run was interrupted: not judged")
	}
	g, err := compare.Gate(base, cand, tol)
	if err != nil {
		return incomplete("not compared: " + err.Error())
	}
	return g.Report(base)
}
