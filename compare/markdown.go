package compare

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Markdown writes the comparison for a CI step summary or a pull-request comment: the verdict
// first (how many metrics got significantly worse or better), then what makes the comparison
// less fair, then a table of the headline metrics and of every significant change, and the
// whole comparison folded under it.
func (r *Result) Markdown(w io.Writer) error {
	var b strings.Builder
	worse, better, tooFew := r.count(Worse), r.count(Better), r.count(TooFew)
	switch {
	case worse+better == 0:
		b.WriteString("# stampede compare: no significant change\n\n")
	default:
		fmt.Fprintf(&b, "# stampede compare: %d worse, %d better\n\n", worse, better)
	}
	if tooFew > 0 {
		fmt.Fprintf(&b, "**%d %s could not be judged**: %s (`stampede run --repeat N`).\n\n",
			tooFew, plural(tooFew, "metric", "metrics"), tooFewNote(r.Alpha))
	}
	r.writeBody(&b, nil)
	return write(w, b.String())
}

// Markdown writes the gate's verdict for a CI step summary or a pull-request comment: the
// verdict and what decided it first (correctness failures, runs that did not complete, the
// metrics that regressed), then the gated metrics with their tolerances, then the comparison.
func (g *GateResult) Markdown(w io.Writer) error {
	var b strings.Builder
	r := g.Comparison
	failed, inconclusive := g.Failed(), g.Inconclusive()
	switch g.Verdict {
	case Pass:
		if len(inconclusive) > 0 {
			b.WriteString("# stampede gate: PASS, inconclusive\n\n")
		} else {
			b.WriteString("# stampede gate: PASS\n\n")
		}
		switch {
		case len(g.Tolerances) == 0:
			b.WriteString("**Nothing is gated** (no tolerances given), and every check of the candidate passed; the comparison is for information.\n\n")
		default:
			fmt.Fprintf(&b, "**No regression**: no gated metric moved beyond its tolerance with significance, and every check of the candidate passed.\n\n")
		}
	default:
		fmt.Fprintf(&b, "# stampede gate: FAIL (%s)\n\n", g.Verdict)
	}
	if len(g.Correctness) > 0 {
		fmt.Fprintf(&b, "**The candidate failed correctness checks** in %d %s; a correctness failure fails the gate whatever the tolerances:\n\n",
			len(g.Correctness), plural(len(g.Correctness), "run", "runs"))
		bullets(&b, g.Correctness)
	}
	if len(g.Incomplete) > 0 {
		fmt.Fprintf(&b, "**%d candidate %s could not complete**, so the candidate is not fully measured:\n\n",
			len(g.Incomplete), plural(len(g.Incomplete), "run", "runs"))
		bullets(&b, g.Incomplete)
	}
	if len(failed) > 0 {
		also := ""
		if g.Verdict != Regression {
			also = "Also, "
		}
		fmt.Fprintf(&b, "%s**%d %s regressed beyond %s tolerance** (significant at alpha %v):\n\n",
			also, len(failed), plural(len(failed), "metric", "metrics"), plural(len(failed), "its", "their"), r.Alpha)
		bullets(&b, reasons(failed))
	}
	if len(inconclusive) > 0 {
		fmt.Fprintf(&b, "**%d gated %s could not be judged**: %s (`stampede run --repeat N`).\n\n",
			len(inconclusive), plural(len(inconclusive), "metric", "metrics"), tooFewNote(r.Alpha))
	}
	r.writeBody(&b, g)
	return write(w, b.String())
}

