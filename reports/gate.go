package reports

import (
	"fmt"
	"math"
	"strings"
)

// Spread is one metric over the runs of a strategy x database: how many runs measured it, its
// median, and the median's confidence interval (Lo and Hi nil when the runs are too few for
// one at the level asked).
type Spread struct {
	N      int      `json:"n"`
	Median float64  `json:"median"`
	Lo     *float64 `json:"lo,omitempty"`
	Hi     *float64 `json:"hi,omitempty"`
}

// MetricSpread is a Spread of the metric called Metric (a gate metric: hold_p99, throughput,
// ...), whose unit is Unit ("ms", "/s", "%" or "" for a count).
type MetricSpread struct {
	Metric string `json:"metric"`
	Unit   string `json:"unit"`
	Spread
}

// Samples are the statistics of a strategy x database's repeated runs (stampede run --repeat
// N): every run is one sample, and each headline metric is summarized over them.
type Samples struct {
	Strategy string `json:"strategy"`
	DB       string `json:"db"`
	// Runs counts the runs that gave numbers (a run that could not complete is no sample).
	Runs int `json:"runs"`
	// Confidence is the level of the medians' intervals (0.95).
	Confidence float64        `json:"confidence"`
	Metrics    []MetricSpread `json:"metrics"`
}

// Gate verdicts, in order of precedence (see the compare package, which judges).
const (
	GatePass        = "pass"
	GateCorrectness = "correctness"
	GateIncomplete  = "incomplete"
	GateRegression  = "regression"
)

// Gate is a run judged against a baseline (stampede run --baseline): the verdict, a finding
// per gated metric and strategy x database, and where both sides' numbers came from.
type Gate struct {
	// Baseline names the baseline's summaries as given (paths).
	Baseline []string `json:"baseline"`
	// Verdict is GatePass, GateCorrectness (a run of this side failed a check: it fails the
	// gate whatever the tolerances), GateIncomplete (a run of this side did not complete) or
	// GateRegression (a gated metric moved beyond its tolerance, significantly).
	Verdict string `json:"verdict"`
	// Reasons say what failed the gate, one line each; empty on a pass.
	Reasons []string `json:"reasons,omitempty"`
	// Alpha is the significance level of the Mann-Whitney U test.
	Alpha float64 `json:"alpha"`
	// Tolerances maps each gated metric to its tolerance as written.
	Tolerances map[string]string `json:"tolerances"`
	Findings   []GateFinding     `json:"findings"`
	// Warnings say where the two sides differ in a way that makes the comparison less fair.
	Warnings []string `json:"warnings,omitempty"`
	// BaseRuns and Runs count each side's runs.
	BaseRuns int `json:"base_runs"`
	Runs     int `json:"runs"`
	// BaseProvenance is the baseline's provenance (nil in a baseline written before
	// provenance); this side's is the summary's own.
	BaseProvenance *Provenance `json:"base_provenance,omitempty"`
	// BaseVersions are the baseline's Versions, for a baseline without provenance.
	BaseVersions map[string]string `json:"base_versions,omitempty"`
}

// GateFinding is the gate's judgement of one gated metric of one strategy x database.
type GateFinding struct {
	Strategy  string `json:"strategy"`
	DB        string `json:"db"`
	Metric    string `json:"metric"`
	Unit      string `json:"unit"`
	Tolerance string `json:"tolerance"`
	// Status is regression (the only one that fails), within-tolerance, improved, unchanged,
	// inconclusive (too few runs to tell) or not-measured.
	Status string `json:"status"`
	// Reason says what moved, how sure the test is, and what the gate made of it.
	Reason    string `json:"reason"`
	Base      Spread `json:"base"`
	Candidate Spread `json:"candidate"`
	// P is the U test's p-value (1 when it was not run).
	P float64 `json:"p"`
}

// Failed reports whether the gate failed.
func (g *Gate) Failed() bool { return g != nil && g.Verdict != GatePass }

// Line is the gate's verdict in one line: "PASS", or "FAIL (regression): " and what failed it
// first, with how many more reasons there are.
func (g *Gate) Line() string {
	if !g.Failed() {
		return "PASS"
	}
	line := "FAIL (" + g.Verdict + ")"
	if len(g.Reasons) > 0 {
		line += ": " + g.Reasons[0]
		if n := len(g.Reasons) - 1; n > 0 {
			line += fmt.Sprintf(" (and %d more)", n)
		}
	}
	return line
}

