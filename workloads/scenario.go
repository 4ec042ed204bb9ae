package workloads

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Scenario is a parsed and validated scenario file: inventory, arrival profile, user mix, hold
// TTL, waiting room, fault schedule and SLOs. Durations and rates are already converted; the
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
	// File is the name the scenario was loaded from, used in error messages.
	File string
}

// Inventory describes the events a scenario sells: each of Events events has Sections
// sections (named A, B, ..., Z, AA, ...) of Rows rows of SeatsPerRow seats, plus the
// general-admission tiers.
type Inventory struct {
	Events      int
	Sections    int
	Rows        int
	SeatsPerRow int
	// PriceCents is the price of a reserved seat; default 5000.
	PriceCents int
	GATiers    []GATier
	// Performer, Venue and City describe the events for the browse and search pages.
	Performer, Venue, City string
}

// GATier is a general-admission tier: Quantity interchangeable units.
type GATier struct {
	Name       string
	Quantity   int
	PriceCents int
}

// Arrival profiles.
const (
	ProfileConstant = "constant"
	ProfileRamp     = "ramp"
	ProfileSpike    = "spike"
	ProfileSteps    = "steps"
)

// Arrivals is the open-model arrival profile: users arrive at the profile's rate whatever the
// system under test does.
//
//   - constant: Rate for Duration, or until Users arrived.
//   - ramp: from StartRate to Rate linearly over Ramp, then Rate for Hold.
//   - spike: from Rate (the baseline, default 0) to PeakRate over Ramp, PeakRate for Hold,
//     back to Rate over RampDown (default Ramp).
//   - steps: each step's rate for its duration.
//
// Users caps the number of arrivals; when it is 0 it is whatever the profile yields.
type Arrivals struct {
	Profile   string
	Users     int
	Rate      Rate
	StartRate Rate
	PeakRate  Rate
	Ramp      time.Duration
	RampDown  time.Duration
	Hold      time.Duration
	Duration  time.Duration
	Steps     []Step
}

// Step is one step of a steps profile.
type Step struct {
	Rate Rate
	For  time.Duration
}

// Flow kinds.
const (
	FlowBrowse = "browse"
	FlowBuy    = "buy"
	FlowBot    = "bot"
)

// Seat choices.
const (
	ChoiceBestAvailable = "best-available"
	ChoiceZipf          = "zipf"
	ChoiceRandom        = "random"
	ChoiceSpecific      = "specific"
)

// Flow is one weighted behaviour of the user mix.
type Flow struct {
	// Flow is browse, buy or bot.
	Flow   string
	Weight float64
	// Seats is what a buyer or bot goes after (not used by browse).
	Seats SeatPick
	// Pages is how many pages a browser views (default 1..4).
	Pages IntRange
	// Think is the pause before each step after the first (default 0).
	Think DurationRange
	// PayAfter is the pause between a granted hold and the checkout (default 0).
	PayAfter DurationRange
	// Abandon is the probability that a buyer with a hold never pays: half of those release the
	// hold, the other half walk away and let it expire.
	Abandon float64
	// Decline is the probability that a buyer pays with a declined card.
	Decline float64
	// Retry is how many times a checkout with an unknown outcome (timeout, reset, 5xx,
	// idempotency_in_progress) is retried with the same Idempotency-Key (default 3).
	Retry int
	// RetryBackoff is the pause before each retry (default 200ms).
	RetryBackoff time.Duration
	// HoldTries is how many holds a buyer tries, with a new seat pick each time, while the
	// seats are taken (default 2).
	HoldTries int
	// Attempts is how many holds a bot sends (default 10), Interval the pause between them
	// (default 50ms).
	Attempts int
	Interval time.Duration
}

// SeatPick is how a user chooses seats.
type SeatPick struct {
	// Count is how many seats (or GA units) a user wants (default 1..1, at most 10).
	Count IntRange
	// Choice is best-available, zipf, random or specific (default best-available).
	Choice string
	// Skew is the zipf exponent (> 1; default 1.1).
	Skew float64
	// Seats is the candidate list of a specific choice.
	Seats []string
	// Tier, when set, makes the user hold a quantity of that general-admission tier.
	Tier string
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

// SLO holds the run's service-level objectives; zero fields are not checked.
type SLO struct {
	HoldP99     time.Duration
	CheckoutP99 time.Duration
	// ErrorRate is the largest acceptable share of errors (see Summary.ErrorRate).
	ErrorRate float64
	// ErrorRateSet tells an error_rate of 0 from none.
	ErrorRateSet bool
}

// Defaults of optional fields.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultQueueTimeout   = 5 * time.Minute
	DefaultPriceCents     = 5000
	defaultSkew           = 1.1
	maxUsers              = 100_000_000
)

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
}

