package checker

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
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
	ops     []seatOp
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

// run checks all partitions with a bounded pool of workers, the largest partitions first so
// that one big seat does not finish last alone.
func (lc *linChecker) run(ctx context.Context) (*linReport, error) {
	ix := lc.ix
	n := len(ix.parts)
	rep := &linReport{outcomes: make([]partOutcome, n)}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
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
		return nil, fmt.Errorf("check linearizability: %w", err)
	}
	rep.stats.Partitions = n
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
	return rep, nil
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
	out := partOutcome{checked: len(kept)}
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
		switch porcupine.CheckOperationsTimeout(lc.model, buf, lc.timeout(ctx)) {
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
		out.ops = nil
	}
	p.ops = nil
	return out, idle, idleN, buf
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

// reduce removes operations whose legality follows from the rest, and reports whether an
// operation after a confirmed sale is impossible. ops must be sorted by call. The reductions
// keep the verdict exact (the reduced history is linearizable exactly when the full one is):
//
//   - After the first confirmed sale returns (a checkout ok with a booking id, at time T), the
//     seat is sold to that booking forever, since a sold seat never becomes available. Every
//     operation called after T is ordered after the sale, so it is checked alone against that
//     state instead of being searched; only the operations called by T go to porcupine. The
//     first impossible one is appended to them, which makes that history illegal.
//   - An observer that needs the seat not available (a hold refused with seat_unavailable) or
//     held (a read saying held), called after hold H returned and returned before H could
//     expire or be released (or, for a read, checked out), must find the seat held by H or
//     sold in every linearization of the others; such observers are dropped. This is what
//     keeps hot seats cheap: the crowd refused while one buyer pays never reaches porcupine.
//
// The returned slice reuses ops' memory.
func (lc *linChecker) reduce(ops []seatOp) ([]seatOp, bool) {
	// The sale.
	cut := len(ops)
	offender := -1
	var sale *seatOp
	for i := range ops {
		o := &ops[i]
		if o.kind == kCheckout && o.out == oOk && o.booking != 0 && (sale == nil || o.ret < sale.ret) {
			sale = o
		}
	}
	if sale != nil {
		t := sale.ret
		cut = sort.Search(len(ops), func(i int) bool { return ops[i].call > t })
		sold := seatState{st: stSold, hold: sale.hold, booking: sale.booking, floor: math.MinInt64}
		var buf [6]seatState
		for j := cut; j < len(ops); j++ {
			if len(lc.sm.next(sold, &ops[j], buf[:0])) == 0 && (offender < 0 || ops[j].ret < ops[offender].ret) {
				offender = j
			}
		}
	}
	prefix := ops[:cut]

	// Hold windows.
	type window struct{ start, endNA, endHeld int64 }
	relCall := make(map[int32]int64)
	coCall := make(map[int32]int64)
	for i := range ops {
		o := &ops[i]
		if o.hold == 0 {
			continue
		}
		switch o.kind {
		case kRelease:
			if c, ok := relCall[o.hold]; !ok || o.call < c {
				relCall[o.hold] = o.call
			}
		case kCheckout:
			if c, ok := coCall[o.hold]; !ok || o.call < c {
				coCall[o.hold] = o.call
			}
			// A checkout refused as hold_lost or hold_expired, or of unknown outcome, may free
			// the seat as a release does (seatModel.apply).
			if o.out == oInfo || o.out == oFail && o.code == fGone {
				if c, ok := relCall[o.hold]; !ok || o.call < c {
					relCall[o.hold] = o.call
				}
			}
		}
	}
	var wins []window
	observers := 0
	for i := range prefix {
		o := &prefix[i]
		switch {
		case o.kind == kHold && o.out == oOk:
			eff := lc.ix.hold(o.hold).eff
			w := window{start: o.ret, endNA: eff, endHeld: eff}
			if c, ok := relCall[o.hold]; ok {
				w.endNA = min(w.endNA, c)
				w.endHeld = min(w.endHeld, c)
			}
			if c, ok := coCall[o.hold]; ok {
				w.endHeld = min(w.endHeld, c)
			}
			if w.endNA > w.start {
				wins = append(wins, w)
			}
		case isObserver(o):
			observers++
		}
	}
	kept := prefix
	if observers > 0 && len(wins) > 0 {
		slices.SortFunc(wins, func(a, b window) int { return cmp.Compare(a.start, b.start) })
		// maxNA[i], maxHeld[i]: the latest window end among wins[:i+1].
		maxNA := make([]int64, len(wins))
		maxHeld := make([]int64, len(wins))
		for i, w := range wins {
			maxNA[i], maxHeld[i] = w.endNA, w.endHeld
			if i > 0 {
				maxNA[i] = max(maxNA[i], maxNA[i-1])
				maxHeld[i] = max(maxHeld[i], maxHeld[i-1])
			}
		}
		kept = prefix[:0]
		for i := range prefix {
			o := prefix[i]
			if isObserver(&o) {
				// The windows that started strictly before the observer's call.
				j := sort.Search(len(wins), func(k int) bool { return wins[k].start >= o.call }) - 1
				if j >= 0 {
					end := maxNA[j]
					if o.kind == kRead {
						end = maxHeld[j]
					}
					if o.ret < end {
						continue
					}
				}
			}
			kept = append(kept, o)
		}
	}
	kept = dropNested(kept)
	if offender >= 0 {
		// The offender sits after the cut, so it does not overlap what kept reuses.
		kept = append(kept, ops[offender])
	}
	return kept, offender >= 0
}

