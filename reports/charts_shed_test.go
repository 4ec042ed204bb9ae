package reports

import "testing"

// TestOutcomeSeriesShed: a run whose target shed requests draws them as their own series, in
// their own colour, and a run without shed requests draws no empty shed series.
func TestOutcomeSeriesShed(t *testing.T) {
	names := func(r Run) []string {
		var out []string
		for _, s := range outcomeSeries(r) {
			out = append(out, s.Name)
		}
		return out
	}
	shed := Run{Series: []Point{{T: 0, Ok: 5, Fail: 2, Errors: 0}, {T: 1, Ok: 3, Shed: 7}}}
	got := outcomeSeries(shed)
	found := false
	for _, s := range got {
		if s.Name == classShed.name {
			found = true
			if s.Colour != classShed.colour || len(s.Values) != 2 || s.Values[1] != 7 {
				t.Errorf("shed series = %+v, want colour %s and 7 in the second second", s, classShed.colour)
			}
		}
	}
	if !found {
		t.Errorf("outcomeSeries(run with shed requests) = %v, want a shed series", names(shed))
	}
	calm := Run{Series: []Point{{T: 0, Ok: 5, Fail: 2}}}
	for _, n := range names(calm) {
		if n == classShed.name {
			t.Errorf("outcomeSeries(run without shed requests) = %v, want no shed series", names(calm))
		}
	}
}
