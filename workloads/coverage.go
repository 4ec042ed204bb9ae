package workloads

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"stampede/history"
)

// Coverage is a scenario's `coverage:` section: the least number of times a run of it must
// create each hazard it targets, such as `coverage: {concurrent_seat_holds: 10,
// expired_mid_checkout: 1}`. The names are history.Hazards; the checker counts them
// (checker.Coverage) and its Shortfalls compares the counts with these minimums. A run that
// falls short did not test what the scenario is for (`stampede run` and `stampede check`
// exit 5). Nil or empty means the scenario asks for nothing.
type Coverage map[history.Hazard]int

// hazardNames lists the hazards for error messages.
func hazardNames() string {
	names := make([]string, 0, len(history.Hazards()))
	for _, h := range history.Hazards() {
		names = append(names, string(h))
	}
	return strings.Join(names, ", ")
}

// coverage validates the `coverage:` section: every key a hazard, every minimum >= 0.
func (v *validator) coverage(raw map[string]int) Coverage {
	if len(raw) == 0 {
		return nil
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c := make(Coverage, len(raw))
	for _, k := range keys {
		field := "coverage." + k
		switch n := raw[k]; {
		case !history.Hazard(k).Known():
			v.errf(field, "unknown hazard (one of %s)", hazardNames())
		case n < 0:
			v.errf(field, "must be >= 0, got %d", n)
		default:
			c[history.Hazard(k)] = n
		}
	}
	return c
}

// ParseCoverage parses minimums written as on the command line, `name=N,name=N`
// (`--require-coverage concurrent_seat_holds=10,expired_mid_checkout=1`). Errors name the
// item at fault.
func ParseCoverage(s string) (Coverage, error) {
	c := Coverage{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, count, ok := strings.Cut(item, "=")
		h := history.Hazard(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("%q: want hazard=N", item)
		}
		if !h.Known() {
			return nil, fmt.Errorf("%q: unknown hazard (one of %s)", h, hazardNames())
		}
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: want a count >= 0 after =", item)
		}
		c[h] = n
	}
	return c, nil
}

// Merge returns the minimums of c raised to those of more (the larger of the two for each
// hazard), as when a command line requires more than the scenario declares.
func (c Coverage) Merge(more Coverage) Coverage {
	out := make(Coverage, len(c)+len(more))
	for h, n := range c {
		out[h] = n
	}
	for h, n := range more {
		out[h] = max(out[h], n)
	}
	return out
}
