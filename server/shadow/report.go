package shadow

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"stampede/internal/shadowreport"
	"stampede/server/api"
)

// results is what Run found so far. Safe for concurrent use.
type results struct {
	mu       sync.Mutex
	examples int
	replays  int64
	skips    int64
	counts   map[string]int64
	samples  map[string][]shadowreport.Divergence
	// lat are the latencies in microseconds by operation, [0] the primary's, [1] the shadow's.
	lat map[opKind]*[2]*hdrhistogram.Histogram
}

func newResults(examples int) *results {
	return &results{examples: examples, counts: map[string]int64{}, samples: map[string][]shadowreport.Divergence{},
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

func (r *results) diverge(d shadowreport.Divergence) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[d.Kind]++
	if len(r.samples[d.Kind]) < r.examples {
		r.samples[d.Kind] = append(r.samples[d.Kind], d)
	}
}

func latencyOf(h *hdrhistogram.Histogram) shadowreport.Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return shadowreport.Latency{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max())}
}

// Report returns what the shadow has found so far.
func (s *Shadow) Report() shadowreport.Report {
	pending := s.pending()
	s.mu.Lock()
	dropped := s.dropped
	s.mu.Unlock()
	r := s.results
	r.mu.Lock()
	defer r.mu.Unlock()
	out := shadowreport.Report{
		Primary: s.primary, Shadow: s.Name(), Replayed: r.replays, Skipped: r.skips, Dropped: dropped,
		Pending: pending, Kinds: []shadowreport.KindCount{}, Latency: []shadowreport.OpLatency{},
	}
	for _, k := range shadowreport.Kinds {
		n := r.counts[k.Kind]
		if n == 0 {
			continue
		}
		out.Divergences += n
		ex := append([]shadowreport.Divergence(nil), r.samples[k.Kind]...)
		sort.Slice(ex, func(i, j int) bool { return ex[i].At.Before(ex[j].At) })
		out.Kinds = append(out.Kinds, shadowreport.KindCount{Kind: k.Kind, About: k.About, Count: n, Examples: ex})
	}
	for _, k := range []opKind{opHold, opConfirm, opRelease} {
		if h := r.lat[k]; h != nil {
			out.Latency = append(out.Latency, shadowreport.OpLatency{Op: k.String(), Primary: latencyOf(h[0]), Shadow: latencyOf(h[1])})
		}
	}
	return out
}

// Handle is GET /admin/shadow: the Report as JSON.
func (s *Shadow) Handle(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, s.Report())
}
