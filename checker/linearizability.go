package checker

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// partVerdict is the outcome of one partition.
type partVerdict uint8

const (
	pvLegal partVerdict = iota
	pvIllegal
	pvTimeout
	pvTooLarge
)

// partOutcome is what checking one partition left behind. ops is kept only for partitions
// that did not pass (the reduced operations, porcupine's input), so memory stays bounded by
// the failing part of the history.
type partOutcome struct {
	ops []seatOp
	// chain is the partition's folded holds of unknown outcome (foldAnon), kept with ops.
	chain   []anonHold
	checked int
	verdict partVerdict
}

// linChecker checks every partition of an index with porcupine.
type linChecker struct {
	ix    *index
	sm    *seatModel
	model porcupine.Model
	opts  Options
}

func newLinChecker(ix *index, opts Options) *linChecker {
	sm := &seatModel{ix: ix}
	return &linChecker{ix: ix, sm: sm, model: sm.porcupineModel(), opts: opts}
}

// linReport is the raw outcome of the linearizability pass, plus the availability findings
// gathered from the same partitions on the way.
type linReport struct {
	outcomes []partOutcome
	stats    LinearizabilityStats
	idle     []idleFinding
	idleN    int
}

func (lc *linChecker) newReport() *linReport {
	return &linReport{outcomes: make([]partOutcome, len(lc.ix.parts))}
}

// runGroup checks the partitions pids, whose operations are loaded, with a bounded pool of
// workers, the largest partitions first so that one big seat does not finish last alone, and
// records their outcomes in rep.
func (lc *linChecker) runGroup(ctx context.Context, pids []int32, rep *linReport) error {
	ix := lc.ix
	order := slices.Clone(pids)
	n := len(order)
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(len(ix.parts[b].ops), len(ix.parts[a].ops)) })

	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < lc.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []porcupine.Operation
			var idle []idleFinding
			idleN := 0
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				pid := order[i]
				var found []idleFinding
				var cnt int
				rep.outcomes[pid], found, cnt, buf = lc.checkPartition(ctx, pid, buf)
				idleN += cnt
				idle = keepEarliest(append(idle, found...), lc.opts.MaxExamples)
			}
			mu.Lock()
			rep.idle = keepEarliest(append(rep.idle, idle...), lc.opts.MaxExamples)
			rep.idleN += idleN
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("check linearizability: %w", err)
	}
	return nil
}

// finish sums the outcomes of every partition into rep's statistics.
func (lc *linChecker) finish(rep *linReport) {
	ix := lc.ix
	rep.stats.Partitions = len(ix.parts)
	rep.stats.Ops = ix.ops
	rep.stats.Unresolved = ix.unresolved
	for i := range rep.outcomes {
		o := &rep.outcomes[i]
		rep.stats.Checked += o.checked
		rep.stats.Largest = max(rep.stats.Largest, o.checked)
		switch o.verdict {
		case pvIllegal:
			rep.stats.Illegal++
		case pvTimeout, pvTooLarge:
			rep.stats.Undecided++
		}
	}
}

// checkPartition sorts a partition, scans it for availability findings, reduces it and asks
// porcupine about the rest. buf is the worker's reusable operation buffer.
func (lc *linChecker) checkPartition(ctx context.Context, pid int32, buf []porcupine.Operation) (partOutcome, []idleFinding, int, []porcupine.Operation) {
	p := &lc.ix.parts[pid]
	ops := p.ops
	slices.SortFunc(ops, func(a, b seatOp) int {
		if c := cmp.Compare(a.call, b.call); c != 0 {
			return c
		}
		return cmp.Compare(a.rec, b.rec)
	})
	idle, idleN := lc.scanIdle(pid, ops)

	kept, offender := lc.reduce(ops)
	var chain []anonHold
	if !offender {
		kept, chain = lc.foldAnon(kept)
	}
	model := lc.modelFor(chain)
	out := partOutcome{checked: len(kept), chain: chain}
	// The core is the partition without its observers. Observers change no state, so
	// dropping them only relaxes the history: an illegal core proves the seat illegal, and
	// proving it costs no search over the orders of concurrent observers, which is what makes
	// porcupine slow on illegal hot seats (it must try every subset of them).
	core := kept
	if observers(kept) > 0 {
		core = make([]seatOp, 0, len(kept))
		for i := range kept {
			// The offender after a sale stays, observer or not: it is what makes the seat illegal.
			if !isObserver(&kept[i]) || (offender && i == len(kept)-1) {
				core = append(core, kept[i])
			}
		}
	}
	check := func(ops []seatOp) partVerdict {
		if len(ops) > lc.opts.MaxPartitionOps {
			return pvTooLarge
		}
		buf = lc.operations(ops, buf[:0], false)
		defer clear(buf) // drop the references to this partition's operations
		switch porcupine.CheckOperationsTimeout(model, buf, lc.timeout(ctx)) {
		case porcupine.Illegal:
			return pvIllegal
		case porcupine.Unknown:
			return pvTimeout
		}
		return pvLegal
	}
	switch {
	case offender:
		// The core keeps the sale and the offender after it, so it is illegal too.
		out.verdict, out.ops = pvIllegal, core
	default:
		out.verdict, out.ops = check(core), core
		if out.verdict == pvLegal && len(core) < len(kept) {
			out.verdict, out.ops = check(kept), kept
		}
	}
	if out.verdict == pvLegal {
		out.ops, out.chain = nil, nil
	}
	p.ops = nil
	return out, idle, idleN, buf
}

