package workloads

import (
	"strings"
	"testing"
)

var toleranceCases = []struct {
	name, metric, value string
	want                Tolerance
	err                 string // a part of the error; empty: no error
}{
	{"relative latency", "hold_p99", "+10%", Tolerance{Metric: "hold_p99", Kind: Relative, Limit: 10, Text: "+10%"}, ""},
	{"relative without sign", "hold_p99", "10%", Tolerance{Metric: "hold_p99", Kind: Relative, Limit: 10, Text: "10%"}, ""},
	{"absolute latency", "checkout_p999", "+20ms", Tolerance{Metric: "checkout_p999", Kind: Absolute, Limit: 20, Text: "+20ms"}, ""},
	{"latency in seconds", "join_p50", "+1.5s", Tolerance{Metric: "join_p50", Kind: Absolute, Limit: 1500, Text: "+1.5s"}, ""},
	{"throughput falls", "throughput", "-5%", Tolerance{Metric: "throughput", Kind: Relative, Limit: 5, Text: "-5%"}, ""},
	{"throughput rate", "bookings_per_sec", "-50/s", Tolerance{Metric: "bookings_per_sec", Kind: Absolute, Limit: 50, Text: "-50/s"}, ""},
	{"error rate points", "error_rate", "+0.5pp", Tolerance{Metric: "error_rate", Kind: Points, Limit: 0.5, Text: "+0.5pp"}, ""},
	{"error rate relative", "error_rate", "+50%", Tolerance{Metric: "error_rate", Kind: Relative, Limit: 50, Text: "+50%"}, ""},
	{"count", "lost_holds", "+2", Tolerance{Metric: "lost_holds", Kind: Absolute, Limit: 2, Text: "+2"}, ""},
	{"count as YAML gives an unsigned number", "lost_holds", "2", Tolerance{Metric: "lost_holds", Kind: Absolute, Limit: 2, Text: "2"}, ""},
	{"zero", "refunds", "0", Tolerance{Metric: "refunds", Kind: Absolute, Limit: 0, Text: "0"}, ""},
	{"bookings fall", "bookings", "-5%", Tolerance{Metric: "bookings", Kind: Relative, Limit: 5, Text: "-5%"}, ""},
	{"relative with a floor", "hold_p50", "+20% or +5ms", Tolerance{Metric: "hold_p50", Kind: Relative, Limit: 20, Floor: 5, Text: "+20% or +5ms"}, ""},
	{"throughput with a floor", "throughput", "-10% or -50/s", Tolerance{Metric: "throughput", Kind: Relative, Limit: 10, Floor: 50, Text: "-10% or -50/s"}, ""},
	{"two absolute limits", "hold_p50", "+5ms or +6ms", Tolerance{}, "want a relative limit or an absolute one"},
	{"floor first", "hold_p50", "+5ms or +20%", Tolerance{}, "want a relative limit or an absolute one"},
	{"off with a floor", "hold_p50", "off or +5ms", Tolerance{}, "want a relative limit or an absolute one"},
	{"bad floor", "hold_p50", "+20% or +5", Tolerance{}, "want a percentage or a duration"},
	{"off", "hold_p99", "off", Tolerance{Metric: "hold_p99", Off: true, Text: "off"}, ""},
	{"unknown metric", "hodl_p99", "+10%", Tolerance{}, `unknown metric "hodl_p99"`},
	{"unknown operation", "pay_p99", "+10%", Tolerance{}, "unknown metric"},
	{"wrong sign for a latency", "hold_p99", "-10%", Tolerance{}, "hold_p99 gets worse when it rises; write +10%"},
	{"wrong sign for a throughput", "throughput", "+5%", Tolerance{}, "throughput gets worse when it falls; write -5%"},
	{"latency without unit", "hold_p99", "+10", Tolerance{}, "want a percentage or a duration"},
	{"points for a latency", "hold_p99", "+1pp", Tolerance{}, "percentage points are for error_rate"},
	{"rate unit for a count", "bookings", "-5/s", Tolerance{}, "not a number"},
	{"rate without unit", "throughput", "-5", Tolerance{}, "want a percentage (-5%) or a rate (-50/s)"},
	{"error rate bare number", "error_rate", "0.5", Tolerance{}, "percentage points (+0.5pp)"},
	{"fall beyond everything", "throughput", "-150%", Tolerance{}, "cannot fall by more than 100%"},
	{"not a number", "hold_p99", "+ten%", Tolerance{}, "not a number"},
	{"double sign", "hold_p99", "+-10%", Tolerance{}, "negative after its sign"},
	{"empty", "hold_p99", "", Tolerance{}, "empty tolerance"},
	{"sign only", "hold_p99", "+", Tolerance{}, "empty tolerance"},
	{"NaN", "refunds", "NaN", Tolerance{}, "not a number"},
}

