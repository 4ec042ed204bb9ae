package workloads

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/goccy/go-yaml"
)

// Scenario is a parsed and validated scenario file: inventory, arrival profile, user mix, hold
// TTL, waiting room, fault schedule, SLOs and the hazard coverage a run must reach. Durations and rates are already converted; the
// zero values of optional fields are documented on each field. A Scenario is read-only once
// loaded and may be shared between goroutines.
type Scenario struct {
	// Name identifies the scenario; it prefixes event ids unless EventPrefix is set.
	Name        string
	Description string
	// Seed is the default seed of the run; a driver Config or a --seed flag overrides it.
	Seed int64
	// EventPrefix prefixes the ids of the scenario's events (`<prefix>-1`, ...). Empty means
	// Name. A runner that creates the same scenario several times on one server sets it.
	EventPrefix string
	Inventory   Inventory
	Arrivals    Arrivals
	// Users is the behaviour mix: each arriving user follows one flow, chosen by weight.
	Users []Flow
	// HoldTTL is the hold lifetime the system under test should use; 0 means its default.
	// The driver does not send it (the contract has no such field): the runner configures the
	// server with it.
	HoldTTL time.Duration
	// RequestTimeout is the deadline of every request except the waiting-room stream.
	// Default 10s.
	RequestTimeout time.Duration
	WaitingRoom    WaitingRoom
	// Faults is the fault schedule, each entry kept as written (at, for, fault, when, params...)
	// for the chaos package, which owns its meaning. Only `at` and `fault` are checked here.
	Faults []map[string]any
	// FaultLines gives the line of each Faults entry in the file (0 when unknown), so the chaos
	// package can name it in its own errors.
	FaultLines []int
	SLO        SLO
	// Gate is the regression gate's tolerances (see Gate), nil when the scenario has no gate:
	// section; Tolerances is the gate a comparison applies (DefaultGate when nil).
	Gate Gate
	// Coverage is the least count of each hazard a run must create (`coverage:`); nil asks
	// for nothing. See Coverage.
	Coverage Coverage
	// File is the name the scenario was loaded from, used in error messages.
	File string
	// scale is the product of the factors Scale applied; 0 means none (see ScaleFactor).
	scale float64
}

// WaitingRoom configures the event's waiting room: when Enabled, buyers join the queue and
// wait for admission before they hold; bots skip it.
type WaitingRoom struct {
	Enabled bool
	// AdmitRate is how many sessions the room admits per second.
	AdmitRate Rate
	// Timeout bounds how long a buyer waits in the queue (default 5m).
	Timeout time.Duration
}

// Defaults of optional fields.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultQueueTimeout   = 5 * time.Minute
	DefaultPriceCents     = 5000
	defaultSkew           = 1.1
	maxUsers              = 100_000_000
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)

// file mirrors the YAML layout; values that need parsing stay strings so that every mistake is
// reported with its line and field.
type file struct {
	Name           string           `yaml:"name"`
	Description    string           `yaml:"description"`
	Seed           int64            `yaml:"seed"`
	EventPrefix    string           `yaml:"event_prefix"`
	Inventory      *fileInventory   `yaml:"inventory"`
	Arrivals       *fileArrivals    `yaml:"arrivals"`
	Users          []fileFlow       `yaml:"users"`
	HoldTTL        string           `yaml:"hold_ttl"`
	RequestTimeout string           `yaml:"request_timeout"`
	WaitingRoom    *fileWaiting     `yaml:"waiting_room"`
	Faults         []map[string]any `yaml:"faults"`
	SLO            *fileSLO         `yaml:"slo"`
	Gate           map[string]any   `yaml:"gate"`
	Coverage       map[string]int   `yaml:"coverage"`
}

// fileWaiting mirrors the waiting_room section of a scenario file.
type fileWaiting struct {
	Enabled   bool   `yaml:"enabled"`
	AdmitRate string `yaml:"admit_rate"`
	Timeout   string `yaml:"timeout"`
}

// Load reads and validates the scenario file at path. Errors name the file's base name, the
// line and the field.
func Load(path string) (*Scenario, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(filepath.Base(path), src)
}

