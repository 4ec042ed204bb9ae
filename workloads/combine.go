package workloads

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms are a Summary's latency distributions, each an HdrHistogram in its V2 compressed
// encoding (base64; microseconds), so that the summaries of a sharded run's shards combine over
// all their samples: a percentile of the whole herd is not an average of the shards'.
type Histograms struct {
	// Ops has one entry per operation of Summary.Ops.
	Ops map[string]OpHistograms `json:"ops"`
	// ArrivalLag is behind Generator.ArrivalLag.
	ArrivalLag string `json:"arrival_lag"`
}

// OpHistograms are one operation's distributions: behind OpSummary's Intended, Actual, Lag and
// SlotWait.
type OpHistograms struct {
	Intended string `json:"intended"`
	Actual   string `json:"actual"`
	Lag      string `json:"lag"`
	SlotWait string `json:"slot_wait"`
}

// encodeHist encodes h; "" when it cannot be (Combine then refuses the summary).
func encodeHist(h *hdr.Histogram) string {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

func encodeOp(st *opStats) OpHistograms {
	return OpHistograms{Intended: encodeHist(st.intended), Actual: encodeHist(st.actual),
		Lag: encodeHist(st.delays.lag), SlotWait: encodeHist(st.delays.slot)}
}

// mergeEncoded decodes enc and adds it to into.
func mergeEncoded(into *hdr.Histogram, enc, what string) error {
	if enc == "" {
		return fmt.Errorf("no %s histogram", what)
	}
	h, err := hdr.Decode([]byte(enc))
	if err != nil {
		return fmt.Errorf("%s histogram: %w", what, err)
	}
	if dropped := into.Merge(h); dropped > 0 {
		return fmt.Errorf("%s histogram: %d values out of range", what, dropped)
	}
	return nil
}

// Combine joins the summaries of the shards of one run (the same scenario and seed, each shard
// once) into the summary of the whole herd, as if one driver had run it: counts are added,
// latencies come from the shards' histograms merged (every sample of every shard), and the
// scenario's SLOs are judged again over them. The run was generator-bound when any shard was
// (its reasons are kept, named by shard). Every shard reads the same target's /metrics over
// nearly the same window (they share a start instant), so Server is the one of the shard that
// ran longest. CPU adds the shards' means and maxima (the driver processes together), with the
// most cores any of them had. Elapsed is the longest shard's.
func Combine(sc *Scenario, parts ...*Summary) (*Summary, error) {
	if len(parts) == 0 {
		return nil, errors.New("combine: no summaries")
	}
	first := parts[0]
	s := &Summary{
		Scenario: first.Scenario, Seed: first.Seed, Target: first.Target, Scale: first.Scale, Start: first.Start,
		Flows: map[string]int64{}, Ops: map[string]*OpSummary{},
	}
	type opHists struct{ intended, actual, lag, slot *hdr.Histogram }
	hists := map[string]*opHists{}
	arrival := newHist()
	seen := map[string]bool{}
	var runIDs []string
	var longest *Summary
	for n, p := range parts {
		label := "shard " + p.Shard
		if p.Shard == "" {
			label = fmt.Sprintf("summary %d", n+1)
		}
		switch {
		case p.Scenario != first.Scenario || p.Seed != first.Seed:
			return nil, fmt.Errorf("combine: %s is scenario %s seed %d, the first is scenario %s seed %d", label, p.Scenario, p.Seed, first.Scenario, first.Seed)
		case p.Shard != "" && seen[p.Shard]:
			return nil, fmt.Errorf("combine: shard %s given twice", p.Shard)
		case p.Histograms == nil:
			return nil, fmt.Errorf("combine: %s has no histograms (written by an older stampede)", label)
		}
		seen[p.Shard] = true
		runIDs = append(runIDs, p.RunID)
		if p.Start.Before(s.Start) {
			s.Start = p.Start
		}
		if longest == nil || p.Elapsed > longest.Elapsed {
			longest = p
		}
		s.Users += p.Users
		s.Arrived += p.Arrived
		s.Dropped += p.Dropped
		s.Finished += p.Finished
		for f, c := range p.Flows {
			s.Flows[f] += c
		}
		s.MaxLag = max(s.MaxLag, p.MaxLag)
		s.HistoryRecords += p.HistoryRecords
		s.Interrupted = s.Interrupted || p.Interrupted
		for op, o := range p.Ops {
			enc, ok := p.Histograms.Ops[op]
			if !ok {
				return nil, fmt.Errorf("combine: %s has no histograms of %s", label, op)
			}
			c := s.Ops[op]
			if c == nil {
				c = &OpSummary{Codes: map[string]int64{}}
				s.Ops[op] = c
				hists[op] = &opHists{newHist(), newHist(), newHist(), newHist()}
			}
			c.Requests += o.Requests
			c.Outcomes = c.Outcomes.plus(o.Outcomes)
			c.Errors += o.Errors
			for code, k := range o.Codes {
				c.Codes[code] += k
			}
			c.SlotWaits += o.SlotWaits
			c.SlotStarved += o.SlotStarved
			h := hists[op]
			for _, m := range []struct {
				into     *hdr.Histogram
				enc, who string
			}{{h.intended, enc.Intended, "intended"}, {h.actual, enc.Actual, "actual"}, {h.lag, enc.Lag, "lag"}, {h.slot, enc.SlotWait, "slot wait"}} {
				if err := mergeEncoded(m.into, m.enc, op+" "+m.who); err != nil {
					return nil, fmt.Errorf("combine: %s: %w", label, err)
				}
			}
			s.Requests += o.Requests
			s.Outcomes = s.Outcomes.plus(o.Outcomes)
			s.Errors += o.Errors
		}
		if err := mergeEncoded(arrival, p.Histograms.ArrivalLag, "arrival lag"); err != nil {
			return nil, fmt.Errorf("combine: %s: %w", label, err)
		}
		g := p.Generator
		s.Generator.SlotWaits += g.SlotWaits
		s.Generator.SlotStarved += g.SlotStarved
		s.Generator.MaxConns += g.MaxConns
		s.Generator.LagSeconds += g.LagSeconds
		s.Generator.SlotWaitSeconds += g.SlotWaitSeconds
		s.Generator.SlotWaitTargetSeconds += g.SlotWaitTargetSeconds
		s.Generator.TargetSlowed = s.Generator.TargetSlowed || g.TargetSlowed
		s.Generator.TargetSlowdown = max(s.Generator.TargetSlowdown, g.TargetSlowdown)
		cpu := &s.Generator.CPU
		cpu.Measured = (n == 0 || cpu.Measured) && g.CPU.Measured
		cpu.Cores = max(cpu.Cores, g.CPU.Cores)
		cpu.Mean = round2(cpu.Mean + g.CPU.Mean)
		cpu.Max = round2(cpu.Max + g.CPU.Max)
		cpu.Seconds = max(cpu.Seconds, g.CPU.Seconds)
		cpu.Busy = max(cpu.Busy, g.CPU.Busy)
		s.SeatMap.Reads += p.SeatMap.Reads
		s.SeatMap.SectionReads += p.SeatMap.SectionReads
		s.SeatMap.CompactReads += p.SeatMap.CompactReads
		s.SeatMap.Fallbacks += p.SeatMap.Fallbacks
		if s.SeatMap.Section == "" {
			s.SeatMap.Section, s.SeatMap.Compact = p.SeatMap.Section, p.SeatMap.Compact
		}
		if p.GeneratorBound {
			s.GeneratorBound = true
			for _, r := range p.GeneratorReasons {
				s.GeneratorReasons = append(s.GeneratorReasons, label+": "+r)
			}
		}
	}
	s.RunID = strings.Join(runIDs, ",")
	s.Elapsed = longest.Elapsed
	lag, slot := newHist(), newHist()
	out := &Histograms{Ops: map[string]OpHistograms{}, ArrivalLag: encodeHist(arrival)}
	ops := make([]string, 0, len(hists))
	for op := range hists {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		h, c := hists[op], s.Ops[op]
		c.Intended, c.Actual, c.Lag, c.SlotWait = latencyOf(h.intended), latencyOf(h.actual), latencyOf(h.lag), latencyOf(h.slot)
		lag.Merge(h.lag)
		slot.Merge(h.slot)
		out.Ops[op] = OpHistograms{Intended: encodeHist(h.intended), Actual: encodeHist(h.actual), Lag: encodeHist(h.lag), SlotWait: encodeHist(h.slot)}
	}
	s.Histograms = out
	s.Generator.Lag, s.Generator.SlotWait, s.Generator.ArrivalLag = latencyOf(lag), latencyOf(slot), latencyOf(arrival)
	if s.Elapsed > 0 {
		s.Throughput = float64(s.Requests) / s.Elapsed.Seconds()
	}
	if s.Requests > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Requests)
	}
	s.checkSLO(sc.SLO)
	for i := range s.SLO {
		s.SLO[i].Untrusted = s.GeneratorBound
	}
	s.Server = longest.Server
	var srvErr error
	if s.Server == nil {
		srvErr = errors.New("no shard read them")
	}
	s.Attribution = attribute(s, s.Server, srvErr)
	return s, nil
}

func (o Outcomes) plus(p Outcomes) Outcomes {
	return Outcomes{Ok: o.Ok + p.Ok, Fail: o.Fail + p.Fail, Info: o.Info + p.Info, Shed: o.Shed + p.Shed}
}

// SummaryFile is the name of the file a driver run's Summary is written to as JSON, beside its
// history (`stampede drive`, each shard of a sharded run).
const SummaryFile = "drive-summary.json"

// ReadSummary reads a Summary written as JSON (SummaryFile).
func ReadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read driver summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}
