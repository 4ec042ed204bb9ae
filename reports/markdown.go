package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Markdown writes report.md: the verdict first, then the comparison table, then per run the
// checks that did not pass, the faults and the SLOs. It is meant for a CI step summary or a
// pull-request comment, so it stays short when everything passed.
func Markdown(w io.Writer, s *Summary) error {
	var b strings.Builder
	failed := 0
	for _, r := range s.Runs {
		if r.Verdict != Pass {
			failed++
		}
	}
	verdict := "PASS"
	if s.Verdict != Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "# stampede: %s\n\n", verdict)
	switch {
	case s.Verdict == Pass:
		fmt.Fprintf(&b, "**%d of %d runs passed**: no seat sold twice, no money lost, every SLO held.\n\n", len(s.Runs), len(s.Runs))
	default:
		fmt.Fprintf(&b, "**%d of %d runs failed.**\n\n", failed, len(s.Runs))
		for _, r := range s.Runs {
			if r.Verdict == Pass {
				continue
			}
			fmt.Fprintf(&b, "- **%s on %s**: %s\n", r.Strategy, r.DB, strings.Join(r.Reasons, "; "))
			for _, c := range r.Checks {
				if c.Result == Fail && c.Counterexample != "" {
					fmt.Fprintf(&b, "  - %s: %s\n", c.Name, mdEscape(c.Counterexample))
				}
			}
		}
		b.WriteString("\n")
	}
	if n := notInjected(s); n > 0 {
		fmt.Fprintf(&b, "**%d scheduled %s not injected**: the target could not undergo %s, so the verdict does not cover %s (see the runs below).\n\n",
			n, plural(n, "fault was", "faults were"), plural(n, "it", "them"), plural(n, "it", "them"))
	}
	fmt.Fprintf(&b, "Scenario `%s`, seed %d, %s.\n\n", s.Scenario, s.Seed, fmtDuration(s.DurationSeconds))
	capacityMarkdown(&b, s)

	b.WriteString("| strategy | db | verdict | holds/s | bookings/s | hold p99 | checkout p99 | bookings | refunds | lost holds | faults |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range s.Runs {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %s | %s | %d | %d | %d | %s |\n",
			r.Strategy, r.DB, badge(r.Verdict), r.Throughput.HoldsPerSec, r.Throughput.BookingsPerSec,
			msCell(r.Latency["hold"]), msCell(r.Latency["checkout"]), r.Bookings, r.Refunds, r.LostHolds, faultList(r.Faults))
	}
	b.WriteString("\n")

	for _, r := range s.Runs {
		fmt.Fprintf(&b, "## %s on %s: %s\n\n", r.Strategy, r.DB, badge(r.Verdict))
		if r.Error != "" {
			fmt.Fprintf(&b, "Run error: %s\n\n", mdEscape(r.Error))
		}
		if len(r.Checks) > 0 {
			b.WriteString("| check | result | count | first counterexample |\n|---|---|---:|---|\n")
			for _, c := range r.Checks {
				ce := mdEscape(c.Counterexample)
				if c.Visualization != "" {
					ce += fmt.Sprintf(" ([visualization](%s))", c.Visualization)
				}
				fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", c.Name, badge(c.Result), c.Count, ce)
			}
			b.WriteString("\n")
		}
		if len(r.Faults) > 0 {
			b.WriteString("| fault | window | parameters | result |\n|---|---|---|---|\n")
			for _, f := range r.Faults {
				res := "injected"
				if f.Error != "" {
					res = "**not injected**: " + mdEscape(f.Error)
				}
				fmt.Fprintf(&b, "| %s | %.1f s - %.1f s | %s | %s |\n", f.Fault, f.Start, f.End, mdEscape(paramList(f.Params)), res)
			}
			b.WriteString("\n")
		}
		if len(r.SLOs) > 0 {
			b.WriteString("| SLO | target | actual | result |\n|---|---:|---:|---|\n")
			for _, o := range r.SLOs {
				res := Pass
				if !o.Pass {
					res = Fail
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", o.Name, fmtVal(o.Target, o.Unit), fmtVal(o.Actual, o.Unit), badge(res))
			}
			b.WriteString("\n")
		}
		if c := r.CapacitySearch; c != nil && len(c.Steps) > 0 {
			b.WriteString("Capacity search, step by step (the checks, SLOs and latencies here are those of the highest load that held, or of the step that ended the search):\n\n")
			capacityStepsMarkdown(&b, c)
		}
		if len(r.Latency) > 0 {
			b.WriteString("| operation | count | p50 | p90 | p99 | p99.9 |\n|---|---:|---:|---:|---:|---:|\n")
			for _, op := range sortedKeys(r.Latency) {
				p := r.Latency[op]
				fmt.Fprintf(&b, "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", op, p.Count, p.P50, p.P90, p.P99, p.P999)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

func badge(v string) string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "**FAIL**"
	case Unknown:
		return "**unknown**"
	}
	return v
}

func msCell(p Percentiles) string {
	if p.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", p.P99)
}

func faultList(fs []FaultWindow) string {
	if len(fs) == 0 {
		return "-"
	}
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		name := fmt.Sprintf("%s@%.0fs", f.Fault, f.Start)
		if f.Error != "" {
			name += " (not injected)"
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// notInjected counts the scheduled faults of every run that the target could not undergo.
func notInjected(s *Summary) int {
	n := 0
	for _, r := range s.Runs {
		for _, f := range r.Faults {
			if f.Error != "" {
				n++
			}
		}
	}
	return n
}

// paramList is a fault's parameters as k=v, sorted; "-" when there are none.
func paramList(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func fmtDuration(sec float64) string {
	if sec < 60 {
		return fmt.Sprintf("%.1f s", sec)
	}
	return fmt.Sprintf("%dm%02ds", int(sec)/60, int(sec)%60)
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