// Parse decodes and validates a scenario; name labels error messages (usually the file name).
// It returns a *ValidationError listing every mistake found, or a single *FieldError when the
// YAML itself cannot be decoded (syntax, unknown field, wrong type).
func Parse(name string, src []byte) (*Scenario, error) {
	idx := indexYAML(src)
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(src), yaml.DisallowUnknownField())
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(name, idx, err)
	}
	v := &validator{file: name, idx: idx}
	sc := v.build(&f)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, &ValidationError{Errors: v.errs}
	}
	sc.File = name
	return sc, nil
}

func (v *validator) build(f *file) *Scenario {
	sc := &Scenario{
		Name:        f.Name,
		Description: f.Description,
		Seed:        f.Seed,
		EventPrefix: f.EventPrefix,
		Faults:      f.Faults,
	}
	switch {
	case f.Name == "":
		v.errf("name", "missing (a short id such as quickstart)")
	case !nameRE.MatchString(f.Name):
		v.errf("name", "%q: use 1-40 of A-Z a-z 0-9 . _ -", f.Name)
	}
	if f.EventPrefix != "" && !nameRE.MatchString(f.EventPrefix) {
		v.errf("event_prefix", "%q: use 1-40 of A-Z a-z 0-9 . _ -", f.EventPrefix)
	}
	sc.Inventory = v.inventory(f.Inventory)
	sc.Arrivals = v.arrivals(f.Arrivals)
	sc.Users = v.flows(f.Users, &sc.Inventory)
	sc.HoldTTL = v.duration("hold_ttl", f.HoldTTL, 0)
	if f.HoldTTL != "" && sc.HoldTTL == 0 {
		v.errf("hold_ttl", "must be > 0 (leave it out for the server's default)")
	}
	sc.RequestTimeout = v.duration("request_timeout", f.RequestTimeout, DefaultRequestTimeout)
	if sc.RequestTimeout <= 0 {
		v.errf("request_timeout", "must be > 0")
	}
	if w := f.WaitingRoom; w != nil {
		sc.WaitingRoom = WaitingRoom{
			Enabled:   w.Enabled,
			AdmitRate: v.rate("waiting_room.admit_rate", w.AdmitRate),
			Timeout:   v.duration("waiting_room.timeout", w.Timeout, DefaultQueueTimeout),
		}
		if w.Enabled && w.AdmitRate == "" {
			v.errf("waiting_room.admit_rate", "missing: an enabled waiting room needs an admission rate such as 500/s")
		} else if w.Enabled && sc.WaitingRoom.AdmitRate <= 0 {
			v.errf("waiting_room.admit_rate", "must be > 0 when the waiting room is enabled")
		}
		if sc.WaitingRoom.Timeout <= 0 {
			v.errf("waiting_room.timeout", "must be > 0")
		}
	} else {
		sc.WaitingRoom.Timeout = DefaultQueueTimeout
	}
	sc.FaultLines = make([]int, len(f.Faults))
	for i, fm := range f.Faults {
		field := fmt.Sprintf("faults[%d]", i)
		sc.FaultLines[i] = v.idx.line(field)
		if fm == nil {
			v.errf(field, "empty fault (want at least at and fault)")
			continue
		}
		name, ok := fm["fault"].(string)
		if !ok || name == "" {
			v.errf(field+".fault", "missing: name the fault (e.g. redis-restart)")
		}
		at, ok := fm["at"]
		if !ok {
			if _, hasWhen := fm["when"]; !hasWhen {
				v.errf(field+".at", "missing: when to inject it (e.g. 20s), or a when condition")
			}
		} else if _, err := parseDuration(fmt.Sprint(at)); err != nil {
			v.errf(field+".at", "%v", err)
		}
		if d, ok := fm["for"]; ok {
			if _, err := parseDuration(fmt.Sprint(d)); err != nil {
				v.errf(field+".for", "%v", err)
			}
		}
	}
	sc.SLO = v.slo(f.SLO)
	sc.Gate = v.gate(f.Gate)
	sc.Coverage = v.coverage(f.Coverage)
	return sc
}