// gateMarkdown writes the gate's section of report.md, right under the run's verdict: the
// gate's verdict and reasons, the gated metrics, and both sides' provenance side by side.
func gateMarkdown(b *strings.Builder, s *Summary) {
	g := s.Gate
	if g == nil {
		return
	}
	head := "PASS"
	if g.Failed() {
		head = "FAIL (" + g.Verdict + ")"
	}
	fmt.Fprintf(b, "## Gate against the baseline: %s\n\n", head)
	fmt.Fprintf(b, "Baseline %s: %d %s; this run: %d %s. A gated metric fails only when it moved beyond its tolerance in its bad direction "+
		"and the Mann-Whitney U test over the runs finds the move significant (alpha %v); a check that failed fails the gate whatever the numbers.\n\n",
		codeList(g.Baseline), g.BaseRuns, plural(g.BaseRuns, "run", "runs"), g.Runs, plural(g.Runs, "run", "runs"), g.Alpha)
	for _, r := range g.Reasons {
		fmt.Fprintf(b, "- **%s**\n", mdEscape(r))
	}
	if len(g.Reasons) > 0 {
		b.WriteString("\n")
	}
	if len(g.Findings) > 0 {
		b.WriteString("| strategy | db | metric | tolerance | baseline | this run | delta | test | result |\n|---|---|---|---|---:|---:|---:|---|---|\n")
		for _, f := range g.Findings {
			res := strings.ReplaceAll(f.Status, "-", " ")
			if f.Status == GateRegression {
				res = "**FAIL**"
			}
			test := fmt.Sprintf("p=%.3f", f.P)
			switch {
			case f.Status == "not-measured" || f.Status == "inconclusive":
				test = "-"
			case f.P < 0.001:
				test = "p<0.001"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s, n=%d+%d | %s |\n", f.Strategy, f.DB, f.Metric, f.Tolerance,
				spreadCell(f.Base, f.Unit), spreadCell(f.Candidate, f.Unit), deltaCell(f), test, f.Base.N, f.Candidate.N, res)
		}
		b.WriteString("\n")
	}
	if len(g.Warnings) > 0 {
		b.WriteString("**Warnings**\n\n")
		for _, w := range g.Warnings {
			fmt.Fprintf(b, "- %s\n", mdEscape(w))
		}
		b.WriteString("\n")
	}
	provenanceTable(b, g, s)
}

// provenanceTable sets the baseline's provenance beside this run's.
func provenanceTable(b *strings.Builder, g *Gate, s *Summary) {
	base, cand := g.BaseProvenance, s.Provenance
	if base == nil && cand == nil {
		return
	}
	row := func(name string, f func(*Provenance) string) {
		bv, cv := "-", "-"
		if base != nil {
			bv = f(base)
		}
		if cand != nil {
			cv = f(cand)
		}
		mark := ""
		if bv != cv {
			mark = " ≠"
		}
		fmt.Fprintf(b, "| %s%s | %s | %s |\n", name, mark, mdEscape(bv), mdEscape(cv))
	}
	b.WriteString("| provenance | baseline | this run |\n|---|---|---|\n")
	row("stampede", func(p *Provenance) string {
		if v := p.Build(); v != "" {
			return v
		}
		return "unknown"
	})
	row("scenario file", func(p *Provenance) string { return shortHash(p.ScenarioHash) })
	row("seeds", func(p *Provenance) string { return seedText(p.Seeds) })
	row("machine", func(p *Provenance) string { return p.Machine.String() })
	row("local storage", func(p *Provenance) string {
		if p.LocalStorage == "" {
			return "-"
		}
		return p.LocalStorage
	})
	names := map[string]bool{}
	for _, p := range []*Provenance{base, cand} {
		if p != nil {
			for n := range p.Services {
				names[n] = true
			}
		}
	}
	for _, n := range sortedKeys(names) {
		row(n, func(p *Provenance) string {
			if v := p.Services[n]; v != "" {
				return v
			}
			return "-"
		})
	}
	b.WriteString("\n")
}

