package workloads

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// loadScenario loads a scenario file of the repository's scenarios/ folder.
func loadScenario(tb testing.TB, name string) *Scenario {
	tb.Helper()
	sc, err := Load(filepath.Join("..", "scenarios", name))
	if err != nil {
		tb.Fatalf("Load(%s): %v", name, err)
	}
	return sc
}

func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"quickstart.yaml": false, "eras-tour.yaml": false, "hot-seat.yaml": false, "general-admission.yaml": false,
		"gauntlet.yaml": false}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc := loadScenario(t, filepath.Base(f))
			if _, ok := want[filepath.Base(f)]; ok {
				want[filepath.Base(f)] = true
			}
			p, err := NewPlan(sc, sc.Seed)
			if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			if p.Users() < 1 {
				t.Errorf("plan of %s has %d users", sc.Name, p.Users())
			}
			// Every shipped scenario says what it exercises.
			if len(sc.Coverage) == 0 {
				t.Errorf("%s declares no coverage: minimums", sc.Name)
			}
			for _, spec := range sc.EventSpecs() {
				if len(spec.Sections) == 0 && len(spec.GATiers) == 0 {
					t.Errorf("event %s has nothing on sale", spec.ID)
				}
			}
		})
	}
	for f, seen := range want {
		if !seen {
			t.Errorf("scenarios/%s is missing", f)
		}
	}
}

func TestBenchHerdParses(t *testing.T) {
	sc, err := Load(filepath.Join("..", "bench", "herd-1m.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(sc, sc.Seed)
	if err != nil || p.Users() != 1_000_000 {
		t.Fatalf("herd-1m plan: %d users, %v; want 1000000", p.Users(), err)
	}
}

func TestQuickstartShape(t *testing.T) {
	sc := loadScenario(t, "quickstart.yaml")
	p, err := NewProfile(sc.Arrivals)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Total(); n < 200 || n > 600 {
		t.Errorf("quickstart brings %d users, want a few hundred", n)
	}
	if d := p.Duration(); d < 10*time.Second || d > 20*time.Second {
		t.Errorf("quickstart arrivals last %s, want 10-20s", d)
	}
	if sc.HoldTTL <= 0 || sc.HoldTTL > 10*time.Second {
		t.Errorf("quickstart hold_ttl %s, want a few seconds", sc.HoldTTL)
	}
	var faults []string
	for _, f := range sc.Faults {
		faults = append(faults, f["fault"].(string))
	}
	if got := strings.Join(faults, ","); got != "redis-restart,psp-delay" {
		t.Errorf("quickstart faults %s, want redis-restart,psp-delay", got)
	}
	delay, err := parseDuration(sc.Faults[1]["delay"].(string))
	if err != nil || delay <= sc.HoldTTL {
		t.Errorf("psp-delay delay %v (err %v) must exceed hold_ttl %s", delay, err, sc.HoldTTL)
	}
}

const validYAML = `name: t
inventory: {sections: 1, rows: 2, seats_per_row: 5}
arrivals: {profile: constant, rate: 10/s, users: 20}
users:
  - {flow: buy, weight: 1}
`

func TestParseValid(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(validYAML))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if sc.Arrivals.Rate != 10 || sc.Arrivals.Users != 20 || sc.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("parsed %+v", sc.Arrivals)
	}
	if got := sc.Users[0].Seats.Choice; got != ChoiceBestAvailable {
		t.Errorf("default choice %q, want best-available", got)
	}
	specs := sc.EventSpecs()
	if len(specs) != 1 || specs[0].ID != "t-1" || len(specs[0].Sections) != 1 || specs[0].Sections[0].Name != "A" {
		t.Errorf("EventSpecs() = %+v", specs)
	}
}

// TestValidationErrors feeds one mistake of each kind and checks the error names the line and
// the field. Each case is a testdata file whose first line is a comment with the wanted error.
func TestValidationErrors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d invalid fixtures", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "# want:"))
			_, err = Parse(filepath.Base(f), src)
			if err == nil {
				t.Fatalf("Parse(%s) = nil error, want %q", filepath.Base(f), want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Parse(%s) error:\n%v\nwant it to contain %q", filepath.Base(f), err, want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || (fe.Line == 0 && wantsLine.MatchString(want)) {
				t.Errorf("Parse(%s) error %v has no line", filepath.Base(f), err)
			}
		})
	}
}

var wantsLine = regexp.MustCompile(`\.yaml:\d+:`)

func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	seeds, _ := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	for _, s := range append(seeds, more...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		sc, err := Parse("fuzz.yaml", src)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// A scenario that validates must give a plan (bounded: only the first users).
		p, err := NewPlan(sc, 1)
		if err != nil {
			t.Fatalf("valid scenario without a plan: %v", err)
		}
		for i := 0; i < min(p.Users(), 50); i++ {
			_ = p.User(i)
		}
		_ = sc.EventSpecs()
	})
}
