package checker

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/anishathalye/porcupine"
)

// status is a seat's state in the sequential model.
type status uint8

const (
	stAvail status = iota
	stHeld
	stSold
)

func (s status) String() string {
	switch s {
	case stAvail:
		return seatAvailable
	case stHeld:
		return seatHeld
	case stSold:
		return seatSold
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// seatState is the sequential state of one seat (or one general-admission unit).
//
// Available seats remember in hold the hold that last held them if it expired and nobody took
// the seat since: the contract lets that hold still be confirmed. Held seats carry their hold
// and its effective expiry (the server's expires_at on the run axis minus the clock-skew
// tolerance). Sold seats carry the hold that bought them and its booking (0 while unknown,
// after a checkout whose outcome the client did not learn).
//
// floor is the earliest time any later operation may return: once a hold expired, that
// expiry happened no earlier than its effective expiry, so every operation ordered after it
// must return at or after that time. Without it an expiry allowed by one slow operation
// could be used to explain a fast operation that returned before the hold expired.
//
// next is the first hold of the seat model's chain (see anonHold) not yet taken.
type seatState struct {
	expiry  int64
	floor   int64
	hold    int32
	booking int32
	next    int32
	st      status
}

var initialState = seatState{st: stAvail, floor: math.MinInt64}

func (s seatState) hash() uint64 {
	h := uint64(14695981039346656037)
	for _, v := range [...]uint64{uint64(s.st), uint64(uint32(s.hold)), uint64(uint32(s.booking)), uint64(s.expiry), uint64(s.floor), uint64(uint32(s.next))} {
		h ^= v
		h *= 1099511628211
		h ^= h >> 29
	}
	return h
}

// opKind is what a seat operation does.
type opKind uint8

const (
	kHold opKind = iota + 1
	kCheckout
	kRelease
	kRead
	// kClaim is the claim step of a checkout (see index.finalize): a confirm whose hold
	// expired while nobody took its seats may take them again before it sells them, so the
	// seat shows held by that hold again in between. It is a projection of the checkout's
	// record, over the checkout's interval, and it may always be a no-op.
	kClaim
)

func (k opKind) String() string {
	switch k {
	case kHold:
		return "hold"
	case kCheckout:
		return "checkout"
	case kRelease:
		return "release"
	case kRead:
		return "read"
	case kClaim:
		return "checkout"
	}
	return "op"
}

// outcome mirrors history.Type in one byte.
type outcome uint8

const (
	oOk outcome = iota + 1
	oFail
	oInfo
)

func (o outcome) String() string {
	switch o {
	case oOk:
		return "ok"
	case oFail:
		return "fail"
	case oInfo:
		return "info"
	}
	return "?"
}

// failCode is the part of a failure the model understands. Failures with other codes (not
// admitted, declined payment, bad requests) are no-ops and never reach the model.
type failCode uint8

const (
	fNone        failCode = iota
	fUnavailable          // hold refused: seat_unavailable, the seat was held or sold
	fGone                 // checkout refused: hold_expired or hold_lost, the seat is not sold to the hold
	fSold                 // checkout or release refused: hold_sold, the seat is sold to the hold
)

// seatOp is one history operation projected onto one seat: a hold of four seats becomes four
// seatOps. Hold, booking and client are interned ids of the index; rec is the record's index
// in the history.
type seatOp struct {
	call    int64
	ret     int64
	rec     int32
	client  int32
	hold    int32
	booking int32
	kind    opKind
	out     outcome
	code    failCode
	read    status
	// snap is set on a read whose call is its seat map's as_of (see index.snapshotStart).
	snap bool
}

// changes reports whether the operation can change a seat's state (as opposed to observing it).
func (o *seatOp) changes() bool {
	return o.out != oFail && o.kind != kRead
}

// seatModel is the sequential specification of one seat over hold, checkout (confirm),
// release and read, with hold expiry as a nondeterministic step. It reads the index's hold
// table and names and is safe for concurrent use once the index is final.
//
// chain, when set, stands for the seat's anonymous holds of unknown outcome (see foldAnon),
// which are then not operations of the history but steps of the model.
type seatModel struct {
	ix    *index
	chain []anonHold
}

// anonHold is a hold of unknown outcome whose id nobody learned, folded into the model: it
// may take an available seat at any point of a linearization after which every operation
// returns at or after its call.
type anonHold struct {
	call int64
	hold int32
}

// next appends to dst every state the seat can be in after o, starting from s. Before o the
// seat's hold may expire, provided its effective expiry is not after o's return (an info
// operation returns at infinity, so any expiry may precede it). The result is empty when o
// is impossible from s.
func (m *seatModel) next(s seatState, o *seatOp, dst []seatState) []seatState {
	ret := o.ret
	if o.out == oInfo {
		ret = math.MaxInt64
	}
	dst = m.applyChain(s, o, ret, dst)
	if s.st == stHeld && s.expiry <= ret {
		expired := seatState{st: stAvail, hold: s.hold, floor: max(s.floor, s.expiry), next: s.next}
		if m.ix.hold(s.hold).anon {
			// Nobody can confirm a hold whose id nobody learned: forget it.
			expired.hold = 0
		}
		dst = m.applyChain(expired, o, ret, dst)
	}
	return dst
}

// applyChain appends the states o leads to from p, and, when p is available and the chain
// has a hold left, those it leads to after that hold took the seat just before o. Taking the
// hold raises the floor to its call: every operation after it in the linearization must
// return at or after its call, which is what placing the hold's own operation there required.
func (m *seatModel) applyChain(p seatState, o *seatOp, ret int64, dst []seatState) []seatState {
	dst = m.apply(p, o, ret, dst)
	if p.st != stAvail || int(p.next) >= len(m.chain) {
		return dst
	}
	a := m.chain[p.next]
	if a.call > ret {
		return dst
	}
	held := seatState{st: stHeld, hold: a.hold, expiry: m.ix.hold(a.hold).eff, floor: max(p.floor, a.call), next: p.next + 1}
	return m.apply(held, o, ret, dst)
}

// dominates reports whether every continuation possible from b is possible from a, so that a
// set of possible states holding both may drop b. A lower floor only allows more; two
// holds whose ids nobody learned (unknown outcomes) are interchangeable, the one that may
// expire sooner allowing more; and an earlier next hold of the chain allows more, as the
// chain's holds are ordered so that each may do whatever a later one may (foldAnon).
func (m *seatModel) dominates(a, b seatState) bool {
	if a.st != b.st || a.booking != b.booking || a.floor > b.floor || a.next > b.next {
		return false
	}
	if a.hold == b.hold {
		return a.expiry == b.expiry
	}
	return a.st == stHeld && m.ix.hold(a.hold).anon && m.ix.hold(b.hold).anon && a.expiry <= b.expiry
}

// prune removes the dominated states from a set of possible states, in place. Of two states
// that dominate each other (equal), the first is kept.
func (m *seatModel) prune(set []interface{}) []interface{} {
	if len(set) < 2 {
		return set
	}
	out := set[:0]
	for i, x := range set {
		xs := x.(seatState)
		dropped := false
		for j, y := range set {
			if i == j {
				continue
			}
			ys := y.(seatState)
			if m.dominates(ys, xs) && (!m.dominates(xs, ys) || j < i) {
				dropped = true
				break
			}
		}
		if !dropped {
			out = append(out, x)
		}
	}
	return out
}

// apply appends the states o leads to from p, without expiry; none of them takes a hold of
// the chain, so they keep p's next.
func (m *seatModel) apply(p seatState, o *seatOp, ret int64, dst []seatState) []seatState {
	from := len(dst)
	dst = m.applyOp(p, o, ret, dst)
	for i := from; i < len(dst); i++ {
		dst[i].next = p.next
	}
	return dst
}

// applyOp is apply without the chain.
func (m *seatModel) applyOp(p seatState, o *seatOp, ret int64, dst []seatState) []seatState {
	if ret < p.floor {
		return dst
	}
	if o.out == oInfo {
		// Unknown outcome: the operation happened here, or not at all.
		dst = append(dst, p)
	}
	switch o.kind {
	case kHold:
		switch o.out {
		case oOk, oInfo:
			if p.st == stAvail {
				dst = append(dst, seatState{st: stHeld, hold: o.hold, expiry: m.ix.hold(o.hold).eff, floor: p.floor})
			}
		case oFail:
			if o.code == fUnavailable && p.st != stAvail {
				dst = append(dst, p)
			}
		}
	case kCheckout:
		if (o.out == oInfo || o.out == oFail && o.code == fGone) && p.st == stHeld && p.hold == o.hold {
			// A checkout refused as hold_expired or hold_lost (or whose outcome is unknown) may
			// have ended its hold at once, within the checkout: a server that gives up a hold
			// during payment (and refunds) frees its seats then, not at the hold's expiry. The
			// hold keeps the seat's history, as after an expiry.
			dst = append(dst, seatState{st: stAvail, hold: o.hold, floor: p.floor})
		}
		switch o.out {
		case oOk, oInfo:
			switch {
			case p.st == stHeld && p.hold == o.hold, p.st == stAvail && p.hold == o.hold:
				dst = append(dst, seatState{st: stSold, hold: o.hold, booking: o.booking, floor: p.floor})
			case p.st == stSold && p.hold == o.hold && o.out == oOk:
				// A replay, or the confirmation of a sale an earlier unknown outcome made.
				switch {
				case p.booking == o.booking || o.booking == 0:
					dst = append(dst, p)
				case p.booking == 0:
					q := p
					q.booking = o.booking
					dst = append(dst, q)
				}
			}
		case oFail:
			switch o.code {
			case fGone:
				if !(p.st == stSold && p.hold == o.hold) {
					dst = append(dst, p)
				}
			case fSold:
				if p.st == stSold && p.hold == o.hold {
					dst = append(dst, p)
				}
			}
		}
	case kRelease:
		switch o.out {
		case oOk, oInfo:
			switch {
			case p.hold != o.hold:
				// The hold lost the seat before (expired, taken over): releasing it is a no-op.
				if o.out == oOk {
					dst = append(dst, p)
				}
			case p.st == stHeld, p.st == stAvail:
				dst = append(dst, seatState{st: stAvail, floor: p.floor})
			case p.st == stSold:
				// A sold hold cannot be released: only the no-op of an info release fits.
			}
		case oFail:
			if o.code == fSold && p.st == stSold && p.hold == o.hold {
				dst = append(dst, p)
			}
		}
	case kRead:
		if p.st == o.read {
			dst = append(dst, p)
		}
	case kClaim:
		if o.out != oInfo {
			dst = append(dst, p) // the claim was not needed, or not made
		}
		if p.st == stAvail && p.hold == o.hold && o.hold != 0 {
			// The hold expired and nobody took the seat: its confirm takes it again, until it
			// sells it or gives it back. The claim's own end is unknown here, so it may end at
			// once (its expiry is the checkout's call).
			dst = append(dst, seatState{st: stHeld, hold: o.hold, expiry: o.call, floor: p.floor})
		}
	}
	return dst
}

// porcupineModel converts the seat model into porcupine's terms: a NondeterministicModel
// (expiry and info operations make the next state a set) turned into a Model by porcupine's
// power-set construction. Inputs are *seatOp; outputs are unused (the outcome is part of the
// projected operation).
func (m *seatModel) porcupineModel() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} { return []interface{}{initialState} },
		Step: func(state, input, _ interface{}) []interface{} {
			var buf [6]seatState
			next := m.next(state.(seatState), input.(*seatOp), buf[:0])
			if len(next) == 0 {
				return nil
			}
			out := make([]interface{}, len(next))
			for i := range next {
				out[i] = next[i]
			}
			return out
		},
		Equal: func(a, b interface{}) bool { return a.(seatState) == b.(seatState) },
		Hash:  func(s interface{}) uint64 { return s.(seatState).hash() },
		DescribeOperation: func(input, _ interface{}) string {
			return m.describeOp(input.(*seatOp))
		},
		DescribeState: func(state interface{}) string { return m.describeState(state.(seatState)) },
		DescribeOperationMetadata: func(meta interface{}) string {
			if meta == nil {
				return ""
			}
			return fmt.Sprint(meta)
		},
	}
	pm := nm.ToModel()
	// ToModel's states are sets of nm's states; pruning the dominated ones keeps the sets
	// (and porcupine's cache) small when many operations of unknown outcome pile up.
	step := pm.Step
	pm.Step = func(state, input, output interface{}) (bool, interface{}) {
		ok, next := step(state, input, output)
		if !ok {
			return false, next
		}
		return true, m.prune(next.([]interface{}))
	}
	stepCtx := pm.StepContext
	pm.StepContext = func(ctx context.Context, state, input, output interface{}) (bool, interface{}) {
		ok, next := stepCtx(ctx, state, input, output)
		if !ok {
			return false, next
		}
		return true, m.prune(next.([]interface{}))
	}
	return pm
}

