package workloads

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"time"
)

// MergeMetrics joins the metrics.jsonl series of the shards of one run into one series on the
// time axis whose zero is zero, writing it to out. The shards began together at start (their
// common start instant), so their k-th seconds are one second of the herd: each line is placed
// by its wall clock (MetricsLine.Unix) at the whole second since start nearest to it. Counts
// of a second are added (requests, outcomes, in flight, users, the CPU of the driver
// processes); its percentiles are the largest of the shards' (a bound on the herd's, which the
// lines do not hold the samples for: the summary's latencies, from Combine, are exact). A line
// that is not JSON is an error naming its input and line.
func MergeMetrics(out io.Writer, zero, start time.Time, inputs ...io.Reader) error {
	merged := map[int64]*MetricsLine{}
	for i, in := range inputs {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for n := 1; sc.Scan(); n++ {
			var m MetricsLine
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return fmt.Errorf("merge metrics: input %d line %d: %w", i+1, n, err)
			}
			k := int64(math.Round(float64(m.Unix-start.UnixMilli()) / 1000))
			if into := merged[k]; into != nil {
				into.add(&m)
				continue
			}
			at := start.Add(time.Duration(k) * time.Second)
			m.T = at.Sub(zero).Seconds()
			m.Unix = at.UnixMilli()
			merged[k] = &m
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("merge metrics: input %d: %w", i+1, err)
		}
	}
	keys := make([]int64, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	for _, k := range keys {
		if err := enc.Encode(merged[k]); err != nil {
			return fmt.Errorf("merge metrics: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("merge metrics: %w", err)
	}
	return nil
}

// add puts another shard's line for the same second into l.
func (l *MetricsLine) add(m *MetricsLine) {
	l.Requests += m.Requests
	l.Rate += m.Rate
	l.Ok += m.Ok
	l.Fail += m.Fail
	l.Info += m.Info
	l.Shed += m.Shed
	l.Errors += m.Errors
	l.InFlight += m.InFlight
	l.Streams += m.Streams
	l.Active += m.Active
	l.Arrived += m.Arrived
	l.Dropped += m.Dropped
	l.LagP99 = max(l.LagP99, m.LagP99)
	l.LagMax = max(l.LagMax, m.LagMax)
	l.SlotWaits += m.SlotWaits
	l.SlotWaitP99 = max(l.SlotWaitP99, m.SlotWaitP99)
	l.SlotStarved += m.SlotStarved
	l.CPU = round2(l.CPU + m.CPU)
	if l.Ops == nil {
		l.Ops = map[string]OpWindow{}
	}
	for op, w := range m.Ops {
		o := l.Ops[op]
		o.Count += w.Count
		o.Ok += w.Ok
		o.Fail += w.Fail
		o.Info += w.Info
		o.Shed += w.Shed
		o.P50, o.P90, o.P99 = max(o.P50, w.P50), max(o.P90, w.P90), max(o.P99, w.P99)
		o.Max, o.P99Intended = max(o.Max, w.Max), max(o.P99Intended, w.P99Intended)
		l.Ops[op] = o
	}
}
