package history

import (
	"encoding/json"
	"fmt"
	"time"
)

// Type is the outcome of an operation as the client saw it.
type Type string

const (
	// Ok means the operation certainly took effect.
	Ok Type = "ok"
	// Fail means the operation certainly did not take effect.
	Fail Type = "fail"
	// Info means the outcome is unknown (a timeout, a reset after the request was sent, a 5xx):
	// the operation may or may not have taken effect, at any point after its call.
	Info Type = "info"
	// Shed means the system refused the request because it was overloaded (503 with code
	// overloaded), before doing anything: like Fail, the operation certainly did not take
	// effect. It is kept apart from Fail so that reports can count shedding on its own, and
	// apart from errors: shedding is the system protecting itself as the contract allows.
	Shed Type = "shed"
)

// Valid reports whether t is one of Ok, Fail, Info and Shed.
func (t Type) Valid() bool { return t == Ok || t == Fail || t == Info || t == Shed }

// Failed reports whether t says the operation certainly did not take effect (Fail or Shed).
func (t Type) Failed() bool { return t == Fail || t == Shed }

// Kind names what a record is.
type Kind string

// Operations a client performs. The checker reads hold, release, checkout and read; the others
// are recorded for latency and throughput reports.
const (
	OpHold     Kind = "hold"     // POST /events/{id}/holds
	OpRelease  Kind = "release"  // DELETE /holds/{id}
	OpCheckout Kind = "checkout" // POST /holds/{id}/checkout (charge and confirm)
	OpRead     Kind = "read"     // GET /events/{id}/seats
	OpBrowse   Kind = "browse"   // GET /events, /events/{id}, /events/search
	OpJoin     Kind = "join"     // POST /events/{id}/queue and following it until admitted
	OpScan     Kind = "scan"     // POST /gates/{gate}/scan (a ticket presented at a gate)
	OpCancel   Kind = "cancel"   // POST /admin/bookings/{id}/cancel (a refund after the sale)
)

// Records that are not client operations.
const (
	// KindHeader is the first record of a history: the run's start and its metadata.
	KindHeader Kind = "header"
	// KindFaultStart marks the injection of a fault (In.Fault names it).
	KindFaultStart Kind = "fault-start"
	// KindFaultEnd marks the recovery from a fault.
	KindFaultEnd Kind = "fault-end"
)