func (m *seatModel) holdName(h int32) string {
	if h == 0 {
		return "-"
	}
	return m.ix.hold(h).name
}

func (m *seatModel) bookingName(b int32) string {
	if b == 0 {
		return "?"
	}
	return m.ix.bookingNames[b]
}

// describeOp renders a seat operation for counterexamples and visualizations.
func (m *seatModel) describeOp(o *seatOp) string {
	var b strings.Builder
	switch o.kind {
	case kHold:
		if o.out == oFail {
			b.WriteString("hold refused: seat_unavailable")
			break
		}
		fmt.Fprintf(&b, "hold %s %s", m.holdName(o.hold), o.out)
		if h := m.ix.hold(o.hold); h.known {
			fmt.Fprintf(&b, " (expires %s)", fmtNanos(h.expiry))
		}
	case kCheckout:
		fmt.Fprintf(&b, "checkout %s ", m.holdName(o.hold))
		switch {
		case o.out == oOk:
			fmt.Fprintf(&b, "ok: booking %s", m.bookingName(o.booking))
		case o.out == oInfo:
			b.WriteString("info (outcome unknown)")
		case o.code == fGone:
			b.WriteString("refused: hold expired or lost")
		case o.code == fSold:
			b.WriteString("refused: hold_sold")
		}
	case kRelease:
		fmt.Fprintf(&b, "release %s ", m.holdName(o.hold))
		if o.out == oFail {
			b.WriteString("refused: hold_sold")
		} else {
			b.WriteString(o.out.String())
		}
	case kClaim:
		fmt.Fprintf(&b, "checkout %s takes the seat again (its hold expired, nobody took it)", m.holdName(o.hold))
	case kRead:
		if o.snap {
			fmt.Fprintf(&b, "read (a snapshot, checked from %s): %s", fmtNanos(o.call), o.read)
			break
		}
		fmt.Fprintf(&b, "read: %s", o.read)
	}
	return b.String()
}

func (m *seatModel) describeState(s seatState) string {
	switch s.st {
	case stAvail:
		if s.hold != 0 {
			return fmt.Sprintf("available (%s expired)", m.holdName(s.hold))
		}
		return seatAvailable
	case stHeld:
		h := m.ix.hold(s.hold)
		if !h.known {
			return fmt.Sprintf("held by %s (expiry unknown)", m.holdName(s.hold))
		}
		return fmt.Sprintf("held by %s until %s", m.holdName(s.hold), fmtNanos(h.expiry))
	case stSold:
		return fmt.Sprintf("sold to %s (%s)", m.bookingName(s.booking), m.holdName(s.hold))
	}
	return "?"
}
