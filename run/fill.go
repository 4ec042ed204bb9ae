package run

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"stampede/chaos"
	"stampede/checker"
	"stampede/reports"
	"stampede/sut"
	"stampede/workloads"
)

// fill turns what the driver, the ledgers and the checker found into the report's Run.
func fill(r *reports.Run, sum *workloads.Summary, res checker.Result, ledgers []*checker.Ledger, psp *checker.PSPLedger,
	windows []chaos.Window, began time.Duration, herdEnd int64, dir string) {
	r.Users = sum.Arrived
	r.Requests = sum.Requests
	secs := sum.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1
	}
	r.Latency = map[string]reports.Percentiles{}
	r.LatencyActual = map[string]reports.Percentiles{}
	r.Outcomes = map[string]map[string]int64{}
	for name, op := range sum.Ops {
		r.Latency[name] = percentiles(op.Requests, op.Intended)
		r.LatencyActual[name] = percentiles(op.Requests, op.Actual)
		oc := map[string]int64{"ok": op.Outcomes.Ok, "fail": op.Outcomes.Fail, "info": op.Outcomes.Info, "shed": op.Outcomes.Shed}
		for code, n := range op.Codes {
			oc[code] = n
		}
		r.Outcomes[name] = oc
	}
	r.Throughput = reports.Throughput{RequestsPerSec: float64(sum.Requests) / secs}
	if op := sum.Ops["hold"]; op != nil {
		r.Throughput.HoldsPerSec = float64(op.Outcomes.Ok) / secs
	}
	if op := sum.Ops["checkout"]; op != nil {
		r.Throughput.BookingsPerSec = float64(op.Outcomes.Ok) / secs
		r.LostHolds = op.Codes["hold_lost"] + op.Codes["hold_not_found"]
	}
	for _, l := range ledgers {
		r.Bookings += int64(len(l.Bookings))
		r.Refunds += int64(len(l.Refunds))
	}
	if psp != nil {
		for _, c := range psp.Charges {
			r.ChargedCents += c.AmountCents
		}
		for _, rf := range psp.Refunds {
			r.RefundedCents += rf.AmountCents
		}
	}
	origin := began.Nanoseconds()
	for _, w := range windows {
		if w.Start == 0 && w.End == 0 && w.Err != nil {
			r.Faults = append(r.Faults, reports.FaultWindow{Fault: w.Entry.Fault, Start: (w.Entry.At.Seconds() - began.Seconds()),
				End: (w.Entry.At.Seconds() - began.Seconds()), Params: w.Entry.Params, Error: w.Err.Error()})
			continue
		}
		fw := reports.FaultWindow{Fault: w.Entry.Fault, Start: float64(w.Start-origin) / 1e9, End: float64(w.End-origin) / 1e9,
			Params: w.Entry.Params}
		if w.Err != nil {
			fw.Error = w.Err.Error()
		}
		r.Faults = append(r.Faults, fw)
	}
	for _, v := range res.Verdicts {
		c := reports.Check{Name: v.Check, Result: string(v.Status), Count: int64(v.Count)}
		if v.Status == checker.Pass || v.Status == checker.Skipped || v.Status == checker.NotExercised {
			c.Count = int64(v.Checked)
		}
		for i, ex := range v.Examples {
			line := ex.Summary()
			if i == 0 {
				c.Counterexample = line
				if ex.Visualization != "" {
					if rel, err := filepath.Rel(filepath.Dir(dir), ex.Visualization); err == nil {
						c.Visualization = rel
					}
				}
				continue
			}
			c.Details = append(c.Details, line)
		}
		if c.Counterexample == "" && v.Note != "" && v.Status != checker.Pass {
			c.Counterexample = v.Note
		}
		r.Checks = append(r.Checks, c)
	}
	for _, o := range sum.SLO {
		r.SLOs = append(r.SLOs, slo(o))
	}
	r.Shed = sum.Outcomes.Shed
	r.Generator, r.Attribution = generator(sum), attribution(sum.Attribution)
	r.Series = series(filepath.Join(dir, "metrics.jsonl"), began)
}

// coverageRows puts the checker's hazard counts in the report, with the scenario's minimums.
func coverageRows(cov checker.Coverage, minimums workloads.Coverage) []reports.Coverage {
	out := make([]reports.Coverage, 0, len(cov))
	for _, h := range cov {
		out = append(out, reports.Coverage{Hazard: string(h.Hazard), Count: int64(h.Count), Peak: int64(h.Peak),
			Checks: h.Checks, Min: int64(minimums[h.Hazard])})
	}
	return out
}

// generator is the driver's account of itself in the report's units (milliseconds, cores).
func generator(sum *workloads.Summary) *reports.Generator {
	g := sum.Generator
	ms := func(d time.Duration) float64 { return round2(float64(d) / 1e6) }
	out := &reports.Generator{Bound: sum.GeneratorBound, Reasons: sum.GeneratorReasons,
		LagP99Ms: ms(g.Lag.P99), ArrivalLagP99Ms: ms(g.ArrivalLag.P99), SlotWaitP99Ms: ms(g.SlotWait.P99),
		SlotWaits: g.SlotWaits, SlotStarved: g.SlotStarved, MaxConns: g.MaxConns, Dropped: sum.Dropped}
	if g.CPU.Measured {
		out.CPUMeanCores, out.CPUMaxCores, out.Cores = g.CPU.Mean, g.CPU.Max, g.CPU.Cores
	}
	return out
}