// Input is what a client asked for. Only the fields of the record's Kind are set.
type Input struct {
	Event    string   `json:"event,omitempty"`
	Session  string   `json:"session,omitempty"`
	Seats    []string `json:"seats,omitempty"`
	Tier     string   `json:"tier,omitempty"`
	Quantity int      `json:"quantity,omitempty"`
	HoldID   string   `json:"hold_id,omitempty"`
	// Key is the Idempotency-Key of a checkout.
	Key string `json:"key,omitempty"`
	// Token is the admission token sent with a hold, if any.
	Token string `json:"token,omitempty"`
	// Gate, TicketID, Forgery and Copy describe a scan: the gate, the id of the genuine ticket
	// presented (or of the one a forgery was made from), the kind of forgery ("" for a genuine
	// ticket: bad_signature, altered_seat, altered_event, truncated, garbage) and, for a genuine
	// ticket, which copy it was (0 its holder's, k the k-th shared screenshot of it).
	Gate     string `json:"gate,omitempty"`
	TicketID string `json:"ticket_id,omitempty"`
	Forgery  string `json:"forgery,omitempty"`
	Copy     int    `json:"copy,omitempty"`
	// Fault and Params describe a fault record.
	Fault  string            `json:"fault,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// ParamFailpoint is the Params key of a fault record whose fault the schedule triggered at a
// server failpoint (`when: {failpoint: NAME, hit: N}`); its value names the failpoint. The
// checker counts checkouts caught in such a window as interrupted mid-flow.
const ParamFailpoint = "failpoint"

// ParamLinger is the Params key of a fault-end record whose fault outlasts its window (a
// duration: a call the fault slowed at the window's last instant answers that much after it).
const ParamLinger = "linger"

// Output is what the system answered. Only the fields that apply are set.
type Output struct {
	// Status is the HTTP status, 0 when there was no answer.
	Status int `json:"status,omitempty"`
	// Code is the stable error code of a failed request (seat_unavailable, hold_lost, ...).
	Code   string   `json:"code,omitempty"`
	Error  string   `json:"error,omitempty"`
	HoldID string   `json:"hold_id,omitempty"`
	Seats  []string `json:"seats,omitempty"`
	Units  []string `json:"units,omitempty"`
	// ExpiresAt is the hold's expiry on the server's clock, in Unix nanoseconds.
	ExpiresAt int64 `json:"expires_at,omitempty"`
	// TTLMillis is the hold's lifetime as the server gave it.
	TTLMillis int64  `json:"ttl_ms,omitempty"`
	BookingID string `json:"booking_id,omitempty"`
	ChargeID  string `json:"charge_id,omitempty"`
	RefundID  string `json:"refund_id,omitempty"`
	// Replayed is set when a checkout answer carried Idempotent-Replayed: true.
	Replayed bool `json:"replayed,omitempty"`
	// Available lists, for a read, the seats the system reported as available; Held and Sold
	// the others. Reads of large seat maps may be restricted to the seats a client cares about.
	Available []string `json:"available,omitempty"`
	Held      []string `json:"held,omitempty"`
	Sold      []string `json:"sold,omitempty"`
	// AsOf is, for a read, the moment the seat map describes (its as_of, on the server's
	// clock, in Unix nanoseconds); 0 when the answer had none. A system that answers from a
	// snapshot shares one as_of between many readers, and it may lie before the read's call.
	AsOf int64 `json:"as_of,omitempty"`
	// Tickets are, for a checkout that booked, the ids of the tickets the booking carried.
	Tickets []string `json:"tickets,omitempty"`
	// FirstGate and FirstAt are, for a scan refused as ticket_used, the gate and the time (Unix
	// nanoseconds, the server's clock) of the ticket's first entry.
	FirstGate string `json:"first_gate,omitempty"`
	FirstAt   int64  `json:"first_at,omitempty"`
}

// Record is one line of a history: a completed client operation, a fault event or the header.
type Record struct {
	// Client identifies the virtual user; -1 for the nemesis (fault records) and the header.
	Client int   `json:"client"`
	Op     Kind  `json:"op"`
	In     Input `json:"in"`
	// Call and Ret are monotonic nanoseconds since the run's start. A fault-start record has
	// Call == Ret == the moment of injection.
	Call int64  `json:"call"`
	Ret  int64  `json:"ret"`
	Out  Output `json:"out"`
	Type Type   `json:"type"`
	// Header is set on the header record only.
	Header *Header `json:"header,omitempty"`
}

// Header describes the run a history belongs to.
type Header struct {
	// Start is the wall-clock time at monotonic 0, in Unix nanoseconds.
	Start    int64  `json:"start"`
	Scenario string `json:"scenario,omitempty"`
	Seed     int64  `json:"seed"`
	Target   string `json:"target,omitempty"`
	Strategy string `json:"strategy,omitempty"`
	DB       string `json:"db,omitempty"`
	// Shard is "i/n" when the history is one shard of a larger run.
	Shard string `json:"shard,omitempty"`
	// ClockSkew is the bound, in nanoseconds, by which merged shards' clocks may disagree.
	ClockSkew int64 `json:"clock_skew,omitempty"`
}

// IsOperation reports whether r is a client operation (not a header or fault record).
func (r *Record) IsOperation() bool {
	switch r.Op {
	case KindHeader, KindFaultStart, KindFaultEnd:
		return false
	}
	return true
}

// Validate reports the first thing wrong with r.
func (r *Record) Validate() error {
	if r.Op == "" {
		return fmt.Errorf("record has no op")
	}
	if r.Op == KindHeader {
		if r.Header == nil {
			return fmt.Errorf("header record has no header")
		}
		return nil
	}
	if !r.Type.Valid() {
		return fmt.Errorf("%s record: type %q is not ok, fail, info or shed", r.Op, r.Type)
	}
	if r.Ret < r.Call {
		return fmt.Errorf("%s record of client %d: ret %d before call %d", r.Op, r.Client, r.Ret, r.Call)
	}
	return nil
}

// Since converts a wall-clock time to the run's monotonic axis given the header's start.
func (h *Header) Since(t time.Time) int64 { return t.UnixNano() - h.Start }

// MarshalLine encodes r as one JSON line, newline included.
func (r *Record) MarshalLine() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode %s record: %w", r.Op, err)
	}
	return append(b, '\n'), nil
}
