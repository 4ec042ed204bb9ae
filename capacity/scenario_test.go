package capacity

import (
	"math"
	"os"
	"testing"
	"time"

	"stampede/workloads"
)

// TestStepScenario: a step's scenario is the file as written with the load applied: every rate
// of the profile, its user cap and the admission rate scaled (ModeScale), or a constant rate
// for the step (ModeRate); the name of the step; the rest (faults, SLOs, inventory) kept.
func TestStepScenario(t *testing.T) {
	steps := []byte(`name: stepped
seed: 3
inventory: {events: 1, sections: 1, rows: 2, seats_per_row: 10}
arrivals:
  profile: steps
  users: 900
  steps:
    - {rate: 50/s, for: 5s}
    - {rate: 100/s, for: 5s}
users: [{flow: browse, weight: 1}]
faults:
  - {at: 2s, fault: redis-restart}
slo: {hold_p99: 250ms}
`)
	quick, err := os.ReadFile("../scenarios/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tc := range []struct {
		name  string
		src   []byte
		load  float64
		mode  Mode
		check func(t *testing.T, sc *workloads.Scenario)
	}{
		{"ramp scaled", quick, 60, ModeScale, func(t *testing.T, sc *workloads.Scenario) {
			a := sc.Arrivals
			if a.Profile != workloads.ProfileRamp || !near(a.Rate.PerSecond(), 60) || !near(a.StartRate.PerSecond(), 10) || a.Ramp != 5*time.Second {
				t.Errorf("arrivals %+v, want the ramp from 10/s to 60/s over 5s", a)
			}
			if !near(sc.WaitingRoom.AdmitRate.PerSecond(), 100) || !sc.WaitingRoom.Enabled {
				t.Errorf("waiting room %+v, want admitting 100/s", sc.WaitingRoom)
			}
			if len(sc.Faults) != 2 || sc.SLO.HoldP99 != 5*time.Second || sc.Inventory.Sections != 2 {
				t.Errorf("faults %v, SLO %+v, inventory %+v: want them as written", sc.Faults, sc.SLO, sc.Inventory)
			}
		}},
		{"ramp at a constant rate", quick, 123.5, ModeRate, func(t *testing.T, sc *workloads.Scenario) {
			a := sc.Arrivals
			if a.Profile != workloads.ProfileConstant || !near(a.Rate.PerSecond(), 123.5) || a.Duration != 20*time.Second {
				t.Errorf("arrivals %+v, want 123.5/s for 20s", a)
			}
			if !near(sc.WaitingRoom.AdmitRate.PerSecond(), 50*123.5/30) {
				t.Errorf("admission %v, want 50/s scaled as 30/s is to 123.5/s", sc.WaitingRoom.AdmitRate)
			}
		}},
		{"steps scaled with their cap", steps, 25, ModeScale, func(t *testing.T, sc *workloads.Scenario) {
			a := sc.Arrivals
			if len(a.Steps) != 2 || !near(a.Steps[0].Rate.PerSecond(), 12.5) || !near(a.Steps[1].Rate.PerSecond(), 25) || a.Steps[1].For != 5*time.Second || a.Users != 225 {
				t.Errorf("arrivals %+v, want steps of 12.5/s and 25/s, 225 users", a)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, err := workloads.Parse("in.yaml", tc.src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := stepScenario(tc.src, orig, tc.load, tc.mode, 20*time.Second, "c4-"+orig.Name)
			if err != nil {
				t.Fatalf("stepScenario: %v", err)
			}
			sc, err := workloads.Parse("out.yaml", out)
			if err != nil {
				t.Fatalf("the step's scenario does not parse: %v\n%s", err, out)
			}
			if sc.Name != "c4-"+orig.Name || sc.Seed != orig.Seed {
				t.Errorf("name %q seed %d, want c4-%s and the seed as written", sc.Name, sc.Seed, orig.Name)
			}
			tc.check(t, sc)
		})
	}
	if top := TopRate(workloads.Arrivals{Profile: workloads.ProfileSpike, Rate: 10, PeakRate: 300}); top != 300 {
		t.Errorf("TopRate of a spike = %v, want its peak", top)
	}
}
