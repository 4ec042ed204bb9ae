package capacity

import (
	"slices"
	"testing"

	"stampede/reports"
)

// TestFromRunGeneratorAndAttribution: a step whose driver was the bottleneck says so (the
// search then does not count it as the target's limit), and the run's attribution becomes the
// step's limit and signals.
func TestFromRunGeneratorAndAttribution(t *testing.T) {
	r := reports.Run{Requests: 1000,
		Generator:   &reports.Generator{Bound: true, Reasons: []string{"lag p99 845 ms over 100 ms"}},
		Attribution: &reports.Attribution{Limit: "database", Costs: []reports.Cost{{Resource: "database", Seconds: 2}, {Resource: "generator", Seconds: 0.5}}},
	}
	sr := FromRun(r)
	if !sr.GeneratorBound || !slices.Equal(sr.GeneratorReasons, r.Generator.Reasons) {
		t.Errorf("FromRun: generator bound %v %q, want true with the run's reasons", sr.GeneratorBound, sr.GeneratorReasons)
	}
	if sr.Limit != "database" {
		t.Errorf("FromRun: limit %q, want database", sr.Limit)
	}
	want := []Signal{{Resource: "database", Ms: 2}, {Resource: "generator", Ms: 0.5}}
	if !slices.Equal(sr.Signals, want) {
		t.Errorf("FromRun: signals %+v, want %+v", sr.Signals, want)
	}
	if calm := FromRun(reports.Run{Requests: 10, Generator: &reports.Generator{}}); calm.GeneratorBound {
		t.Error("FromRun of a run whose generator kept up: generator bound")
	}
}