// writeBody writes what both outputs share: the sides, the warnings, the gate's table (when
// g is not nil and gates something) and the comparison.
func (r *Result) writeBody(b *strings.Builder, g *GateResult) {
	fmt.Fprintf(b, "Scenario `%s`: base %s, candidate %s. Each side's runs of a strategy x database are its samples: "+
		"medians with %v%% confidence intervals%s, changes by the Mann-Whitney U test at alpha %v (~: no significant change).\n\n",
		r.Scenario, sideLine(r.Base), sideLine(r.Candidate), r.Confidence*100, r.intervalNote(), r.Alpha)
	var warnings []string
	warnings = append(warnings, r.Warnings...)
	for _, f := range r.Base.Failed {
		warnings = append(warnings, "the base failed a correctness check: "+f)
	}
	for _, e := range r.Base.Errored {
		warnings = append(warnings, "a base run could not complete: "+e)
	}
	if len(warnings) > 0 {
		b.WriteString("**Warnings**\n\n")
		bullets(b, warnings)
	}
	fn := &footnotes{}
	gated := map[string]string{}
	if g != nil && len(g.Tolerances) > 0 {
		gated = g.Tolerances
		b.WriteString("## Gate\n\n| strategy | db | metric | tolerance | base | candidate | delta | result |\n|---|---|---|---|---:|---:|---:|---|\n")
		for _, f := range g.Findings {
			if f.Tolerance == "" {
				continue
			}
			m, _ := r.cell(f.Strategy, f.DB).Metric(f.Metric)
			res := strings.ReplaceAll(string(f.Status), "-", " ")
			if f.Status == Regressed {
				res = "**FAIL**"
			}
			if f.Status == NotMeasured {
				fmt.Fprintf(b, "| %s | %s | %s | %s | - | - | - | not measured |\n", f.Strategy, f.DB, f.Metric, f.Tolerance)
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s%s |\n", f.Strategy, f.DB, f.Metric, f.Tolerance,
				estimateCell(m, m.Base), estimateCell(m, m.Candidate), delta(m), res, fn.mark(m.Notes...))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Comparison\n\n")
	shown, all := 0, 0
	var main, full strings.Builder
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			all++
			row := r.row(c, m, fn)
			full.WriteString(row)
			if _, isGated := gated[m.Name]; headline[m.Name] || isGated || m.Change == Worse || m.Change == Better {
				main.WriteString(row)
				shown++
			}
		}
	}
	const header = "| strategy | db | metric | base | candidate | delta | change | test |\n|---|---|---|---:|---:|---:|---|---|\n"
	if shown > 0 {
		b.WriteString(header + main.String() + "\n")
	}
	if all > shown {
		fmt.Fprintf(b, "<details><summary>All %d metrics</summary>\n\n%s%s\n</details>\n\n", all, header, full.String())
	}
	fn.write(b)
}

func (r *Result) row(c Cell, m Metric, fn *footnotes) string {
	change := string(m.Change)
	switch m.Change {
	case Worse:
		change = "**worse**"
	case TooFew:
		change = "too few"
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s%s |\n", c.Strategy, c.DB, m.Name,
		estimateCell(m, m.Base), estimateCell(m, m.Candidate), delta(m), change, pn(m), fn.mark(m.Notes...))
}

// intervalNote says why some medians have no interval: " (none where a side has too few
// runs: need >= 6 samples for confidence interval at level 0.95)".
func (r *Result) intervalNote() string {
	var notes []string
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			for _, w := range append(append([]string(nil), m.Base.Warnings...), m.Candidate.Warnings...) {
				addNote(&notes, w)
			}
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return " (none where a side has too few runs: " + strings.Join(notes, "; ") + ")"
}

func (r *Result) cell(strategy, db string) Cell {
	for _, c := range r.Cells {
		if c.Strategy == strategy && c.DB == db {
			return c
		}
	}
	return Cell{}
}

func (r *Result) count(ch Change) int {
	n := 0
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			if m.Change == ch {
				n++
			}
		}
	}
	return n
}

func sideLine(s SideInfo) string {
	src := make([]string, len(s.Sources))
	for i, p := range s.Sources {
		src[i] = "`" + p + "`"
	}
	line := fmt.Sprintf("%d %s (%s", s.Runs, plural(s.Runs, "run", "runs"), strings.Join(src, ", "))
	if len(s.Versions) > 0 {
		line += "; stampede " + strings.Join(s.Versions, ", ")
	}
	return line + ")"
}