type fileInventory struct {
	Events      *int         `yaml:"events"`
	Sections    int          `yaml:"sections"`
	Rows        int          `yaml:"rows"`
	SeatsPerRow int          `yaml:"seats_per_row"`
	PriceCents  *int         `yaml:"price_cents"`
	GATiers     []fileGATier `yaml:"ga_tiers"`
	Performer   string       `yaml:"performer"`
	Venue       string       `yaml:"venue"`
	City        string       `yaml:"city"`
}

type fileGATier struct {
	Name       string `yaml:"name"`
	Quantity   int    `yaml:"quantity"`
	PriceCents *int   `yaml:"price_cents"`
}

type fileArrivals struct {
	Profile   string     `yaml:"profile"`
	Users     *int       `yaml:"users"`
	Rate      string     `yaml:"rate"`
	StartRate string     `yaml:"start_rate"`
	PeakRate  string     `yaml:"peak_rate"`
	Ramp      string     `yaml:"ramp"`
	RampDown  string     `yaml:"ramp_down"`
	Hold      string     `yaml:"hold"`
	Duration  string     `yaml:"duration"`
	Steps     []fileStep `yaml:"steps"`
}

type fileStep struct {
	Rate string `yaml:"rate"`
	For  string `yaml:"for"`
}

type fileFlow struct {
	Flow         string     `yaml:"flow"`
	Weight       *float64   `yaml:"weight"`
	Seats        *fileSeats `yaml:"seats"`
	Pages        any        `yaml:"pages"`
	Think        string     `yaml:"think"`
	PayAfter     string     `yaml:"pay_after"`
	Abandon      string     `yaml:"abandon"`
	Decline      string     `yaml:"decline"`
	Retry        *int       `yaml:"retry"`
	RetryBackoff string     `yaml:"retry_backoff"`
	HoldTries    *int       `yaml:"hold_tries"`
	Attempts     *int       `yaml:"attempts"`
	Interval     string     `yaml:"interval"`
}

type fileSeats struct {
	Count  any      `yaml:"count"`
	Choice string   `yaml:"choice"`
	Skew   *float64 `yaml:"skew"`
	Seats  []string `yaml:"seats"`
	Tier   string   `yaml:"tier"`
}

type fileWaiting struct {
	Enabled   bool   `yaml:"enabled"`
	AdmitRate string `yaml:"admit_rate"`
	Timeout   string `yaml:"timeout"`
}

type fileSLO struct {
	HoldP99     string `yaml:"hold_p99"`
	CheckoutP99 string `yaml:"checkout_p99"`
	ErrorRate   string `yaml:"error_rate"`
}

// FieldError is one mistake in a scenario file, with the line (1-based; 0 when unknown) and the
// field path (`users[1].weight`) it concerns.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// Error formats e as `file:line: field: message`.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError lists every mistake found in a scenario file, in line order.
type ValidationError struct {
	Errors []*FieldError
}

// Error puts one mistake a line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the individual FieldErrors to errors.As and errors.Is.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
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

func decodeError(name string, idx *yamlIndex, err error) error {
	if errors.Is(err, errEmptyYAML) || strings.Contains(err.Error(), "EOF") {
		return &FieldError{File: name, Msg: "empty scenario"}
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		fe := &FieldError{File: name, Msg: cleanYAMLMessage(ye.GetMessage())}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			fe.Line = tk.Position.Line
			fe.Field = idx.pathAt(tk.Position.Line, tk.Position.Column)
		}
		var ue *yaml.UnknownFieldError
		var se *yaml.SyntaxError
		var de *yaml.DuplicateKeyError
		switch {
		case errors.As(err, &ue):
			fe.Msg = "unknown field"
		case errors.As(err, &de) || strings.Contains(fe.Msg, "already defined"):
			if i := strings.Index(fe.Msg, " at ["); i > 0 {
				fe.Msg = fe.Msg[:i]
			}
			fe.Msg = "duplicate key: " + fe.Msg
		case errors.As(err, &se):
			fe.Msg = "syntax error: " + fe.Msg
		}
		return fe
	}
	return &FieldError{File: name, Msg: err.Error()}
}

