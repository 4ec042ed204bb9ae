package workloads

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is an arrival rate in events per second. In a scenario file it is written `5000/s`,
// `300/m` (or `/min`), `10/h`, or a plain number meaning per second.
type Rate float64

// PerSecond returns r as a float of events per second.
func (r Rate) PerSecond() float64 { return float64(r) }

// String formats r the way a scenario file writes it.
func (r Rate) String() string {
	return strconv.FormatFloat(float64(r), 'f', -1, 64) + "/s"
}

// parseRate parses `N/s`, `N/m`, `N/min`, `N/h` or `N`.
func parseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty rate (want a number per second such as 500/s)")
	}
	num, unit, hasUnit := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("rate %q is not a number per unit (want e.g. 500/s, 30/m)", s)
	}
	per := 1.0
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s", "sec", "second":
			per = 1
		case "m", "min", "minute":
			per = 60
		case "h", "hour":
			per = 3600
		default:
			return 0, fmt.Errorf("rate %q: unit %q is not s, m or h", s, unit)
		}
	}
	if v < 0 {
		return 0, fmt.Errorf("rate %q is negative", s)
	}
	return Rate(v / per), nil
}

// parseDuration parses a Go duration (`250ms`, `2s`, `1m30s`); a bare 0 is allowed.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 250ms, 2s, 1m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// DurationRange is a closed interval of durations; a user draws a value uniformly from it. In a
// scenario file it is written `2s..20s`, or one duration for a fixed value.
type DurationRange struct {
	Min, Max time.Duration
}

// String formats d the way a scenario file writes it.
func (d DurationRange) String() string {
	if d.Min == d.Max {
		return d.Min.String()
	}
	return d.Min.String() + ".." + d.Max.String()
}

func parseDurationRange(s string) (DurationRange, error) {
	lo, hi, isRange := strings.Cut(s, "..")
	min, err := parseDuration(lo)
	if err != nil {
		return DurationRange{}, err
	}
	if !isRange {
		return DurationRange{min, min}, nil
	}
	max, err := parseDuration(hi)
	if err != nil {
		return DurationRange{}, err
	}
	if max < min {
		return DurationRange{}, fmt.Errorf("range %q ends before it starts", s)
	}
	return DurationRange{min, max}, nil
}

// IntRange is a closed interval of integers; a user draws a value uniformly from it. In a
// scenario file it is written `[1, 4]` or as one integer.
type IntRange struct {
	Min, Max int
}

// parseIntRange accepts an integer or a two-element list of integers, as decoded from YAML.
func parseIntRange(v any) (IntRange, error) {
	switch x := v.(type) {
	case []any:
		if len(x) != 2 {
			return IntRange{}, fmt.Errorf("want [min, max], got %d values", len(x))
		}
		lo, err := toInt(x[0])
		if err != nil {
			return IntRange{}, err
		}
		hi, err := toInt(x[1])
		if err != nil {
			return IntRange{}, err
		}
		if hi < lo {
			return IntRange{}, fmt.Errorf("[%d, %d] ends before it starts", lo, hi)
		}
		return IntRange{lo, hi}, nil
	default:
		n, err := toInt(v)
		if err != nil {
			return IntRange{}, err
		}
		return IntRange{n, n}, nil
	}
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		if x > math.MaxInt32 {
			return 0, fmt.Errorf("%d is too large", x)
		}
		return int(x), nil
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int(x), nil
	default:
		return 0, fmt.Errorf("%v is not an integer", v)
	}
}

// parseFraction parses a probability or a share: `20%` or a number in [0, 1].
func parseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a fraction (want e.g. 0.2 or 20%%)", s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("%q is outside 0..1 (0%%..100%%)", s)
	}
	return v, nil
}