// value formats a metric value in its unit.
func value(v float64, unit string) string {
	switch unit {
	case "ms":
		switch {
		case math.Abs(v) >= 100:
			return fmt.Sprintf("%.0f ms", v)
		case math.Abs(v) >= 10:
			return fmt.Sprintf("%.1f ms", v)
		}
		return fmt.Sprintf("%.2f ms", v)
	case "/s":
		return fmt.Sprintf("%.1f/s", v)
	case "%":
		return fmt.Sprintf("%.2f%%", v)
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// delta formats the change of the medians: "~" when not significant, "?" with too few
// samples; otherwise relative to the base (percentage points for a percentage, the metric's
// unit when the base is 0).
func delta(m Metric) string {
	switch m.Change {
	case Same:
		return "~"
	case Missing:
		return "n/a"
	}
	var d string
	switch {
	case m.Unit == "%":
		d = fmt.Sprintf("%+.2fpp", m.Delta)
	case m.DeltaPct != nil:
		d = fmt.Sprintf("%+.1f%%", *m.DeltaPct)
	default:
		d = "+" + value(m.Delta, m.Unit)
		if m.Delta < 0 {
			d = value(m.Delta, m.Unit)
		}
	}
	if m.Change == TooFew {
		return d + "?"
	}
	return d
}

// pn is the test's "p=0.008, n=5" (n=5+4 for unequal samples).
func pn(m Metric) string {
	n := fmt.Sprintf("n=%d+%d", m.Base.N, m.Candidate.N)
	if m.Base.N == m.Candidate.N {
		n = fmt.Sprintf("n=%d", m.Base.N)
	}
	if m.Change == Missing || m.Change == TooFew {
		return n
	}
	if m.P < 0.001 {
		return "p<0.001, " + n
	}
	return fmt.Sprintf("p=%.3f, %s", m.P, n)
}

// footnotes numbers the notes of a table, benchstat style.
type footnotes struct{ notes []string }

// mark returns the superscript numbers of notes, adding the new ones.
func (f *footnotes) mark(notes ...string) string {
	var s strings.Builder
	for _, n := range notes {
		i := 0
		for i < len(f.notes) && f.notes[i] != n {
			i++
		}
		if i == len(f.notes) {
			f.notes = append(f.notes, n)
		}
		s.WriteString(" " + superscript(i+1))
	}
	return s.String()
}

// estimateCell formats a side's median with its confidence interval, alone when the sample is
// too small for one.
func estimateCell(m Metric, e Estimate) string {
	if e.N == 0 {
		return "-"
	}
	s := value(e.Median, m.Unit)
	switch {
	case e.Lo == nil || e.Hi == nil:
		return s
	case e.Median == 0 && *e.Lo == 0 && *e.Hi == 0:
		return s + " ± 0%"
	case e.Median == 0 || math.Signbit(*e.Lo) != math.Signbit(e.Median) || math.Signbit(*e.Hi) != math.Signbit(e.Median):
		return s + " ± ?"
	}
	return s + fmt.Sprintf(" ± %.0f%%", 100*math.Max(*e.Hi/e.Median-1, 1-*e.Lo/e.Median))
}

func (f *footnotes) write(b *strings.Builder) {
	for i, n := range f.notes {
		fmt.Fprintf(b, "%s %s\n", superscript(i+1), n)
	}
	if len(f.notes) > 0 {
		b.WriteString("\n")
	}
}

func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	var out []rune
	for _, d := range fmt.Sprint(n) {
		out = append(out, []rune(digits)[d-'0'])
	}
	return string(out)
}

func reasons(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Reason
	}
	return out
}

func bullets(b *strings.Builder, lines []string) {
	for _, l := range lines {
		b.WriteString("- " + mdEscape(l) + "\n")
	}
	b.WriteString("\n")
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func write(w io.Writer, s string) error {
	if _, err := io.WriteString(w, s); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