var errEmptyYAML = errors.New("empty")

// cleanYAMLMessage turns the decoder's Go-flavoured type messages into scenario terms.
func cleanYAMLMessage(msg string) string {
	if i := strings.Index(msg, "cannot unmarshal "); i >= 0 {
		rest := msg[i+len("cannot unmarshal "):]
		src, _, _ := strings.Cut(rest, " into ")
		want := "a different type"
		if j := strings.LastIndex(rest, " of type "); j >= 0 {
			want = friendlyType(rest[j+len(" of type "):])
		}
		return fmt.Sprintf("wrong type: got %s, want %s", src, want)
	}
	return msg
}

func friendlyType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "map") || strings.Contains(t, "workloads."):
		return "a mapping"
	}
	return t
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)
	tierRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	seatIDRE  = regexp.MustCompile(`^([A-Za-z0-9]{1,8})-([0-9]{1,3})-([0-9]{1,3})$`)
	maxPerRow = 500
)

// validator converts the decoded file into a Scenario, collecting every mistake.
type validator struct {
	file string
	idx  *yamlIndex
	errs []*FieldError
}

func (v *validator) errf(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{File: v.file, Line: v.idx.line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) duration(field, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := parseDuration(s)
	if err != nil {
		v.errf(field, "%v", err)
		return def
	}
	return d
}

func (v *validator) rate(field, s string) Rate {
	if s == "" {
		return 0
	}
	r, err := parseRate(s)
	if err != nil {
		v.errf(field, "%v", err)
	}
	return r
}

func (v *validator) fraction(field, s string) float64 {
	if s == "" {
		return 0
	}
	f, err := parseFraction(s)
	if err != nil {
		v.errf(field, "%v", err)
	}
	return f
}

func (v *validator) durationRange(field, s string) DurationRange {
	if s == "" {
		return DurationRange{}
	}
	r, err := parseDurationRange(s)
	if err != nil {
		v.errf(field, "%v", err)
	}
	return r
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
	if s := f.SLO; s != nil {
		sc.SLO.HoldP99 = v.duration("slo.hold_p99", s.HoldP99, 0)
		sc.SLO.CheckoutP99 = v.duration("slo.checkout_p99", s.CheckoutP99, 0)
		if s.ErrorRate != "" {
			sc.SLO.ErrorRate = v.fraction("slo.error_rate", s.ErrorRate)
			sc.SLO.ErrorRateSet = true
		}
	}
	return sc
}

func (v *validator) inventory(fi *fileInventory) Inventory {
	if fi == nil {
		v.errf("inventory", "missing: say what is on sale (events, sections, rows, seats_per_row, ga_tiers)")
		return Inventory{}
	}
	inv := Inventory{
		Events: 1, Sections: fi.Sections, Rows: fi.Rows, SeatsPerRow: fi.SeatsPerRow,
		PriceCents: DefaultPriceCents, Performer: fi.Performer, Venue: fi.Venue, City: fi.City,
	}
	if fi.Events != nil {
		inv.Events = *fi.Events
		if inv.Events < 1 || inv.Events > 1000 {
			v.errf("inventory.events", "%d: must be 1..1000", inv.Events)
		}
	}
	if fi.PriceCents != nil {
		inv.PriceCents = *fi.PriceCents
		if inv.PriceCents < 1 {
			v.errf("inventory.price_cents", "must be >= 1")
		}
	}
	seated := fi.Sections != 0 || fi.Rows != 0 || fi.SeatsPerRow != 0
	if seated {
		if fi.Sections < 1 || fi.Sections > 702 {
			v.errf("inventory.sections", "%d: must be 1..702", fi.Sections)
		}
		if fi.Rows < 1 || fi.Rows > maxPerRow {
			v.errf("inventory.rows", "%d: must be 1..%d", fi.Rows, maxPerRow)
		}
		if fi.SeatsPerRow < 1 || fi.SeatsPerRow > maxPerRow {
			v.errf("inventory.seats_per_row", "%d: must be 1..%d", fi.SeatsPerRow, maxPerRow)
		}
	}
	seen := map[string]bool{}
	for i, t := range fi.GATiers {
		field := fmt.Sprintf("inventory.ga_tiers[%d]", i)
		gt := GATier{Name: t.Name, Quantity: t.Quantity, PriceCents: DefaultPriceCents}
		switch {
		case t.Name == "":
			v.errf(field+".name", "missing")
		case !tierRE.MatchString(t.Name):
			v.errf(field+".name", "%q: use 1-32 of A-Z a-z 0-9 _ -", t.Name)
		case seen[t.Name]:
			v.errf(field+".name", "%q: tier named twice", t.Name)
		}
		seen[t.Name] = true
		if t.Quantity < 1 || t.Quantity > 10_000_000 {
			v.errf(field+".quantity", "%d: must be 1..10000000", t.Quantity)
		}
		if t.PriceCents != nil {
			gt.PriceCents = *t.PriceCents
			if gt.PriceCents < 1 {
				v.errf(field+".price_cents", "must be >= 1")
			}
		}
		inv.GATiers = append(inv.GATiers, gt)
	}
	if !seated && len(fi.GATiers) == 0 {
		v.errf("inventory", "nothing on sale: give sections, rows and seats_per_row, or ga_tiers")
	}
	return inv
}

func (v *validator) arrivals(fa *fileArrivals) Arrivals {
	if fa == nil {
		v.errf("arrivals", "missing: give an arrival profile (constant, ramp, spike or steps)")
		return Arrivals{}
	}
	before := len(v.errs)
	a := Arrivals{
		Profile:   fa.Profile,
		Rate:      v.rate("arrivals.rate", fa.Rate),
		StartRate: v.rate("arrivals.start_rate", fa.StartRate),
		PeakRate:  v.rate("arrivals.peak_rate", fa.PeakRate),
		Ramp:      v.duration("arrivals.ramp", fa.Ramp, 0),
		RampDown:  v.duration("arrivals.ramp_down", fa.RampDown, 0),
		Hold:      v.duration("arrivals.hold", fa.Hold, 0),
		Duration:  v.duration("arrivals.duration", fa.Duration, 0),
	}
	if fa.Users != nil {
		a.Users = *fa.Users
		if a.Users < 1 || a.Users > maxUsers {
			v.errf("arrivals.users", "%d: must be 1..%d", a.Users, maxUsers)
		}
	}
	unused := func(field, val string) {
		if val != "" {
			v.errf("arrivals."+field, "not used by the %s profile", a.Profile)
		}
	}
	switch a.Profile {
	case ProfileConstant:
		if fa.Rate == "" {
			v.errf("arrivals.rate", "missing: a constant profile needs a rate such as 100/s")
		} else if a.Rate <= 0 {
			v.errf("arrivals.rate", "must be > 0")
		}
		if fa.Users == nil && fa.Duration == "" {
			v.errf("arrivals", "a constant profile needs users or duration")
		}
		if fa.Duration != "" && a.Duration == 0 {
			v.errf("arrivals.duration", "must be > 0")
		}
		unused("peak_rate", fa.PeakRate)
		unused("start_rate", fa.StartRate)
		unused("ramp", fa.Ramp)
		unused("hold", fa.Hold)
	case ProfileRamp:
		if fa.Rate == "" {
			v.errf("arrivals.rate", "missing: the rate a ramp reaches, such as 1000/s")
		} else if a.Rate <= 0 && a.StartRate <= 0 {
			v.errf("arrivals.rate", "must be > 0")
		}
		if a.Ramp <= 0 {
			v.errf("arrivals.ramp", "missing or 0: how long the ramp takes, such as 10s")
		}
		unused("peak_rate", fa.PeakRate)
		unused("duration", fa.Duration)
	case ProfileSpike:
		if fa.PeakRate == "" {
			v.errf("arrivals.peak_rate", "missing: the top of the spike, such as 5000/s")
		} else if a.PeakRate <= 0 {
			v.errf("arrivals.peak_rate", "must be > 0")
		}
		if a.Ramp <= 0 {
			v.errf("arrivals.ramp", "missing or 0: how fast the spike rises, such as 5s")
		}
		if a.RampDown == 0 {
			a.RampDown = a.Ramp
		}
		if fa.PeakRate != "" && a.PeakRate < a.Rate {
			v.errf("arrivals.peak_rate", "%s is below the baseline rate %s", a.PeakRate, a.Rate)
		}
		unused("start_rate", fa.StartRate)
		unused("duration", fa.Duration)
	case ProfileSteps:
		if len(fa.Steps) == 0 {
			v.errf("arrivals.steps", "missing: list steps such as [{rate: 100/s, for: 10s}]")
		}
		for i, st := range fa.Steps {
			field := fmt.Sprintf("arrivals.steps[%d]", i)
			s := Step{Rate: v.rate(field+".rate", st.Rate), For: v.duration(field+".for", st.For, 0)}
			if st.Rate == "" {
				v.errf(field+".rate", "missing")
			}
			if s.For <= 0 {
				v.errf(field+".for", "missing or 0: how long the step lasts")
			}
			a.Steps = append(a.Steps, s)
		}
		unused("rate", fa.Rate)
		unused("peak_rate", fa.PeakRate)
		unused("ramp", fa.Ramp)
		unused("duration", fa.Duration)
	case "":
		v.errf("arrivals.profile", "missing: constant, ramp, spike or steps")
	default:
		v.errf("arrivals.profile", "%q is not constant, ramp, spike or steps", a.Profile)
	}
	if a.Profile != ProfileSteps && len(fa.Steps) > 0 {
		v.errf("arrivals.steps", "only used by the steps profile")
	}
	if len(v.errs) == before {
		p, err := NewProfile(a)
		if err != nil {
			v.errf("arrivals", "%v", err)
		} else if a.Users == 0 {
			if n := p.Total(); n < 1 {
				v.errf("arrivals", "the profile brings no users")
			} else if n > maxUsers {
				v.errf("arrivals", "the profile brings %d users, more than %d", n, maxUsers)
			}
		}
	}
	return a
}

func (v *validator) flows(ff []fileFlow, inv *Inventory) []Flow {
	if len(ff) == 0 {
		v.errf("users", "missing: list at least one flow, such as {flow: buy, weight: 1}")
		return nil
	}
	total := 0.0
	var out []Flow
	for i, f := range ff {
		field := fmt.Sprintf("users[%d]", i)
		fl := Flow{
			Flow:         f.Flow,
			Weight:       1,
			Pages:        IntRange{1, 4},
			Think:        v.durationRange(field+".think", f.Think),
			PayAfter:     v.durationRange(field+".pay_after", f.PayAfter),
			Abandon:      v.fraction(field+".abandon", f.Abandon),
			Decline:      v.fraction(field+".decline", f.Decline),
			Retry:        3,
			RetryBackoff: v.duration(field+".retry_backoff", f.RetryBackoff, 200*time.Millisecond),
			HoldTries:    2,
			Attempts:     10,
			Interval:     v.duration(field+".interval", f.Interval, 50*time.Millisecond),
		}
		if f.Weight != nil {
			fl.Weight = *f.Weight
			if fl.Weight <= 0 {
				v.errf(field+".weight", "must be > 0")
			}
		}
		total += fl.Weight
		if f.Retry != nil {
			fl.Retry = *f.Retry
			if fl.Retry < 0 || fl.Retry > 20 {
				v.errf(field+".retry", "%d: must be 0..20", fl.Retry)
			}
		}
		if f.HoldTries != nil {
			fl.HoldTries = *f.HoldTries
			if fl.HoldTries < 1 || fl.HoldTries > 20 {
				v.errf(field+".hold_tries", "%d: must be 1..20", fl.HoldTries)
			}
		}
		if f.Attempts != nil {
			fl.Attempts = *f.Attempts
			if fl.Attempts < 1 || fl.Attempts > 10000 {
				v.errf(field+".attempts", "%d: must be 1..10000", fl.Attempts)
			}
		}
		if f.Pages != nil {
			r, err := parseIntRange(f.Pages)
			switch {
			case err != nil:
				v.errf(field+".pages", "%v", err)
			case r.Min < 1 || r.Max > 100:
				v.errf(field+".pages", "[%d, %d]: must lie in 1..100", r.Min, r.Max)
			default:
				fl.Pages = r
			}
		}
		notFor := func(name string, set bool) {
			if set {
				v.errf(field+"."+name, "not used by the %s flow", f.Flow)
			}
		}
		switch f.Flow {
		case FlowBrowse:
			notFor("seats", f.Seats != nil)
			notFor("pay_after", f.PayAfter != "")
			notFor("abandon", f.Abandon != "")
			notFor("decline", f.Decline != "")
			notFor("retry", f.Retry != nil)
			notFor("hold_tries", f.HoldTries != nil)
			notFor("attempts", f.Attempts != nil)
			notFor("interval", f.Interval != "")
		case FlowBuy, FlowBot:
			fl.Seats = v.seats(field+".seats", f.Seats, inv)
			notFor("pages", f.Pages != nil)
			if f.Flow == FlowBot {
				notFor("pay_after", f.PayAfter != "")
				notFor("abandon", f.Abandon != "")
				notFor("decline", f.Decline != "")
				notFor("retry", f.Retry != nil)
				notFor("hold_tries", f.HoldTries != nil)
			} else {
				notFor("attempts", f.Attempts != nil)
				notFor("interval", f.Interval != "")
			}
		case "":
			v.errf(field+".flow", "missing: browse, buy or bot")
		default:
			v.errf(field+".flow", "%q is not browse, buy or bot", f.Flow)
		}
		out = append(out, fl)
	}
	_ = total
	return out
}

func (v *validator) seats(field string, fs *fileSeats, inv *Inventory) SeatPick {
	sp := SeatPick{Count: IntRange{1, 1}, Choice: ChoiceBestAvailable, Skew: defaultSkew}
	seated := inv.Sections > 0 && inv.Rows > 0 && inv.SeatsPerRow > 0
	if fs == nil {
		if !seated && len(inv.GATiers) > 0 {
			sp.Tier = inv.GATiers[0].Name
			sp.Choice = ""
		}
		return sp
	}
	if fs.Count != nil {
		r, err := parseIntRange(fs.Count)
		switch {
		case err != nil:
			v.errf(field+".count", "%v", err)
		case r.Min < 1 || r.Max > 10:
			v.errf(field+".count", "[%d, %d]: must lie in 1..10 (a hold takes at most 10)", r.Min, r.Max)
		default:
			sp.Count = r
		}
	}
	if fs.Tier != "" {
		sp.Tier = fs.Tier
		sp.Choice = ""
		found := false
		for _, t := range inv.GATiers {
			found = found || t.Name == fs.Tier
		}
		if !found {
			v.errf(field+".tier", "%q is not one of inventory.ga_tiers", fs.Tier)
		}
		if fs.Choice != "" || len(fs.Seats) > 0 || fs.Skew != nil {
			v.errf(field+".tier", "a general-admission pick takes only count and tier (no choice, skew or seats)")
		}
		return sp
	}
	if fs.Choice != "" {
		sp.Choice = fs.Choice
	}
	if !seated {
		if len(inv.GATiers) > 0 {
			v.errf(field, "the inventory has no reserved seats: pick a tier")
		}
		return sp
	}
	switch sp.Choice {
	case ChoiceBestAvailable, ChoiceRandom:
	case ChoiceZipf:
		if fs.Skew != nil {
			sp.Skew = *fs.Skew
			if sp.Skew <= 1 {
				v.errf(field+".skew", "%v: a zipf skew must be > 1", sp.Skew)
			}
		}
	case ChoiceSpecific:
		if len(fs.Seats) == 0 {
			v.errf(field+".seats", "missing: a specific choice lists the seats (e.g. [A-1-1, A-1-2])")
		}
		seen := map[string]bool{}
		for i, s := range fs.Seats {
			sf := fmt.Sprintf("%s.seats[%d]", field, i)
			if err := inv.checkSeat(s); err != nil {
				v.errf(sf, "%v", err)
			} else if seen[s] {
				v.errf(sf, "%q listed twice", s)
			}
			seen[s] = true
		}
		sp.Seats = append([]string(nil), fs.Seats...)
		if len(fs.Seats) > 0 && sp.Count.Max > len(fs.Seats) {
			v.errf(field+".count", "%d seats wanted but only %d listed", sp.Count.Max, len(fs.Seats))
		}
	default:
		v.errf(field+".choice", "%q is not best-available, zipf, random or specific", sp.Choice)
	}
	if sp.Choice != ChoiceZipf && fs.Skew != nil {
		v.errf(field+".skew", "only used by the zipf choice")
	}
	if sp.Choice != ChoiceSpecific && len(fs.Seats) > 0 {
		v.errf(field+".seats", "only used by the specific choice")
	}
	if sp.Count.Max > inv.SeatsPerRow && sp.Choice != ChoiceSpecific {
		v.errf(field+".count", "%d seats do not fit in a row of %d", sp.Count.Max, inv.SeatsPerRow)
	}
	return sp
}
