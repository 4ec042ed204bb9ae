// Package shadowreport is the wire format of a shadow strategy's findings: the answer of the
// reference server's GET /admin/shadow (server/api.yaml, ShadowReport). The server's shadow
// package writes it, and a run's reports carry it as it came; both use these types, and Decode
// is the one decoder of that answer.
package shadowreport

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The kinds of divergence.
const (
	// KindHoldRefused: the shadow refused a hold the primary granted.
	KindHoldRefused = "hold_refused"
	// KindHoldGranted: the shadow granted a hold the primary refused.
	KindHoldGranted = "hold_granted"
	// KindConfirmRefused: the primary sold a hold the shadow would not.
	KindConfirmRefused = "confirm_refused"
	// KindConfirmSold: the shadow sold a hold the primary did not (seats the primary did not sell).
	KindConfirmSold = "confirm_sold"
	// KindReleaseDiffers: the two answered a release differently.
	KindReleaseDiffers = "release_differs"
	// KindOutcomeDiffers: both refused, for different reasons (seat_unavailable against
	// hold_expired, ...).
	KindOutcomeDiffers = "outcome_differs"
	// KindError: the shadow failed (an internal error, or it ran out of its timeout): no
	// decision to compare.
	KindError = "error"
)

// Kinds lists the kinds of divergence with what each means, in report order.
var Kinds = []struct{ Kind, About string }{
	{KindHoldRefused, "the shadow refused a hold the primary granted"},
	{KindHoldGranted, "the shadow granted a hold the primary refused"},
	{KindConfirmRefused, "the primary sold a hold the shadow would not have sold"},
	{KindConfirmSold, "the shadow sold a hold (its seats) the primary did not"},
	{KindReleaseDiffers, "the two answered a release differently"},
	{KindOutcomeDiffers, "both refused, for different reasons"},
	{KindError, "the shadow failed or timed out: no decision to compare"},
}

// Report is what the shadow found beside the run's strategy (stampede run --shadow). Every
// hold, release and confirm the run's strategy (Primary) decided was replayed against Shadow on
// its own copy of the inventory; the divergences are the decisions on which the two differed.
type Report struct {
	Primary string `json:"primary"`
	Shadow  string `json:"shadow"`
	// Replayed operations were compared; Skipped ones were not (the primary's outcome was not a
	// decision, or the shadow had no copy of the hold); Dropped ones found the queue full;
	// Pending ones still waited in it, or were being replayed, when the report was read.
	Replayed    int64       `json:"replayed"`
	Skipped     int64       `json:"skipped"`
	Dropped     int64       `json:"dropped"`
	Pending     int64       `json:"pending"`
	Divergences int64       `json:"divergences"`
	Kinds       []KindCount `json:"kinds"`
	Latency     []OpLatency `json:"latency"`
}

// KindCount is the divergences of one kind, with the first few as examples.
type KindCount struct {
	Kind     string       `json:"kind"`
	About    string       `json:"about"`
	Count    int64        `json:"count"`
	Examples []Divergence `json:"examples,omitempty"`
}

// Divergence is one decision on which the shadow differed from the primary.
type Divergence struct {
	Kind string `json:"kind"`
	// Op is hold, release or confirm.
	Op    string `json:"op"`
	Event string `json:"event_id"`
	// Seats are the seats of the hold (named seats), or Tier and Quantity its GA units.
	Seats    []string `json:"seats,omitempty"`
	Tier     string   `json:"tier,omitempty"`
	Quantity int      `json:"quantity,omitempty"`
	// At is when the primary answered.
	At time.Time `json:"at"`
	// Primary and Shadow are the decisions: "ok" or the stable error code (seat_unavailable,
	// hold_expired, ...); the shadow's may be "timeout" or "internal".
	Primary string `json:"primary"`
	Shadow  string `json:"shadow"`
	// PrimaryHold is the primary's hold id.
	PrimaryHold string `json:"primary_hold,omitempty"`
	// Detail is the shadow's error text for KindError.
	Detail string `json:"detail,omitempty"`
	// AfterDrops is how many operations had been dropped when this one was compared: a
	// divergence after drops may follow from an operation the shadow never saw.
	AfterDrops int64 `json:"after_drops,omitempty"`
}

// Latency is one strategy's latency for one operation, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// OpLatency puts the primary's and the shadow's latency for one operation side by side,
// measured over the same operations (those replayed).
type OpLatency struct {
	Op      string  `json:"op"`
	Primary Latency `json:"primary"`
	Shadow  Latency `json:"shadow"`
}

// Decode reads the body of GET /admin/shadow.
func Decode(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode shadow report: %w", err)
	}
	if r.Shadow == "" {
		return nil, errors.New("decode shadow report: no shadow strategy named")
	}
	return &r, nil
}

// Where says what a divergence was about: its seats, or its GA units, on its event.
func (d Divergence) Where() string {
	what := strings.Join(d.Seats, ", ")
	if d.Tier != "" {
		what = fmt.Sprintf("%d of %s", d.Quantity, d.Tier)
	}
	return fmt.Sprintf("%s %s", d.Event, what)
}

// Line is the report in one sentence.
func (r *Report) Line() string {
	line := fmt.Sprintf("shadow %s beside %s: %d divergences in %d replayed operations", r.Shadow, r.Primary, r.Divergences, r.Replayed)
	if r.Skipped > 0 {
		line += fmt.Sprintf(", %d not compared", r.Skipped)
	}
	if r.Dropped > 0 {
		line += fmt.Sprintf(", %d dropped (queue full)", r.Dropped)
	}
	if r.Pending > 0 {
		line += fmt.Sprintf(", %d still pending", r.Pending)
	}
	return line
}