// attribution is where the run's time went, as the report shows it.
func attribution(a workloads.Attribution) *reports.Attribution {
	out := &reports.Attribution{Limit: a.Limit, Why: a.Why, Shed: a.Shed, ShedSource: a.ShedSource, Notes: a.Notes}
	for _, c := range a.Costs {
		out.Costs = append(out.Costs, reports.Cost{Resource: c.Name(), Seconds: c.Seconds, Share: c.Share, Source: c.Source})
	}
	return out
}

func percentiles(n int64, l workloads.Latency) reports.Percentiles {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	return reports.Percentiles{Count: n, P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), P999: ms(l.P999), Max: ms(l.Max)}
}

// slo puts an objective's figures in the report's units: milliseconds for a latency, percent
// (to two places) for a share.
func slo(o workloads.SLOResult) reports.SLO {
	out := reports.SLO{Name: o.Name, Metric: string(o.Metric), Op: o.Op, Pass: o.Pass, Untrusted: o.Untrusted, NoData: o.NoData, FromSend: o.FromSend,
		Scope: o.Scope, Samples: o.Samples}
	figure := func(m workloads.Measure) (float64, reports.Unit) {
		if m.Unit == workloads.UnitRatio {
			return round2(m.Ratio * 100), reports.Percent
		}
		return float64(m.Duration) / 1e6, reports.Millis
	}
	out.Target, out.Unit = figure(o.Threshold)
	out.Actual, _ = figure(o.Observed)
	return out
}

// series reads metrics.jsonl into one point a second, on the herd's axis.
func series(path string, began time.Duration) []reports.Point {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []reports.Point
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var m workloads.MetricsLine
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		t := m.T - began.Seconds()
		if t < 0 {
			continue
		}
		p := reports.Point{T: math.Floor(t), Requests: m.Requests, Ok: m.Ok, Fail: m.Fail, Info: m.Info, Errors: m.Errors, InFlight: m.InFlight,
			Shed: m.Shed, LagP99: m.LagP99, CPU: m.CPU}
		if h, ok := m.Ops["hold"]; ok {
			p.Holds, p.P50, p.P99 = h.Ok, h.P50, h.P99Intended
		}
		if c, ok := m.Ops["checkout"]; ok {
			p.Bookings = c.Ok
		}
		out = append(out, p)
	}
	return out
}

// poolStats reads pool wait and connection hold time per conn tag from the server's /metrics.
// They cover the server process that is running now (a crashed server's figures are gone).
func poolStats(ctx context.Context, c sut.Server) map[string]reports.PoolStats {
	b, err := c.Metrics(ctx)
	if err != nil {
		return nil
	}
	return parsePoolStats(b)
}

// parsePoolStats reads the pool histograms of a /metrics exposition; nil when it has none.
func parsePoolStats(b []byte) map[string]reports.PoolStats {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		return nil
	}
	out := map[string]reports.PoolStats{}
	read := func(name string, set func(ps *reports.PoolStats, count uint64, sum, maxMs float64)) {
		fam, ok := fams[name]
		if !ok {
			return
		}
		for _, m := range fam.GetMetric() {
			tag := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "tag" {
					tag = l.GetValue()
				}
			}
			h := m.GetHistogram()
			if tag == "" || h == nil || h.GetSampleCount() == 0 {
				continue
			}
			// The largest bucket that still gained samples bounds the maximum. Samples past the
			// last finite bound (a wait longer than the histogram's range) leave that bound as
			// the maximum shown: a lower bound, and a number JSON can carry, never +Inf.
			maxMs, prev, last := 0.0, uint64(0), 0.0
			bs := h.GetBucket()
			sort.Slice(bs, func(i, j int) bool { return bs[i].GetUpperBound() < bs[j].GetUpperBound() })
			for _, bk := range bs {
				if math.IsInf(bk.GetUpperBound(), 0) {
					continue
				}
				last = bk.GetUpperBound() * 1000
				if bk.GetCumulativeCount() > prev {
					maxMs = last
				}
				prev = bk.GetCumulativeCount()
			}
			if h.GetSampleCount() > prev {
				maxMs = last
			}
			ps := out[tag]
			set(&ps, h.GetSampleCount(), h.GetSampleSum(), maxMs)
			out[tag] = ps
		}
	}
	read("stampede_db_pool_wait_seconds", func(ps *reports.PoolStats, n uint64, sum, maxMs float64) {
		ps.Count = int64(n)
		ps.WaitMeanMs = round2(sum * 1000 / float64(n))
		ps.WaitMaxMs = round2(maxMs)
	})
	read("stampede_db_conn_hold_seconds", func(ps *reports.PoolStats, n uint64, sum, maxMs float64) {
		ps.HoldMeanMs = round2(sum * 1000 / float64(n))
		ps.HoldMaxMs = round2(maxMs)
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