// modelFor returns the porcupine model of a seat whose anonymous holds of unknown outcome
// are folded into chain (the shared model when there are none).
func (lc *linChecker) modelFor(chain []anonHold) porcupine.Model {
	if len(chain) == 0 {
		return lc.model
	}
	sm := &seatModel{ix: lc.ix, chain: chain}
	return sm.porcupineModel()
}

func observers(ops []seatOp) int {
	n := 0
	for i := range ops {
		if isObserver(&ops[i]) {
			n++
		}
	}
	return n
}

// timeout is the per-partition budget, never beyond the context's deadline.
func (lc *linChecker) timeout(ctx context.Context) time.Duration {
	t := lc.opts.Timeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < t {
			t = max(left, time.Millisecond)
		}
	}
	return t
}

// operations converts seat operations to porcupine's. An info operation returns at the
// horizon (after everything), so it may take effect at any point after its call. With dense,
// clients are renumbered 0..k-1 in order of appearance, as porcupine's visualization draws
// one row per client id; checking does not need them.
func (lc *linChecker) operations(ops []seatOp, dst []porcupine.Operation, dense bool) []porcupine.Operation {
	var clients map[int32]int
	if dense {
		clients = make(map[int32]int)
	}
	for i := range ops {
		o := &ops[i]
		ret := o.ret
		if o.out == oInfo {
			ret = lc.ix.horizon
		}
		op := porcupine.Operation{Input: o, Call: o.call, Return: ret}
		if dense {
			c, ok := clients[o.client]
			if !ok {
				c = len(clients)
				clients[o.client] = c
			}
			op.ClientId = c
			op.Metadata = fmt.Sprintf("record #%d, client %d", o.rec, o.client)
		}
		dst = append(dst, op)
	}
	return dst
}

func isObserver(o *seatOp) bool {
	return (o.kind == kHold && o.out == oFail && o.code == fUnavailable) ||
		(o.kind == kRead && o.read == stHeld)
}

// linearizabilityVerdict explains the illegal partitions (the earliest ones, bounded), writes
// the visualizations and builds the verdict.
func (lc *linChecker) verdict(ctx context.Context, rep *linReport) (Verdict, []string, error) {
	v := Verdict{Check: CheckLinearizability, Kind: Safety, Checked: rep.stats.Partitions}
	var illegal, undecided []int32
	for pid := range rep.outcomes {
		switch rep.outcomes[pid].verdict {
		case pvIllegal:
			illegal = append(illegal, int32(pid))
		case pvTimeout, pvTooLarge:
			undecided = append(undecided, int32(pid))
		}
	}
	switch {
	case rep.stats.Partitions == 0:
		v.Status = Skipped
		v.Note = "no hold, checkout, release or read touched a seat"
		return v, nil, nil
	case len(illegal) > 0:
		v.Status, v.Count = Fail, len(illegal)
	case len(undecided) > 0:
		v.Status, v.Count = Unknown, len(undecided)
	default:
		v.Status = Pass
		v.Note = fmt.Sprintf("%d seats, %d operations", rep.stats.Partitions, rep.stats.Ops)
		return v, nil, nil
	}
	if len(illegal) == 0 {
		for _, pid := range undecided[:min(len(undecided), lc.opts.MaxExamples)] {
			o := &rep.outcomes[pid]
			p := &lc.ix.parts[pid]
			msg := fmt.Sprintf("undecided: porcupine did not finish %d operations within %s", o.checked, lc.opts.Timeout)
			if o.verdict == pvTooLarge {
				msg = fmt.Sprintf("undecided: %d operations exceed the limit of %d per seat", o.checked, lc.opts.MaxPartitionOps)
			}
			v.Examples = append(v.Examples, Counterexample{Subject: p.noun() + " " + lc.ix.partName(p), Event: p.event, Seat: p.seat, Message: msg})
		}
		v.Note = fmt.Sprintf("%d of %d seats undecided", len(undecided), rep.stats.Partitions)
		return v, nil, nil
	}
	if len(undecided) > 0 {
		v.Note = fmt.Sprintf("%d more seats undecided", len(undecided))
	}

	// Explain a bounded number of failing partitions, those whose operations start earliest.
	first := func(pid int32) int64 {
		if ops := rep.outcomes[pid].ops; len(ops) > 0 {
			return ops[0].call
		}
		return math.MaxInt64
	}
	slices.SortFunc(illegal, func(a, b int32) int { return cmp.Compare(first(a), first(b)) })
	illegal = illegal[:min(len(illegal), maxExplained)]
	exs := make([]explanation, len(illegal))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(lc.opts.Workers, len(illegal)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(illegal)) {
					return
				}
				pid := illegal[i]
				exs[i] = lc.explain(ctx, pid, rep.outcomes[pid].ops, rep.outcomes[pid].chain)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return v, nil, fmt.Errorf("explain linearizability failures: %w", err)
	}
	slices.SortStableFunc(exs, func(a, b explanation) int { return cmp.Compare(a.t, b.t) })
	exs = exs[:min(len(exs), lc.opts.MaxExamples)]
	var paths []string
	for i := range exs {
		ce := lc.counterexample(&exs[i])
		if lc.opts.OutDir != "" && i < lc.opts.MaxVisualizations && exs[i].have {
			path, err := lc.visualize(&exs[i])
			if err != nil {
				return v, paths, err
			}
			ce.Visualization = path
			paths = append(paths, path)
		}
		v.Examples = append(v.Examples, ce)
	}
	return v, paths, nil
}
