package reports

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
)

// Markdown writes report.md: the verdict first (and any coverage shortfall or generator
// bottleneck), then the comparison table, then per run a line with its verdict and first
// reason, folding (in <details>, open for a run that did not pass) its checks, hazard
// coverage, load generator, where the time went, faults, SLOs and latencies; then a short
// glossary. It is meant for a CI step summary or a pull-request comment, so it stays short
// when everything passed.
func Markdown(w io.Writer, s *Summary) error {
	var b strings.Builder
	failed, unknown := verdictCounts(s)
	verdict := strings.ToUpper(s.Verdict)
	if s.Verdict == Pass && s.CoverageShort {
		verdict = "PASS, COVERAGE SHORT"
	}
	fmt.Fprintf(&b, "# stampede: %s\n\n", verdict)
	if s.Interrupted {
		fmt.Fprintf(&b, "**Interrupted** (Ctrl-C or SIGTERM) before the run finished: %s under way, the last cut short.\n\n",
			plural(len(s.Runs), "1 strategy x database was", fmt.Sprintf("%d strategies x databases were", len(s.Runs))))
	}
	switch {
	case s.Verdict == Pass:
		fmt.Fprintf(&b, "**%d of %d runs passed**: no seat sold twice, no money lost, every SLO held.\n\n", len(s.Runs), len(s.Runs))
	default:
		switch {
		case failed > 0 && unknown > 0:
			fmt.Fprintf(&b, "**%d of %d runs failed, %d could not be judged.**\n\n", failed, len(s.Runs), unknown)
		case failed > 0 || len(s.Runs) == 0:
			fmt.Fprintf(&b, "**%d of %d runs failed.**\n\n", failed, len(s.Runs))
		default:
			fmt.Fprintf(&b, "**%d of %d runs could not be judged.**\n\n", unknown, len(s.Runs))
		}
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
	if s.CoverageShort {
		b.WriteString("**Coverage short**: these runs created some hazard fewer times than required, so their checks were not exercised as the scenario meant (exit status 5):\n\n")
		for _, r := range s.Runs {
			if len(r.Shortfall) > 0 {
				fmt.Fprintf(&b, "- **%s on %s**: %s\n", r.Strategy, r.DB, strings.Join(r.Shortfall, "; "))
			}
		}
		b.WriteString("\n")
	}
	if n := s.GeneratorBound(); n > 0 {
		fmt.Fprintf(&b, "**The load generator was the bottleneck in %d %s**: %s latencies and error rates measured the generator as much as the target, so %s SLO %s not trustworthy. Scale the herd down (`--scale`) or give the generator more cores or connections.\n\n",
			n, plural(n, "run", "runs"), plural(n, "its", "their"), plural(n, "its", "their"), plural(n, "verdict is", "verdicts are"))
	}
	if n := notInjected(s); n > 0 {
		fmt.Fprintf(&b, "**%d scheduled %s not injected**: the target could not undergo %s, so the verdict does not cover %s (see the runs below).\n\n",
			n, plural(n, "fault was", "faults were"), plural(n, "it", "them"), plural(n, "it", "them"))
	}
	gateMarkdown(&b, s)
	fmt.Fprintf(&b, "Scenario `%s`, seed %d%s%s, %s.\n\n", s.Scenario, s.Seed, repeatText(s.Repeat), scaleText(s.Scale)+serveText(s.ServeFlags), fmtDuration(s.DurationSeconds))
	storageMarkdown(&b, s)
	capacityMarkdown(&b, s)

	b.WriteString("| strategy | db | verdict | holds/s | bookings/s | hold p99 | checkout p99 | bookings | refunds | lost holds | shed | limit | hazards | faults |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n")
	for _, r := range s.Runs {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %s | %s | %d | %d | %d | %d | %s | %s | %s |\n",
			r.Strategy, r.DB+r.repeatText(), badge(r.Verdict), r.Throughput.HoldsPerSec, r.Throughput.BookingsPerSec,
			msCell(r.Latency["hold"]), msCell(r.Latency["checkout"]), r.Bookings, r.Refunds, r.LostHolds, r.Shed, limitCell(r), hazardCell(r), faultList(r.Faults))
	}
	b.WriteString("\n")
	samplesMarkdown(&b, s)

	b.WriteString("## Runs\n\n")
	for _, r := range s.Runs {
		// GitHub renders markdown inside <details> only after a blank line.
		open := ""
		if r.Verdict != Pass {
			open = " open"
		}
		fmt.Fprintf(&b, "<details%s><summary>%s</summary>\n\n", open, html.EscapeString(runLine(r)))
		if r.Error != "" {
			fmt.Fprintf(&b, "Run error: %s\n\n", mdEscape(r.Error))
		}
		for _, n := range r.TargetNotes {
			fmt.Fprintf(&b, "**Target**: %s.\n\n", mdEscape(n))
		}
		if len(r.Checks) > 0 {
			b.WriteString("| check | result | checked | violations | first counterexample |\n|---|---|---:|---:|---|\n")
			for _, c := range r.Checks {
				ce := mdEscape(c.Counterexample)
				if c.Visualization != "" {
					ce += fmt.Sprintf(" ([visualization](%s))", c.Visualization)
				}
				checked, violations := checkFigures(c)
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Name, badge(c.Result), checked, violations, ce)
			}
			b.WriteString("\n")
		}
		if len(r.Coverage) > 0 {
			b.WriteString("| hazard | count | peak | minimum | feeds |\n|---|---:|---:|---:|---|\n")
			for _, c := range r.Coverage {
				fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", c.Hazard, c.Count, dashIfZero(c.Peak), minCell(c), strings.Join(c.Checks, ", "))
			}
			b.WriteString("\n")
		}
		if g := r.Generator; g != nil {
			fmt.Fprintf(&b, "%s\n\n", generatorText(g))
		}
		if a := r.Attribution; a != nil {
			fmt.Fprintf(&b, "**Limiting resource: %s**: %s.", a.Limit, mdEscape(a.Why))
			if a.Shed > 0 {
				fmt.Fprintf(&b, " %d requests shed (%s).", a.Shed, a.ShedSource)
			}
			for _, n := range a.Notes {
				fmt.Fprintf(&b, " %s.", mdEscape(n))
			}
			b.WriteString("\n\n")
			if len(a.Costs) > 0 {
				b.WriteString("| where the time went | seconds | share | from |\n|---|---:|---:|---|\n")
				for _, c := range a.Costs {
					fmt.Fprintf(&b, "| %s | %.1f | %.0f%% | %s |\n", c.Resource, c.Seconds, c.Share*100, mdEscape(c.Source))
				}
				b.WriteString("\n")
			}
		}
		if r.Shadow != nil {
			shadowMarkdown(&b, r.Shadow)
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
			b.WriteString("| SLO | target | actual | judged on | result |\n|---|---:|---:|---|---|\n")
			for _, o := range r.SLOs {
				res := Pass
				if !o.Pass {
					res = Fail
				}
				res = badge(res)
				switch {
				case o.Untrusted:
					res += " (not trustworthy: the generator was the bottleneck)"
				case o.FromSend:
					res += " (from sending to answer: the target missed it even without the driver's waits)"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", o.Name, fmtVal(o.Target, o.Unit), o.ActualText(), mdEscape(o.ScopeText()), res)
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
		b.WriteString("</details>\n\n")
	}
	b.WriteString("## Terms\n\n")
	for _, t := range glossary {
		fmt.Fprintf(&b, "- **%s**: %s\n", t.Term, t.Means)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// verdictCounts counts the runs that failed and those that could not be judged.
func verdictCounts(s *Summary) (failed, unknown int) {
	for _, r := range s.Runs {
		switch r.Verdict {
		case Pass:
		case Unknown:
			unknown++
		default:
			failed++
		}
	}
	return failed, unknown
}

// generatorText is a run's load generator in one sentence.
func generatorText(g *Generator) string {
	var b strings.Builder
	if g.Bound {
		b.WriteString("**The load generator was the bottleneck**: ")
		b.WriteString(mdEscape(strings.Join(g.Reasons, "; ")))
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "Generator: lag p99 %.1f ms (arrivals %.1f ms), %d requests waited for one of its connection slots (p99 %.1f ms), %d never got one",
		g.LagP99Ms, g.ArrivalLagP99Ms, g.SlotWaits, g.SlotWaitP99Ms, g.SlotStarved)
	if g.Dropped > 0 {
		fmt.Fprintf(&b, ", %d arrivals dropped", g.Dropped)
	}
	if g.Cores > 0 {
		fmt.Fprintf(&b, "; CPU %.2f of %d cores on average, %.2f at most", g.CPUMeanCores, g.Cores, g.CPUMaxCores)
	}
	b.WriteString(".")
	return b.String()
}

// limitCell is a run's limiting resource for the comparison table.
func limitCell(r Run) string {
	if r.Attribution == nil || r.Attribution.Limit == "" {
		return "-"
	}
	return r.Attribution.Limit
}

// serveText is ", server flags --overload-target=100ms" when the reference server was given
// flags beyond the run's own, "" otherwise.
func serveText(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	return ", server flags " + strings.Join(flags, " ")
}

// scaleText is ", scale x0.1" for a scaled herd, "" otherwise.
func scaleText(f float64) string {
	if f == 0 || f == 1 {
		return ""
	}
	return fmt.Sprintf(", scale x%g", f)
}

func badge(v string) string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "**FAIL**"
	case Unknown:
		return "**unknown**"
	case NotExercised:
		return "_not exercised_"
	}
	return v
}

// hazardCell says how many hazards a run created of those counted, and whether it fell short.
func hazardCell(r Run) string {
	if len(r.Coverage) == 0 {
		return "-"
	}
	cell := fmt.Sprintf("%d of %d", exercised(r.Coverage), len(r.Coverage))
	if len(r.Shortfall) > 0 {
		cell += " **short**"
	}
	return cell
}

// minCell is a hazard's minimum: "-" when none was asked, marked when the run fell short.
func minCell(c Coverage) string {
	switch {
	case c.Min == 0:
		return "-"
	case c.Short():
		return fmt.Sprintf("**%d (short)**", c.Min)
	}
	return fmt.Sprintf("%d", c.Min)
}

func dashIfZero(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d", n)
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
