package reports

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// hasCapacity says whether any run searched for its capacity.
func hasCapacity(s *Summary) bool {
	for _, r := range s.Runs {
		if r.CapacitySearch != nil {
			return true
		}
	}
	return false
}

// capacityMarkdown writes report.md's capacity section: a table of every search, then each
// answer with its limit, on-sale advice and scalability fit.
func capacityMarkdown(b *strings.Builder, s *Summary) {
	if !hasCapacity(s) {
		return
	}
	b.WriteString("## Capacity\n\n")
	b.WriteString("| strategy | db | capacity | boundary | objectives | limited by | USL peak | admit | verdict |\n")
	b.WriteString("|---|---|---:|---|---|---|---:|---:|---|\n")
	for _, r := range s.Runs {
		c := r.CapacitySearch
		if c == nil {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Strategy, r.DB, capacityCell(c), boundaryCell(c),
			mdEscape(orDash(c.Objectives)), mdEscape(orDash(c.Limit)), peakCell(c.Fit), admitCell(c.OnSale), capacityBadge(c))
	}
	b.WriteString("\n")
	for _, r := range s.Runs {
		c := r.CapacitySearch
		if c == nil {
			continue
		}
		fmt.Fprintf(b, "- **%s**", mdEscape(c.Answer))
		if c.LimitEvidence != "" {
			fmt.Fprintf(b, " (%s)", mdEscape(c.LimitEvidence))
		}
		b.WriteString("\n")
		if c.BelowMin {
			fmt.Fprintf(b, "  - **below the minimum**: %s\n", mdEscape(c.Reason))
		}
		if o := c.OnSale; o != nil {
			fmt.Fprintf(b, "  - on-sale: %s\n", onSaleWords(o))
		}
		if f := c.Fit; f != nil {
			fmt.Fprintf(b, "  - scalability: %s\n", fitWords(f))
		} else if c.FitNote != "" {
			fmt.Fprintf(b, "  - scalability: no fit (%s)\n", mdEscape(c.FitNote))
		}
		fmt.Fprintf(b, "  - %d %s in %s%s\n", len(c.Steps), plural(len(c.Steps), "step", "steps"), fmtDuration(c.ElapsedSeconds), searchNote(c))
	}
	b.WriteString("\n")
}

// capacityStepsMarkdown writes a run's search, step by step.
func capacityStepsMarkdown(b *strings.Builder, c *Capacity) {
	if c == nil || len(c.Steps) == 0 {
		return
	}
	b.WriteString("| # | phase | offered | throughput | in flight | hold p99 | checkout p99 | errors | result |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---|\n")
	for i, s := range c.Steps {
		fmt.Fprintf(b, "| %d | %s | %.4g/s | %.1f/s | %.1f | %s | %s | %.2f%% | %s |\n", i+1, s.Phase, s.Offered, s.Throughput, s.Concurrency,
			p99Cell(s.P99, "hold"), p99Cell(s.P99, "checkout"), s.ErrorRate*100, mdEscape(stepResult(s)))
	}
	b.WriteString("\n")
}

func stepResult(s CapacityStep) string {
	switch {
	case s.Unsafe:
		return "**UNSAFE**: " + strings.Join(s.Failures, "; ")
	case s.GeneratorBound:
		return "generator-bound"
	case s.Pass:
		return "held"
	}
	return "missed " + strings.Join(s.Failures, "; ")
}

func capacityCell(c *Capacity) string {
	switch c.Verdict {
	case "capacity":
		return fmt.Sprintf("%.4g/s", c.Capacity)
	case "at-least", "generator-bound":
		return fmt.Sprintf(">= %.4g/s", c.Lower)
	}
	return "-"
}

func boundaryCell(c *Capacity) string {
	if c.Lower > 0 && c.Upper > 0 {
		return fmt.Sprintf("%.4g-%.4g", c.Lower, c.Upper)
	}
	return "-"
}

func peakCell(f *USLFit) string {
	switch {
	case f == nil:
		return "-"
	case f.PeakN > 0:
		return fmt.Sprintf("%.0f req/s at N %.1f", f.PeakThroughput, f.PeakN)
	case f.PeakThroughput > 0:
		return fmt.Sprintf("-> %.0f req/s", f.PeakThroughput)
	}
	return "none"
}

func admitCell(o *OnSale) string {
	if o == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g/s", o.AdmitRate)
}

func capacityBadge(c *Capacity) string {
	if c.BelowMin {
		return "**BELOW MIN**"
	}
	if c.Reason != "" {
		return "**" + strings.ToUpper(c.Verdict) + "**"
	}
	return c.Verdict
}

func p99Cell(m map[string]float64, op string) string {
	if v, ok := m[op]; ok {
		return fmt.Sprintf("%.0f ms", v)
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// onSaleWords is the on-sale advice in a sentence.
func onSaleWords(o *OnSale) string {
	s := fmt.Sprintf("admit %.4g/s at the waiting room, %s", o.AdmitRate, o.Rule)
	if o.Users == 0 {
		return s
	}
	over := "all at once"
	if o.OverSeconds > 0 {
		over = "over " + fmtDuration(o.OverSeconds)
	}
	if o.PeakQueue == 0 {
		return s + fmt.Sprintf("; %d fans %s (%.4g/s) are admitted as they come: no queue", o.Users, over, o.ArrivalRate)
	}
	return s + fmt.Sprintf("; %d fans %s: the queue reaches %.0f, the last fan waits %s and is admitted %s after the first arrival",
		o.Users, over, o.PeakQueue, waitWords(o.LastWaitSeconds), waitWords(o.DrainedSeconds))
}

// waitWords formats a wait: "2m15s", "1h05m".
func waitWords(sec float64) string {
	d := time.Duration(math.Round(sec)) * time.Second
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return d.String()
}

// fitWords is the scalability fit in a sentence.
func fitWords(f *USLFit) string {
	s := fmt.Sprintf("λ %.3g req/s, σ %.3g (contention), κ %.3g (coherency)", f.Lambda, f.Sigma, f.Kappa)
	switch {
	case f.PeakN > 0:
		s += fmt.Sprintf("; predicted peak %.0f req/s at concurrency N* %.1f", f.PeakThroughput, f.PeakN)
	case f.PeakThroughput > 0:
		s += fmt.Sprintf("; no peak: throughput levels off towards %.0f req/s", f.PeakThroughput)
	}
	if f.Knee > 0 {
		s += fmt.Sprintf(", knee at N %.1f", f.Knee)
	}
	return s + fmt.Sprintf("; residuals: RMSE %.3g req/s, largest %.1f%% of a measured point", f.RMSE, f.MaxRelative*100)
}

func searchNote(c *Capacity) string {
	var notes []string
	if c.Repeat > 1 {
		notes = append(notes, fmt.Sprintf("%d runs a load at the boundary", c.Repeat))
	}
	notes = append(notes, fmt.Sprintf("precision %.0f%%", c.Precision*100))
	if c.BudgetSeconds > 0 {
		notes = append(notes, "budget "+fmtDuration(c.BudgetSeconds))
	}
	if c.BudgetSpent {
		notes = append(notes, "**the budget ran out**")
	}
	if c.Mode == "rate" {
		notes = append(notes, fmt.Sprintf("each step a constant rate for %s", fmtDuration(c.StepSeconds)))
	} else {
		notes = append(notes, "each step the scenario's profile scaled")
	}
	return " (" + strings.Join(notes, ", ") + ")"
}