// samplesMarkdown writes the statistics of repeated runs: per strategy x database, each
// headline metric's median with its confidence interval.
func samplesMarkdown(b *strings.Builder, s *Summary) {
	if len(s.Samples) == 0 {
		return
	}
	conf := s.Samples[0].Confidence
	fmt.Fprintf(b, "## Over the %d repeated runs\n\nEach strategy x database ran %d times, with seeds derived from seed %d; "+
		"each figure is the median of its runs with a %.0f%% confidence interval (none under 6 runs).\n\n",
		s.Repeat, s.Repeat, s.Seed, conf*100)
	var metrics []string
	units := map[string]string{}
	for _, c := range s.Samples {
		for _, m := range c.Metrics {
			if _, ok := units[m.Metric]; !ok {
				metrics = append(metrics, m.Metric)
				units[m.Metric] = m.Unit
			}
		}
	}
	b.WriteString("| strategy | db | runs |")
	for _, m := range metrics {
		fmt.Fprintf(b, " %s |", m)
	}
	b.WriteString("\n|---|---|---:|" + strings.Repeat("---:|", len(metrics)) + "\n")
	for _, c := range s.Samples {
		fmt.Fprintf(b, "| %s | %s | %d |", c.Strategy, c.DB, c.Runs)
		for _, name := range metrics {
			cell := "-"
			for _, m := range c.Metrics {
				if m.Metric == name {
					cell = spreadCell(m.Spread, m.Unit)
				}
			}
			fmt.Fprintf(b, " %s |", cell)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// gateJUnit is the gate as a test suite: a case per gated metric and strategy x database,
// failed when it regressed; a correctness or incomplete verdict is a case of its own.
func gateJUnit(s *Summary) (junitSuite, bool) {
	g := s.Gate
	if g == nil {
		return junitSuite{}, false
	}
	suite := junitSuite{Name: "gate"}
	if g.Verdict == GateCorrectness || g.Verdict == GateIncomplete {
		suite.Cases = append(suite.Cases, junitCase{Name: "gate " + g.Verdict, Classname: "stampede.gate",
			Failure: &junitFailure{Message: "gate: " + g.Verdict, Type: "gate", Body: strings.Join(g.Reasons, "\n")}})
	}
	for _, f := range g.Findings {
		tc := junitCase{Name: fmt.Sprintf("gate %s %s", f.Metric, f.Tolerance), Classname: fmt.Sprintf("stampede.%s.%s", f.Strategy, f.DB),
			SystemOut: f.Reason}
		switch f.Status {
		case GateRegression:
			tc.SystemOut, tc.Failure = "", &junitFailure{Message: f.Reason, Type: "regression", Body: f.Reason}
		case "not-measured", "inconclusive":
			tc.SystemOut, tc.Skipped = "", &junitSkipped{Message: f.Reason}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.count()
	return suite, true
}

// Build is the stampede build in one line: "v1.2 (0123456789ab, modified)"; "" when the
// build recorded neither version nor revision.
func (p *Provenance) Build() string {
	v := p.Version
	if p.Revision != "" {
		v += " (" + p.Revision[:min(12, len(p.Revision))]
		if p.Modified {
			v += ", modified"
		}
		v += ")"
	}
	return strings.TrimSpace(v)
}

// String is the machine in one line: "2 cores, 7.8 GiB, linux/amd64, <cpu>".
func (m Machine) String() string {
	s := fmt.Sprintf("%d cores", m.Cores)
	if m.MemoryBytes > 0 {
		s += fmt.Sprintf(", %.1f GiB", float64(m.MemoryBytes)/(1<<30))
	}
	s += ", " + m.OS + "/" + m.Arch
	if m.CPU != "" {
		s += ", " + m.CPU
	}
	return s
}

func shortHash(h string) string {
	if h == "" {
		return "-"
	}
	return h[:min(len(h), len("sha256:")+12)]
}

func seedText(seeds []int64) string {
	if len(seeds) == 0 {
		return "-"
	}
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}

func codeList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}

// spreadCell is "12.3 ms [10.1, 14.0]", or the median alone without an interval.
func spreadCell(sp Spread, unit string) string {
	if sp.N == 0 {
		return "-"
	}
	s := unitValue(sp.Median, unit)
	if sp.Lo != nil && sp.Hi != nil {
		s += fmt.Sprintf(" [%s, %s]", unitNumber(*sp.Lo, unit), unitNumber(*sp.Hi, unit))
	}
	return s
}

func deltaCell(f GateFinding) string {
	if f.Base.N == 0 || f.Candidate.N == 0 {
		return "n/a"
	}
	d := f.Candidate.Median - f.Base.Median
	switch {
	case f.Unit == "%":
		return fmt.Sprintf("%+.2fpp", d)
	case f.Base.Median != 0:
		return fmt.Sprintf("%+.1f%%", d/math.Abs(f.Base.Median)*100)
	}
	return fmt.Sprintf("%+g", d)
}

// unitValue formats v in unit ("ms", "/s", "%" or "" for a count).
func unitValue(v float64, unit string) string {
	switch unit {
	case "ms":
		return unitNumber(v, unit) + " ms"
	case "/s":
		return unitNumber(v, unit) + "/s"
	case "%":
		return unitNumber(v, unit) + "%"
	}
	return unitNumber(v, unit)
}

func unitNumber(v float64, unit string) string {
	switch {
	case unit == "%":
		return fmt.Sprintf("%.2f", v)
	case unit == "" && v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// repeatText is ", run 2" for the second repetition of a repeated run, "" otherwise.
func (r Run) repeatText() string {
	if r.Repeat == 0 {
		return ""
	}
	return fmt.Sprintf(", run %d", r.Repeat)
}

// repeatText is ", each strategy x database 5 times" for a repeated summary.
func repeatText(n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(", each strategy x database %d times", n)
}
