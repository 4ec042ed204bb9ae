package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Shadow is what a shadow strategy found beside the run's strategy (stampede run --shadow):
// the reference server's GET /admin/shadow as it answered at the end of the run (server/api.yaml,
// ShadowReport). Every hold, release and confirm the run's strategy (Primary) decided was
// replayed against Shadow on its own copy of the inventory; the divergences are the decisions on
// which the two differed.
type Shadow struct {
	Primary string `json:"primary"`
	Shadow  string `json:"shadow"`
	// Replayed operations were compared; Skipped were not (the primary's outcome was not a
	// decision, or the shadow had no copy of the hold); Dropped found the shadow's queue full;
	// Pending still waited for the shadow when the report was read.
	Replayed    int64             `json:"replayed"`
	Skipped     int64             `json:"skipped"`
	Dropped     int64             `json:"dropped"`
	Pending     int64             `json:"pending"`
	Divergences int64             `json:"divergences"`
	Kinds       []ShadowKind      `json:"kinds"`
	Latency     []ShadowOpLatency `json:"latency"`
}

// ShadowKind is the divergences of one kind (hold_refused, hold_granted, confirm_refused,
// confirm_sold, release_differs, outcome_differs, error), with the first few as examples.
type ShadowKind struct {
	Kind     string             `json:"kind"`
	About    string             `json:"about"`
	Count    int64              `json:"count"`
	Examples []ShadowDivergence `json:"examples,omitempty"`
}

// ShadowDivergence is one decision on which the shadow differed: the operation, the seats (or
// GA tier and quantity), when the primary answered, and both decisions ("ok" or the error
// code).
type ShadowDivergence struct {
	Kind        string    `json:"kind"`
	Op          string    `json:"op"`
	Event       string    `json:"event_id"`
	Seats       []string  `json:"seats,omitempty"`
	Tier        string    `json:"tier,omitempty"`
	Quantity    int       `json:"quantity,omitempty"`
	At          time.Time `json:"at"`
	Primary     string    `json:"primary"`
	Shadow      string    `json:"shadow"`
	PrimaryHold string    `json:"primary_hold,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	AfterDrops  int64     `json:"after_drops,omitempty"`
}

// ShadowOpLatency is both strategies' latency for one operation, over the operations replayed.
type ShadowOpLatency struct {
	Op      string        `json:"op"`
	Primary ShadowLatency `json:"primary"`
	Shadow  ShadowLatency `json:"shadow"`
}

// ShadowLatency is one strategy's latency in milliseconds.
type ShadowLatency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// DecodeShadow reads the body of GET /admin/shadow: the one decoder of that answer.
func DecodeShadow(b []byte) (*Shadow, error) {
	var s Shadow
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode shadow report: %w", err)
	}
	if s.Shadow == "" {
		return nil, errors.New("decode shadow report: no shadow strategy named")
	}
	return &s, nil
}

// Where says what a divergence was about: its seats, or its GA units, on its event.
func (d ShadowDivergence) Where() string {
	what := strings.Join(d.Seats, ", ")
	if d.Tier != "" {
		what = fmt.Sprintf("%d of %s", d.Quantity, d.Tier)
	}
	return fmt.Sprintf("%s %s", d.Event, what)
}

// Line is the shadow in one sentence.
func (s *Shadow) Line() string {
	line := fmt.Sprintf("shadow %s beside %s: %d divergences in %d replayed operations", s.Shadow, s.Primary, s.Divergences, s.Replayed)
	if s.Skipped > 0 {
		line += fmt.Sprintf(", %d not compared", s.Skipped)
	}
	if s.Dropped > 0 {
		line += fmt.Sprintf(", %d dropped (queue full)", s.Dropped)
	}
	if s.Pending > 0 {
		line += fmt.Sprintf(", %d still pending", s.Pending)
	}
	return line
}

// shadowMarkdown writes the shadow section of one run in report.md.
func shadowMarkdown(b *strings.Builder, s *Shadow) {
	fmt.Fprintf(b, "**Shadow**: %s.\n\n", mdEscape(s.Line()))
	if len(s.Kinds) > 0 {
		b.WriteString("| divergence | count | what | first examples (seats, time, primary / shadow) |\n|---|---:|---|---|\n")
		for _, k := range s.Kinds {
			var ex []string
			for i, d := range k.Examples {
				if i == 3 {
					break
				}
				ex = append(ex, fmt.Sprintf("%s %s at %s: %s / %s", d.Op, d.Where(), d.At.UTC().Format("15:04:05.000"), d.Primary, d.Shadow))
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s |\n", k.Kind, k.Count, mdEscape(k.About), mdEscape(strings.Join(ex, "; ")))
		}
		b.WriteString("\n")
	}
	if len(s.Latency) > 0 {
		fmt.Fprintf(b, "| operation | count | %s p50 | %s p99 | %s p50 | %s p99 |\n|---|---:|---:|---:|---:|---:|\n", s.Primary, s.Primary, s.Shadow, s.Shadow)
		for _, l := range s.Latency {
			fmt.Fprintf(b, "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", l.Op, l.Primary.Count, l.Primary.P50, l.Primary.P99, l.Shadow.P50, l.Shadow.P99)
		}
		b.WriteString("\n")
	}
}

// shadowCase is the shadow as a JUnit case: it passes, since the run's verdict is the primary's,
// and says what the shadow found; divergences are listed in its output.
func shadowCase(s *Shadow, class string) junitCase {
	var out strings.Builder
	out.WriteString(s.Line())
	for _, k := range s.Kinds {
		fmt.Fprintf(&out, "\n%s: %d (%s)", k.Kind, k.Count, k.About)
		for _, d := range k.Examples {
			fmt.Fprintf(&out, "\n  %s %s at %s: primary %s, shadow %s", d.Op, d.Where(), d.At.UTC().Format(time.RFC3339Nano), d.Primary, d.Shadow)
		}
	}
	for _, l := range s.Latency {
		fmt.Fprintf(&out, "\n%s p99: %s %.1f ms, %s %.1f ms", l.Op, s.Primary, l.Primary.P99, s.Shadow, l.Shadow.P99)
	}
	return junitCase{Name: "shadow " + s.Shadow, Classname: class, SystemOut: out.String()}
}
