package checker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

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
	// model is the seat's model with the folded holds called by t (foldAnon).
	model porcupine.Model
}

// explain finds the earliest return after which the partition can no longer be linearized.
// For a time T, the history cut at T keeps the operations called by T, with those still
// running at T turned into info operations (they may or may not have happened yet) and the
// pending failures and reads dropped. Cutting is monotone (a cut that is illegal stays
// illegal when T grows, and the full history is the last cut), so a binary search over the
// return times finds the first illegal cut; the operations returning exactly then are the
// culprits.
//
// chain is the partition's folded holds of unknown outcome: a cut at T keeps those called by T.
func (lc *linChecker) explain(ctx context.Context, pid int32, ops []seatOp, chain []anonHold) explanation {
	ex := explanation{pid: pid, model: lc.model}
	calledBy := func(t int64) []anonHold {
		n, _ := slices.BinarySearchFunc(chain, t, func(a anonHold, t int64) int {
			if a.call <= t {
				return -1
			}
			return 1
		})
		return chain[:n]
	}
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
		return porcupine.CheckOperationsTimeout(lc.modelFor(calledBy(t)), pops, lc.timeout(ctx)) == porcupine.Illegal
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
	ex.model = lc.modelFor(calledBy(ex.t))
	res, info := porcupine.CheckOperationsVerbose(ex.model, vis, lc.timeout(ctx))
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
	state := ex.model.Init()
	for _, id := range best {
		var ok bool
		ok, state = ex.model.Step(state, vis[id].Input, nil)
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
