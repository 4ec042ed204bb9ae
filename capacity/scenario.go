package capacity

import (
	"fmt"
	"math"
	"time"

	"github.com/goccy/go-yaml"

	"stampede/workloads"
)

// Mode says how a step offers its load.
type Mode string

// Modes.
const (
	// ModeScale scales the scenario's arrival profile so that its top rate is the load: every
	// rate of the profile, its user cap and the waiting room's admission rate by one factor.
	// A step lasts as long as the profile does.
	ModeScale Mode = "scale"
	// ModeRate replaces the profile with a constant arrival rate, the load, for the step's
	// duration; the waiting room's admission rate is scaled in proportion to the scenario's
	// top rate.
	ModeRate Mode = "rate"
)

// TopRate is the highest arrival rate of a profile, in users per second: the load at which a
// ModeScale step runs the scenario as written.
func TopRate(a workloads.Arrivals) float64 {
	switch a.Profile {
	case workloads.ProfileRamp:
		return math.Max(a.Rate.PerSecond(), a.StartRate.PerSecond())
	case workloads.ProfileSpike:
		return math.Max(a.PeakRate.PerSecond(), a.Rate.PerSecond())
	case workloads.ProfileSteps:
		top := 0.0
		for _, s := range a.Steps {
			top = math.Max(top, s.Rate.PerSecond())
		}
		return top
	}
	return a.Rate.PerSecond()
}

// stepScenario rewrites src, the scenario file sc was loaded from, for a step at load: the
// arrivals and the waiting room's admission rate as mode says, and the name (so that the
// step's events have ids of their own on a target that keeps them). Everything else, the
// comments apart, is kept as written. The result is checked as any scenario file is.
func stepScenario(src []byte, sc *workloads.Scenario, load float64, mode Mode, dur time.Duration, name string) ([]byte, error) {
	top := TopRate(sc.Arrivals)
	if top <= 0 {
		return nil, fmt.Errorf("scenario %s: the arrival profile has no rate to scale", sc.Name)
	}
	f := load / top
	var doc yaml.MapSlice
	if err := yaml.UnmarshalWithOptions(src, &doc, yaml.UseOrderedMap()); err != nil {
		return nil, fmt.Errorf("read scenario %s: %w", sc.Name, err)
	}
	rate := func(r workloads.Rate) string { return workloads.Rate(r.PerSecond() * f).String() }
	switch mode {
	case ModeScale:
		arr, _ := get(doc, "arrivals").(yaml.MapSlice)
		a := sc.Arrivals
		for key, r := range map[string]workloads.Rate{"rate": a.Rate, "start_rate": a.StartRate, "peak_rate": a.PeakRate} {
			if get(arr, key) != nil {
				arr = set(arr, key, rate(r))
			}
		}
		if steps, ok := get(arr, "steps").([]any); ok {
			for i, st := range steps {
				if m, ok := st.(yaml.MapSlice); ok && i < len(a.Steps) {
					steps[i] = set(m, "rate", rate(a.Steps[i].Rate))
				}
			}
		}
		if a.Users > 0 {
			arr = set(arr, "users", max(int(math.Round(float64(a.Users)*f)), 1))
		}
		doc = set(doc, "arrivals", arr)
	case ModeRate:
		doc = set(doc, "arrivals", yaml.MapSlice{
			{Key: "profile", Value: workloads.ProfileConstant},
			{Key: "rate", Value: workloads.Rate(load).String()},
			{Key: "duration", Value: dur.String()},
		})
	default:
		return nil, fmt.Errorf("mode %q: want scale or rate", mode)
	}
	if wr, ok := get(doc, "waiting_room").(yaml.MapSlice); ok && sc.WaitingRoom.AdmitRate > 0 {
		doc = set(doc, "waiting_room", set(wr, "admit_rate", rate(sc.WaitingRoom.AdmitRate)))
	}
	doc = set(doc, "name", name)
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("write the step's scenario: %w", err)
	}
	if _, err := workloads.Parse(name+".yaml", out); err != nil {
		return nil, fmt.Errorf("the step's scenario at %s: %w", Rate(load), err)
	}
	return out, nil
}

func get(m yaml.MapSlice, key string) any {
	for _, it := range m {
		if it.Key == key {
			return it.Value
		}
	}
	return nil
}

// set replaces key's value, or appends it.
func set(m yaml.MapSlice, key string, v any) yaml.MapSlice {
	for i, it := range m {
		if it.Key == key {
			m[i].Value = v
			return m
		}
	}
	return append(m, yaml.MapItem{Key: key, Value: v})
}
