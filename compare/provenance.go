package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"stampede/reports"
)

// ErrMismatch is returned, wrapped, when the two sides cannot be compared at all: different
// summary schemas, different scenarios (unless forced), or no strategy x database in common.
var ErrMismatch = errors.New("not comparable")

// memorySlack is how far two machines' memory may differ before it is worth a warning:
// machines of one type report slightly different totals.
const memorySlack = 0.05

// fairness refuses sides that cannot be compared and warns where they differ in a way that
// makes the comparison less fair.
func fairness(base, cand *Side, o options) ([]string, error) {
	for _, side := range []*Side{base, cand} {
		for i, s := range side.Summaries {
			if s.Schema != reports.SchemaVersion {
				src := "a summary"
				if i < len(side.Sources) {
					src = side.Sources[i]
				}
				return nil, fmt.Errorf("%w: %s has schema %q, this stampede compares %q", ErrMismatch, src, s.Schema, reports.SchemaVersion)
			}
		}
	}
	var warnings []string
	bn, cn := uniq(base, func(s *reports.Summary) []string { return []string{s.Scenario} }),
		uniq(cand, func(s *reports.Summary) []string { return []string{s.Scenario} })
	if !slices.Equal(bn, cn) || len(bn) > 1 {
		msg := fmt.Sprintf("the base ran scenario %s and the candidate %s", quoted(bn), quoted(cn))
		if !o.force {
			return nil, fmt.Errorf("%w: %s; compare runs of one scenario (--force compares them anyway)", ErrMismatch, msg)
		}
		warnings = append(warnings, "forced: "+msg)
	}

	bp, cp := provenances(base), provenances(cand)
	switch {
	case len(bp) == 0 && len(cp) == 0:
		warnings = append(warnings, "neither side records its provenance (summaries from before stampede wrote one): the scenario files, machines and services cannot be checked")
	case len(bp) == 0:
		warnings = append(warnings, "the base records no provenance (a summary from before stampede wrote one): its scenario file, machine and services cannot be checked")
	case len(cp) == 0:
		warnings = append(warnings, "the candidate records no provenance: its scenario file, machine and services cannot be checked")
	}
	hash := func(s *reports.Summary) []string {
		if s.Provenance == nil || s.Provenance.ScenarioHash == "" {
			return nil
		}
		return []string{s.Provenance.ScenarioHash}
	}
	if bh, ch := uniq(base, hash), uniq(cand, hash); len(bh) > 0 && len(ch) > 0 && !slices.Equal(bh, ch) {
		warnings = append(warnings, fmt.Sprintf("the scenario files differ (base %s, candidate %s): the two sides did not run the same load",
			shortHashes(bh), shortHashes(ch)))
	}
	if bs, cs := seeds(base), seeds(cand); !slices.Equal(bs, cs) {
		warnings = append(warnings, fmt.Sprintf("the seeds differ (base %s, candidate %s): the herds and the faults' random choices differ, so part of any difference is the seeds'",
			seedList(bs), seedList(cs)))
	}
	if w := machines(bp, cp); w != "" {
		warnings = append(warnings, w)
	}
	warnings = append(warnings, services(base, cand)...)
	return warnings, nil
}

func provenances(s *Side) []*reports.Provenance {
	var out []*reports.Provenance
	for _, sum := range s.Summaries {
		if sum.Provenance != nil {
			out = append(out, sum.Provenance)
		}
	}
	return out
}

// uniq collects f of every summary of s, sorted, without repeats.
func uniq(s *Side, f func(*reports.Summary) []string) []string {
	var out []string
	for _, sum := range s.Summaries {
		out = append(out, f(sum)...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// seeds are a side's seeds, sorted: each summary's provenance seeds, or its seed.
func seeds(s *Side) []int64 {
	var out []int64
	for _, sum := range s.Summaries {
		if sum.Provenance != nil && len(sum.Provenance.Seeds) > 0 {
			out = append(out, sum.Provenance.Seeds...)
		} else {
			out = append(out, sum.Seed)
		}
	}
	slices.Sort(out)
	return out
}

// machines describes how the machines of the two sides differ; "" when they agree (memory
// within memorySlack, fields unknown on either side not compared).
func machines(base, cand []*reports.Provenance) string {
	differ := false
	for _, b := range base {
		for _, c := range cand {
			bm, cm := b.Machine, c.Machine
			switch {
			case bm.Cores != cm.Cores, bm.OS != cm.OS, bm.Arch != cm.Arch,
				bm.CPU != "" && cm.CPU != "" && bm.CPU != cm.CPU,
				bm.MemoryBytes > 0 && cm.MemoryBytes > 0 &&
					math.Abs(float64(bm.MemoryBytes)-float64(cm.MemoryBytes)) > memorySlack*float64(max(bm.MemoryBytes, cm.MemoryBytes)):
				differ = true
			}
		}
	}
	if !differ {
		return ""
	}
	return fmt.Sprintf("the machines differ (base %s; candidate %s): absolute numbers do not carry from one to the other",
		machineList(base), machineList(cand))
}

func machineList(ps []*reports.Provenance) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Machine.String())
	}
	sort.Strings(out)
	return strings.Join(slices.Compact(out), " and ")
}

// services warns about every service whose versions differ between the sides, from the
// provenance's services or, in older summaries, the summary's versions.
func services(base, cand *Side) []string {
	of := func(s *Side) map[string][]string {
		out := map[string][]string{}
		for _, sum := range s.Summaries {
			m := sum.Versions
			if sum.Provenance != nil && len(sum.Provenance.Services) > 0 {
				m = sum.Provenance.Services
			}
			for name, v := range m {
				if name != "stampede" && v != "" && !slices.Contains(out[name], v) {
					out[name] = append(out[name], v)
				}
			}
		}
		for name := range out {
			sort.Strings(out[name])
		}
		return out
	}
	bv, cv := of(base), of(cand)
	var names []string
	for name := range bv {
		if _, ok := cv[name]; ok && !slices.Equal(bv[name], cv[name]) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		out = append(out, fmt.Sprintf("%s differs (base %s, candidate %s)", name, strings.Join(bv[name], " and "), strings.Join(cv[name], " and ")))
	}
	return out
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " and ")
}

func shortHashes(hs []string) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h[:min(len(h), len("sha256:")+12)]
	}
	return strings.Join(out, " and ")
}

func seedList(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}