func TestParseTolerance(t *testing.T) {
	for _, tc := range toleranceCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTolerance(tc.metric, tc.value)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseTolerance(%q, %q) = %+v, %v; want an error containing %q", tc.metric, tc.value, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseTolerance(%q, %q) = %+v, %v; want %+v", tc.metric, tc.value, got, err, tc.want)
			}
		})
	}
}

func FuzzParseTolerance(f *testing.F) {
	for _, tc := range toleranceCases {
		f.Add(tc.metric, tc.value)
	}
	f.Fuzz(func(t *testing.T, metric, value string) {
		tol, err := ParseTolerance(metric, value)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if tol.Limit < 0 || tol.Limit != tol.Limit {
			t.Fatalf("ParseTolerance(%q, %q) limit %v, want >= 0", metric, value, tol.Limit)
		}
		if !tol.Off && tol.Kind == "" {
			t.Fatalf("ParseTolerance(%q, %q) has no kind", metric, value)
		}
	})
}

func TestParseToleranceFlag(t *testing.T) {
	got, err := ParseToleranceFlag("hold_p99=+10%")
	if err != nil || got.Metric != "hold_p99" || got.Limit != 10 || got.Kind != Relative {
		t.Errorf("ParseToleranceFlag(hold_p99=+10%%) = %+v, %v", got, err)
	}
	if _, err := ParseToleranceFlag("hold_p99"); err == nil || !strings.Contains(err.Error(), "want metric=tolerance") {
		t.Errorf("ParseToleranceFlag(hold_p99) error %v, want one asking for metric=tolerance", err)
	}
	if _, err := ParseToleranceFlag("throughput=+5%"); err == nil || !strings.HasPrefix(err.Error(), "throughput: ") {
		t.Errorf("ParseToleranceFlag(throughput=+5%%) error %v, want it to name the metric", err)
	}
}

func TestToleranceExceeded(t *testing.T) {
	tol := func(metric, value string) Tolerance {
		t.Helper()
		x, err := ParseTolerance(metric, value)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		name       string
		tol        Tolerance
		base, cand float64
		want       bool
	}{
		{"latency within", tol("hold_p99", "+10%"), 100, 109, false},
		{"latency at the limit", tol("hold_p99", "+10%"), 100, 110, false},
		{"latency beyond", tol("hold_p99", "+10%"), 100, 111, true},
		{"latency improved a lot", tol("hold_p99", "+10%"), 100, 10, false},
		{"latency absolute beyond", tol("hold_p99", "+20ms"), 100, 121, true},
		{"latency absolute within", tol("hold_p99", "+20ms"), 100, 119, false},
		{"throughput fell beyond", tol("throughput", "-5%"), 1000, 940, true},
		{"throughput fell within", tol("throughput", "-5%"), 1000, 960, false},
		{"throughput rose", tol("throughput", "-5%"), 1000, 2000, false},
		{"throughput absolute", tol("throughput", "-50/s"), 1000, 949, true},
		{"error rate points beyond", tol("error_rate", "+0.5pp"), 1.0, 1.6, true},
		{"error rate points within", tol("error_rate", "+0.5pp"), 1.0, 1.4, false},
		{"relative of a zero base", tol("lost_holds", "+50%"), 0, 1, true},
		{"relative of a zero base, no move", tol("lost_holds", "+50%"), 0, 0, false},
		{"zero tolerance", tol("refunds", "0"), 3, 4, true},
		{"bookings fell", tol("bookings", "-5%"), 100, 90, true},
		{"off", tol("hold_p99", "off"), 100, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tol.Exceeded(tt.base, tt.cand); got != tt.want {
				t.Errorf("%s %s: Exceeded(%v, %v) = %v, want %v", tt.tol.Metric, tt.tol.Text, tt.base, tt.cand, got, tt.want)
			}
		})
	}
}

