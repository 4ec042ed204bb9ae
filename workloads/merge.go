package workloads

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"time"

	"stampede/history"
)

// Merge combines the histories of a sharded run into one history on a common time axis and
// writes it to out, streaming (it holds one record per input in memory). Every input must start
// with its header; all must come from the same scenario and seed, and no shard may appear
// twice. The merged axis starts at the earliest shard's wall-clock start; each shard's times
// are shifted by the difference between its start and that one, then widened by skew on both
// sides (call earlier, return later), because the shards' wall clocks may disagree by up to
// skew (see the package documentation). Records come out ordered by their shifted return
// time, as far as each input is so ordered (the driver writes records as they complete).
func Merge(out *history.Writer, skew time.Duration, inputs ...io.Reader) error {
	if len(inputs) == 0 {
		return errors.New("merge: no histories")
	}
	if skew < 0 {
		return fmt.Errorf("merge: clock skew %s is negative", skew)
	}
	srcs := make([]*mergeSource, len(inputs))
	var first *history.Header
	shards := map[string]bool{}
	for i, in := range inputs {
		r := history.NewReader(in)
		rec, err := r.Next()
		if err != nil {
			return fmt.Errorf("merge: history %d: %w", i+1, err)
		}
		if rec.Op != history.KindHeader {
			return fmt.Errorf("merge: history %d does not start with a header", i+1)
		}
		h := rec.Header
		if first == nil {
			first = h
		} else if h.Scenario != first.Scenario || h.Seed != first.Seed {
			return fmt.Errorf("merge: history %d is scenario %s seed %d, history 1 is scenario %s seed %d",
				i+1, h.Scenario, h.Seed, first.Scenario, first.Seed)
		}
		if h.Shard != "" {
			if shards[h.Shard] {
				return fmt.Errorf("merge: shard %s given twice", h.Shard)
			}
			shards[h.Shard] = true
		}
		srcs[i] = &mergeSource{r: r, start: h.Start, n: i + 1}
	}
	minStart := srcs[0].start
	for _, s := range srcs {
		minStart = min(minStart, s.start)
	}
	merged := &history.Record{Client: -1, Op: history.KindHeader, Header: &history.Header{
		Start: minStart, Scenario: first.Scenario, Seed: first.Seed, Target: first.Target,
		Strategy: first.Strategy, DB: first.DB, ClockSkew: int64(skew),
	}}
	if err := out.Write(merged); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	h := &mergeHeap{}
	for _, s := range srcs {
		s.shift = s.start - minStart
		ok, err := s.advance(int64(skew))
		if err != nil {
			return err
		}
		if ok {
			heap.Push(h, s)
		}
	}
	for h.Len() > 0 {
		s := (*h)[0]
		if err := out.Write(s.cur); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		ok, err := s.advance(int64(skew))
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return out.Flush()
}

type mergeSource struct {
	r     *history.Reader
	start int64
	shift int64
	cur   *history.Record
	n     int
}

// advance reads the next record, shifted and widened; false at the end of the input.
func (s *mergeSource) advance(skew int64) (bool, error) {
	for {
		rec, err := s.r.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("merge: history %d: %w", s.n, err)
		}
		if rec.Op == history.KindHeader {
			continue
		}
		rec.Call += s.shift - skew
		rec.Ret += s.shift + skew
		s.cur = rec
		return true, nil
	}
}

type mergeHeap []*mergeSource

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return h[i].cur.Ret < h[j].cur.Ret }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(*mergeSource)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
