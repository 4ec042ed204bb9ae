package shadow

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"stampede/server/api"
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
	// KindError: the shadow failed (an internal error, or it ran out of Config.Timeout): no
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

// KindCount is the divergences of one kind, with the first few as examples.
type KindCount struct {
	Kind     string       `json:"kind"`
	About    string       `json:"about"`
	Count    int64        `json:"count"`
	Examples []Divergence `json:"examples,omitempty"`
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

// Report is what the shadow found: GET /admin/shadow.
type Report struct {
	Primary string `json:"primary"`
	Shadow  string `json:"shadow"`
	// Replayed operations were compared; Skipped ones were not (the primary's outcome was not a
	// decision, or the shadow had no copy of the hold); Dropped ones found the queue full;
	// Pending ones still wait in it or are being replayed.
	Replayed    int64       `json:"replayed"`
	Skipped     int64       `json:"skipped"`
	Dropped     int64       `json:"dropped"`
	Pending     int64       `json:"pending"`
	Divergences int64       `json:"divergences"`
	Kinds       []KindCount `json:"kinds"`
	Latency     []OpLatency `json:"latency"`
}

// results is what Run found so far. Safe for concurrent use.
type results struct {
	mu       sync.Mutex
	examples int
	replays  int64
	skips    int64
	counts   map[string]int64
	samples  map[string][]Divergence
	// lat are the latencies in microseconds by operation, [0] the primary's, [1] the shadow's.
	lat map[opKind]*[2]*hdrhistogram.Histogram
}

func newResults(examples int) *results {
	return &results{examples: examples, counts: map[string]int64{}, samples: map[string][]Divergence{},
		lat: map[opKind]*[2]*hdrhistogram.Histogram{}}
}

func (r *results) skip() {
	r.mu.Lock()
	r.skips++
	r.mu.Unlock()
}

func (r *results) replayed(k opKind, primary, shadow time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replays++
	h := r.lat[k]
	if h == nil {
		// 1 µs to 10 min at 3 significant figures.
		h = &[2]*hdrhistogram.Histogram{hdrhistogram.New(1, 600_000_000, 3), hdrhistogram.New(1, 600_000_000, 3)}
		r.lat[k] = h
	}
	_ = h[0].RecordValue(max(primary.Microseconds(), 1))
	_ = h[1].RecordValue(max(shadow.Microseconds(), 1))
}

func (r *results) diverge(d Divergence) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[d.Kind]++
	if len(r.samples[d.Kind]) < r.examples {
		r.samples[d.Kind] = append(r.samples[d.Kind], d)
	}
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max())}
}

// Report returns what the shadow has found so far.
func (s *Shadow) Report() Report {
	pending := s.pending()
	s.mu.Lock()
	dropped := s.dropped
	s.mu.Unlock()
	r := s.results
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Report{
		Primary: s.primary, Shadow: s.Name(), Replayed: r.replays, Skipped: r.skips, Dropped: dropped,
		Pending: pending, Kinds: []KindCount{}, Latency: []OpLatency{},
	}
	for _, k := range Kinds {
		n := r.counts[k.Kind]
		if n == 0 {
			continue
		}
		out.Divergences += n
		ex := append([]Divergence(nil), r.samples[k.Kind]...)
		sort.Slice(ex, func(i, j int) bool { return ex[i].At.Before(ex[j].At) })
		out.Kinds = append(out.Kinds, KindCount{Kind: k.Kind, About: k.About, Count: n, Examples: ex})
	}
	for _, k := range []opKind{opHold, opConfirm, opRelease} {
		if h := r.lat[k]; h != nil {
			out.Latency = append(out.Latency, OpLatency{Op: k.String(), Primary: latencyOf(h[0]), Shadow: latencyOf(h[1])})
		}
	}
	return out
}

// Handle is GET /admin/shadow: the Report as JSON.
func (s *Shadow) Handle(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, s.Report())
}