func TestGateWith(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(validYAML+"gate: {hold_p99: +10%, throughput: -5%, error_rate: +0.5pp, lost_holds: 0}\n"))
	if err != nil {
		t.Fatalf("Parse with a gate: %v", err)
	}
	names := func(g Gate) string {
		var s []string
		for _, tol := range g {
			s = append(s, tol.Metric+"="+tol.Text)
		}
		return strings.Join(s, " ")
	}
	if got, want := names(sc.Gate), "error_rate=+0.5pp hold_p99=+10% lost_holds=0 throughput=-5%"; got != want {
		t.Errorf("scenario gate %q, want %q", got, want)
	}
	over := []Tolerance{{Metric: "hold_p99", Kind: Relative, Limit: 20, Text: "+20%"}, {Metric: "throughput", Off: true, Text: "off"},
		{Metric: "bookings", Kind: Relative, Limit: 5, Text: "-5%"}}
	if got, want := names(sc.Gate.With(over...)), "bookings=-5% error_rate=+0.5pp hold_p99=+20% lost_holds=0"; got != want {
		t.Errorf("gate with overrides %q, want %q", got, want)
	}
	if got, want := names(sc.Gate), "error_rate=+0.5pp hold_p99=+10% lost_holds=0 throughput=-5%"; got != want {
		t.Errorf("With changed the scenario's gate: %q, want %q", got, want)
	}
	if _, ok := sc.Gate.Lookup("hold_p99"); !ok {
		t.Error("Lookup(hold_p99) found nothing")
	}
	if _, ok := sc.Gate.Lookup("bookings"); ok {
		t.Error("Lookup(bookings) found a tolerance the scenario does not have")
	}
}

func TestGateMetrics(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range GateMetrics() {
		if seen[m.Name] {
			t.Errorf("metric %s listed twice", m.Name)
		}
		seen[m.Name] = true
		if got, ok := LookupGateMetric(m.Name); !ok || got != m {
			t.Errorf("LookupGateMetric(%s) = %+v, %v", m.Name, got, ok)
		}
		if m.About == "" {
			t.Errorf("metric %s has no description", m.Name)
		}
	}
	for _, k := range opKinds {
		if !seen[string(k)+"_p99"] {
			t.Errorf("operation %s has no gate metric", k)
		}
	}
	if !IsBusinessCode("seat_unavailable") || IsBusinessCode("internal") {
		t.Error("IsBusinessCode disagrees with the error rate's business codes")
	}
}

func TestQuickstartGate(t *testing.T) {
	sc := loadScenario(t, "quickstart.yaml")
	for _, m := range []string{"hold_p99", "checkout_p99", "throughput", "error_rate", "bookings", "lost_holds"} {
		if _, ok := sc.Gate.Lookup(m); !ok {
			t.Errorf("quickstart gates no %s (gate %+v)", m, sc.Gate)
		}
	}
	if tol, _ := sc.Gate.Lookup("error_rate"); tol.Kind != Points || tol.Limit != 1 {
		t.Errorf("quickstart error_rate tolerance %+v, want 1 percentage point", tol)
	}
}

// TestToleranceFloor: a tolerance with a floor is exceeded only by a move beyond both its
// percentage and its floor, in the metric's bad direction.
func TestToleranceFloor(t *testing.T) {
	tol, err := ParseTolerance("hold_p50", "+20% or +5ms")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		base, cand float64
		want       bool
	}{
		{2, 2.6, false},   // +30%, +0.6 ms: within the floor
		{2, 6.9, false},   // +245%, +4.9 ms: within the floor
		{2, 22, true},     // a 20 ms delay
		{100, 110, false}, // +10%, beyond the floor but within the percentage
		{100, 121, true},  // beyond both
		{22, 2, false},    // better
	} {
		if got := tol.Exceeded(c.base, c.cand); got != c.want {
			t.Errorf("%s from %v to %v: exceeded %v, want %v", tol.Text, c.base, c.cand, got, c.want)
		}
	}
	thr, err := ParseTolerance("throughput", "-10% or -50/s")
	if err != nil {
		t.Fatal(err)
	}
	if thr.Exceeded(200, 160) || !thr.Exceeded(1000, 800) || thr.Exceeded(1000, 1100) {
		t.Errorf("%s: want -40/s from 200 within the floor, -200/s from 1000 beyond both, a rise never", thr.Text)
	}
}