// dropNested removes every observer whose interval contains the interval of another observer
// at least as demanding (a read saying held is as demanding as a refusal, which only needs
// the seat not available): it can be ordered right beside that one, where the state already
// satisfies it, and its wider interval constrains nothing more. Identical intervals keep one.
// ops must be sorted by call; the result reuses its memory.
func dropNested(ops []seatOp) []seatOp {
	n := observers(ops)
	if n < 2 {
		return ops
	}
	drop := make([]bool, len(ops))
	// Scan by decreasing call (then increasing ret, so that of identical intervals the first
	// seen is kept), tracking the smallest return among observers called at or after this one.
	idx := make([]int, 0, n)
	for i := range ops {
		if isObserver(&ops[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(ops[b].call, ops[a].call); c != 0 {
			return c
		}
		return cmp.Compare(ops[a].ret, ops[b].ret)
	})
	minAll, minHeld := int64(math.MaxInt64), int64(math.MaxInt64)
	for _, i := range idx {
		o := &ops[i]
		held := o.kind == kRead
		if (held && minHeld <= o.ret) || (!held && minAll <= o.ret) {
			drop[i] = true
			continue
		}
		minAll = min(minAll, o.ret)
		if held {
			minHeld = min(minHeld, o.ret)
		}
	}
	kept := ops[:0]
	for i := range ops {
		if !drop[i] {
			kept = append(kept, ops[i])
		}
	}
	return kept
}

func isObserver(o *seatOp) bool {
	return (o.kind == kHold && o.out == oFail && o.code == fUnavailable) ||
		(o.kind == kRead && o.read == stHeld)
}

// explanation is the minimized account of one illegal partition.
type explanation struct {
	pid      int32
	t        int64
	culprits []seatOp
	involved []seatOp
	message  string
	// prefix is the partition's history up to the culprit, as recorded, and info porcupine's
	// verbose result on it, for the visualization.
	prefix []seatOp
	info   porcupine.LinearizationInfo
	have   bool
}

// explain finds the earliest return after which the partition can no longer be linearized.
// For a time T, the history cut at T keeps the operations called by T, with those still
// running at T turned into info operations (they may or may not have happened yet) and the
// pending failures and reads dropped. Cutting is monotone (a cut that is illegal stays
// illegal when T grows, and the full history is the last cut), so a binary search over the
// return times finds the first illegal cut; the operations returning exactly then are the
// culprits.
func (lc *linChecker) explain(ctx context.Context, pid int32, ops []seatOp) explanation {
	ex := explanation{pid: pid}
	var rets []int64
	for i := range ops {
		if ops[i].out != oInfo {
			rets = append(rets, ops[i].ret)
		}
	}
	slices.Sort(rets)
	rets = slices.Compact(rets)
	if len(rets) == 0 {
		return ex
	}
	illegalAt := func(t int64) bool {
		// Fresh slices each time: after a timeout porcupine's search may still be reading the
		// previous ones.
		var cutOps []seatOp
		for _, o := range ops {
			switch {
			case o.call > t:
				continue
			case o.out == oInfo || o.ret <= t:
			case o.changes():
				o.out = oInfo
			default:
				continue
			}
			cutOps = append(cutOps, o)
		}
		pops := lc.operations(cutOps, nil, false)
		return porcupine.CheckOperationsTimeout(lc.model, pops, lc.timeout(ctx)) == porcupine.Illegal
	}
	hi := len(rets) - 1
	if !illegalAt(rets[hi]) {
		// Only the info operations' tail makes it illegal (or the search timed out): blame the
		// whole partition.
		ex.t = lc.ix.horizon
	} else {
		lo := 0
		for lo < hi {
			mid := (lo + hi) / 2
			if illegalAt(rets[mid]) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		ex.t = rets[hi]
	}
	for _, o := range ops {
		if o.call <= ex.t {
			ex.prefix = append(ex.prefix, o)
		}
	}
	for _, o := range ex.prefix {
		if o.out != oInfo && o.ret == ex.t {
			ex.culprits = append(ex.culprits, o)
		}
	}
	// The operations that shaped the seat before the culprit: the latest state changes.
	var changes []seatOp
	for _, o := range ex.prefix {
		if o.changes() && (o.out == oInfo || o.ret < ex.t) && !o.isIn(ex.culprits) {
			changes = append(changes, o)
		}
	}
	slices.SortFunc(changes, func(a, b seatOp) int { return cmp.Compare(a.ret, b.ret) })
	if len(changes) > 5 {
		changes = changes[len(changes)-5:]
	}
	ex.involved = append(changes, ex.culprits...)
	slices.SortFunc(ex.involved, func(a, b seatOp) int { return cmp.Compare(a.call, b.call) })

	vis := lc.operations(ex.prefix, nil, true)
	res, info := porcupine.CheckOperationsVerbose(lc.model, vis, lc.timeout(ctx))
	ex.info, ex.have = info, true
	ex.message = lc.message(ex, vis, res, info)
	return ex
}

func (o *seatOp) isIn(ops []seatOp) bool {
	for i := range ops {
		if ops[i].rec == o.rec && ops[i].kind == o.kind {
			return true
		}
	}
	return false
}

// message says which operation is impossible and in what state the operations before it
// left the seat, replaying porcupine's longest partial linearization that avoids the culprits.
func (lc *linChecker) message(ex explanation, vis []porcupine.Operation, res porcupine.CheckResult, info porcupine.LinearizationInfo) string {
	if len(ex.culprits) == 0 {
		return "the operations on this seat, including the unknown outcomes, cannot be ordered in any way the booking contract allows"
	}
	c := ex.culprits[0]
	what := fmt.Sprintf("client %d's %s", c.client, lc.sm.describeOp(&c))
	if res != porcupine.Illegal {
		return what + " cannot be explained by the operations before it"
	}
	isCulprit := make(map[int]bool)
	for i, op := range vis {
		o := op.Input.(*seatOp)
		if o.out != oInfo && o.ret == ex.t {
			isCulprit[i] = true
		}
	}
	var best []int
	if parts := info.PartialLinearizations(); len(parts) > 0 {
		for _, seq := range parts[0] {
			ok := true
			for _, id := range seq {
				if isCulprit[id] {
					ok = false
					break
				}
			}
			if ok && len(seq) > len(best) {
				best = seq
			}
		}
	}
	state := lc.model.Init()
	for _, id := range best {
		var ok bool
		ok, state = lc.model.Step(state, vis[id].Input, nil)
		if !ok {
			return what + " cannot be explained by the operations before it"
		}
	}
	return fmt.Sprintf("%s is impossible: the seat was %s", what, lc.describeSet(state))
}

// opRef renders a seat operation as a reference to its history record.
func (lc *linChecker) opRef(o *seatOp, culprit bool) OpRef {
	call, ret := o.call+lc.ix.widen, o.ret-lc.ix.widen
	return OpRef{Index: int(o.rec), Client: int(o.client), Op: o.kind.String(), Type: o.out.String(),
		Call: call, Ret: ret, Text: lc.sm.describeOp(o), Culprit: culprit}
}

// counterexample turns an explanation into the public form.
func (lc *linChecker) counterexample(ex *explanation) Counterexample {
	p := &lc.ix.parts[ex.pid]
	ce := Counterexample{
		Subject: p.noun() + " " + lc.ix.partName(p),
		Event:   p.event,
		Seat:    p.seat,
		Message: ex.message,
	}
	clients := make(map[int]bool)
	for i := range ex.involved {
		o := &ex.involved[i]
		ref := lc.opRef(o, o.isIn(ex.culprits))
		ce.Ops = append(ce.Ops, ref)
		clients[ref.Client] = true
	}
	for c := range clients {
		ce.Clients = append(ce.Clients, c)
	}
	slices.Sort(ce.Clients)
	if ex.t < lc.ix.horizon {
		ce.Time, ce.HasTime = ex.t-lc.ix.widen, true
		ce.Fault = lc.ix.faultAt(ce.Time)
	}
	return ce
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
				exs[i] = lc.explain(ctx, pid, rep.outcomes[pid].ops)
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

// maxExplained bounds how many failing partitions are minimized for counterexamples.
const maxExplained = 256

// describeSet renders a power-set state of the porcupine model ("held by h1 until 3.000s or
// available").
func (lc *linChecker) describeSet(state interface{}) string {
	set, ok := state.([]interface{})
	if !ok {
		return lc.model.DescribeState(state)
	}
	parts := make([]string, 0, len(set))
	for _, s := range set {
		parts = append(parts, lc.sm.describeState(s.(seatState)))
	}
	return strings.Join(parts, " or ")
}
