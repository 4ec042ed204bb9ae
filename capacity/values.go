package capacity

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParsePrecision reads a precision as written on a command line: "5%" or "0.05".
func ParsePrecision(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("precision %q: want a percentage such as 5%% or a fraction such as 0.05", s)
	}
	if pct {
		v /= 100
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("precision %q: want more than 0%% and less than 100%%", s)
	}
	return v, nil
}

// ParseRate reads an arrival rate as written on a command line: "500", "500/s", "3000/m".
func ParseRate(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, unit, _ := strings.Cut(t, "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("rate %q: want arrivals per second such as 500 or 500/s", s)
	}
	switch strings.TrimSpace(unit) {
	case "", "s":
	case "m", "min":
		v /= 60
	case "h":
		v /= 3600
	default:
		return 0, fmt.Errorf("rate %q: unit %q is not s, m or h", s, unit)
	}
	return v, nil
}
