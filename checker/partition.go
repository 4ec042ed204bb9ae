package checker

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"stampede/history"
)

// Error codes of the booking contract (server/api.yaml) the checker interprets.
const (
	codeSeatUnavailable = "seat_unavailable"
	codeHoldExpired     = "hold_expired"
	codeHoldLost        = "hold_lost"
	codeHoldSold        = "hold_sold"
	codeSoldOut         = "sold_out"
	codePaymentDeclined = "payment_declined"
	codeWaitingRoomOff  = "waiting_room_off"
)

// holdInfo is what the history says about one hold id.
type holdInfo struct {
	name    string
	event   string
	session string
	tier    string
	// keys are the partitions (seats or general-admission units) the hold covers.
	keys      []int32
	quantity  int
	rec       int32
	client    int32
	out       outcome
	call, ret int64
	// expiresAt is the server's expires_at (Unix ns, 0 when absent); ttl is ttl_ms in ns.
	expiresAt int64
	ttl       int64
	// expiry is the best estimate of the expiry on the run axis and known whether it came from
	// expires_at or ttl_ms; eff is expiry minus the clock-skew tolerance, the earliest moment the
	// model lets the hold expire.
	expiry int64
	eff    int64
	known  bool
	// anon is set for a hold of unknown outcome whose id the client never learned; lossy for
	// a hold a fault may have lost before it expired.
	anon  bool
	lossy bool
}

// checkoutRec is one checkout record, kept for the invariant and money checks.
type checkoutRec struct {
	hold      string
	booking   string
	key       string
	session   string
	code      string
	refund    string
	charge    string
	call, ret int64
	rec       int32
	client    int32
	out       outcome
	replayed  bool
}

// refRec is a checkout or release waiting for its hold's seats to be known.
type refRec struct {
	hold      string
	op        seatOp
	projected bool
}

// partition is one seat or general-admission unit and the operations projected onto it.
type partition struct {
	event string
	// seat is the seat id, or "tier#unit" for a general-admission unit.
	seat string
	ops  []seatOp
	unit bool
}

// noun is "seat" or "unit" (of a general-admission tier).
func (p *partition) noun() string {
	if p.unit {
		return "unit"
	}
	return "seat"
}

// eventKeys interns the partitions of one event.
type eventKeys struct {
	seats map[string]int32
	units map[string]int32
}

type joinKey struct{ event, session string }

// index is everything the checks need from a history, in compact form. It is built by add,
// one record at a time (so a large file can be streamed), then finalize; after that it is
// read-only and shared by the checking workers.
type index struct {
	opts Options
	// scans are the gate scans (gates.go).
	scans  scanLog
	header *history.Header
	nrec   int
	maxRet int64
	minCal int64

	events    map[string]*eventKeys
	lastEvent string
	lastKeys  *eventKeys
	parts     []partition

	holdIDs map[string]int32
	// Holds are stored in chunks, so that growing the table never copies it; hold id 0 means
	// none and is never given.
	holdChunks [][]holdInfo
	nholds     int32

	bookingIDs   map[string]int32
	bookingNames []string // bookingNames[0] is unused

	refs      []refRec
	checkouts []checkoutRec

	// flat collects every projected operation with its partition, in chunks that are never
	// copied; finalize distributes them into the partitions with one counting sort, instead of
	// growing one slice per seat. Past Options.MaxResidentOps they go to spill instead, and
	// eachGroup loads them one bucket of partitions at a time (spill.go); err is the first
	// error spilling them.
	flat  [][]projected
	spill *spill
	// pend is the batch of projected operations not yet handed to the spill.
	pend []projected
	err  error

	// joins is the earliest call of an ok or info join per event and session; roomOn the
	// events for which some join was admitted.
	joins  map[joinKey]int64
	roomOn map[string]bool

	faultRecs []history.Record
	faults    []FaultWindow

	// hz keeps what measuring the hazards needs beyond the above (hazards.go).
	hz hazardLog

	minTTL, maxTTL int64
	// ttlHolds counts the granted holds whose answer carried ttl_ms.
	ttlHolds int
	horizon  int64
	skew     int64 // clock-skew tolerance for expiries, ns
	widen    int64 // half the merged shards' clock bound, added around every operation

	ops        int // seat operations projected
	unresolved int
	// snapNoHeader and snapAhead count reads whose as_of could not be used: no header before
	// them, or an as_of after their return by more than the clock-skew tolerance.
	snapNoHeader int
	snapAhead    int
	noExpiry     int
	noHoldID     int
	dupHolds     int
	headers      int
	warnings     []string
	truncated    int64 // bytes after the history's last complete line, left out (AllowTruncated)
}

func newIndex(opts Options) *index {
	return &index{
		opts:         opts,
		events:       make(map[string]*eventKeys),
		holdIDs:      make(map[string]int32),
		nholds:       1,
		holdChunks:   [][]holdInfo{make([]holdInfo, 1, holdChunk)},
		bookingIDs:   make(map[string]int32),
		bookingNames: make([]string, 1, 1024),
		joins:        make(map[joinKey]int64),
		roomOn:       make(map[string]bool),
		minCal:       math.MaxInt64,
		hz:           newHazardLog(),
	}
}

// toOutcome maps a record's type to the model's outcome: a shed request, like a failed one,
// certainly had no effect.
func toOutcome(t history.Type) outcome {
	switch {
	case t == history.Ok:
		return oOk
	case t.Failed():
		return oFail
	}
	return oInfo
}

// eventKeys returns the partitions of an event, remembering the last one asked for (a run
// has one event, or a few).
func (ix *index) eventKeys(event string) *eventKeys {
	if ix.lastKeys != nil && event == ix.lastEvent {
		return ix.lastKeys
	}
	ek := ix.events[event]
	if ek == nil {
		ek = &eventKeys{seats: make(map[string]int32)}
		ix.events[event] = ek
	}
	ix.lastEvent, ix.lastKeys = event, ek
	return ek
}

func (ix *index) key(event, seat string) int32 {
	ek := ix.eventKeys(event)
	if k, ok := ek.seats[seat]; ok {
		return k
	}
	k := int32(len(ix.parts))
	// The seat's name is copied out of the record it came with: the seat names then sit
	// together, where the map's lookups, which compare them on every operation, find them in
	// the cache, and the decoded record's memory is not kept alive by them.
	seat = strings.Clone(seat)
	ix.parts = append(ix.parts, partition{event: event, seat: seat})
	ek.seats[seat] = k
	return k
}

func (ix *index) unitKey(event, tier, unit string) int32 {
	ek := ix.eventKeys(event)
	if ek.units == nil {
		ek.units = make(map[string]int32)
	}
	name := tier + "#" + unit
	if k, ok := ek.units[name]; ok {
		return k
	}
	k := int32(len(ix.parts))
	ix.parts = append(ix.parts, partition{event: event, seat: name, unit: true})
	ek.units[name] = k
	return k
}

func (ix *index) booking(id string) int32 {
	if id == "" {
		return 0
	}
	if b, ok := ix.bookingIDs[id]; ok {
		return b
	}
	b := int32(len(ix.bookingNames))
	ix.bookingNames = append(ix.bookingNames, id)
	ix.bookingIDs[id] = b
	return b
}

// projected is one operation projected onto partition part.
type projected struct {
	op   seatOp
	part int32
}

const flatChunk = 1 << 14

func (ix *index) project(keys []int32, op seatOp) {
	for _, k := range keys {
		if ix.spill != nil {
			ix.pend = append(ix.pend, projected{op, k})
			if len(ix.pend) >= spillBatch {
				ix.spill.send(ix.pend)
				ix.pend = ix.spill.batch()
			}
			continue
		}
		if len(ix.flat) == 0 || len(ix.flat[len(ix.flat)-1]) == flatChunk {
			ix.flat = append(ix.flat, make([]projected, 0, flatChunk))
		}
		last := &ix.flat[len(ix.flat)-1]
		*last = append(*last, projected{op, k})
	}
	ix.ops += len(keys)
	if ix.spill == nil && ix.err == nil && ix.ops > ix.opts.MaxResidentOps {
		ix.startSpill()
	}
}

// startSpill moves the operations projected so far to disk, where every later one goes too.
func (ix *index) startSpill() {
	// With more than one worker the spill is written on a goroutine of its own, beside the
	// reading of the history.
	s, err := newSpill(ix.opts.TempDir, ix.opts.Workers > 1)
	if err != nil {
		ix.err = err
		return
	}
	for c, chunk := range ix.flat {
		s.send(chunk)
		ix.flat[c] = nil
	}
	ix.flat = nil
	ix.spill = s
	ix.pend = s.batch()
}

// flushSpill hands the spill the operations still pending and waits until all are written.
func (ix *index) flushSpill() {
	if ix.spill == nil {
		return
	}
	if len(ix.pend) > 0 {
		ix.spill.send(ix.pend)
	}
	ix.pend = nil
	ix.spill.finish()
}

// eachGroup calls fn with groups of partitions whose operations are loaded, every partition
// in one group: all of them at once, or, for a spilled history, one bucket at a time, each
// bucket's operations let go when fn returns. It returns the first error, fn's or reading
// back the spill's.
func (ix *index) eachGroup(fn func(pids []int32) error) error {
	if ix.spill == nil {
		pids := make([]int32, len(ix.parts))
		for i := range pids {
			pids[i] = int32(i)
		}
		return fn(pids)
	}
	if ix.opts.Workers <= 1 {
		for b := range spillBuckets {
			pids, err := ix.loadBucket(b)
			if err != nil {
				return err
			}
			if err := fn(pids); err != nil {
				return err
			}
			ix.releaseGroup(pids)
		}
		return nil
	}
	// With more workers, the next bucket is read back while fn checks this one: two buckets'
	// operations in memory at most. Buckets hold disjoint partitions, so the loader and fn
	// never touch the same one.
	type group struct {
		pids []int32
		err  error
	}
	groups := make(chan group)
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		defer close(groups)
		for b := range spillBuckets {
			pids, err := ix.loadBucket(b)
			select {
			case groups <- group{pids, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		<-loaded
	}()
	for g := range groups {
		if g.err != nil {
			return g.err
		}
		if err := fn(g.pids); err != nil {
			return err
		}
		ix.releaseGroup(g.pids)
	}
	return nil
}

// releaseGroup lets the operations of a group of partitions go.
func (ix *index) releaseGroup(pids []int32) {
	for _, k := range pids {
		ix.parts[k].ops = nil
	}
}

// loadBucket reads bucket b of the spill into its partitions (a counting sort that keeps the
// order of projection within each partition, as distribute does) and returns them.
func (ix *index) loadBucket(b int) ([]int32, error) {
	var pids []int32
	for k := b; k < len(ix.parts); k += spillBuckets {
		pids = append(pids, int32(k))
	}
	// Sized up front: growing it by appending copied a bucket's operations over and over.
	ps := make([]projected, 0, ix.spill.n[b])
	if err := ix.spill.load(b, func(p projected) { ps = append(ps, p) }); err != nil {
		return nil, err
	}
	counts := make([]int, len(pids)+1)
	for i := range ps {
		counts[int(ps[i].part)/spillBuckets+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	all := make([]seatOp, len(ps))
	next := slices.Clone(counts[:len(pids)])
	for i := range ps {
		j := int(ps[i].part) / spillBuckets
		all[next[j]] = ps[i].op
		next[j]++
	}
	for i, k := range pids {
		ix.parts[k].ops = all[counts[i]:counts[i+1]:counts[i+1]]
		ix.widenOps(k)
	}
	return pids, nil
}

// close removes the spill, if any.
func (ix *index) close() error {
	if ix.spill == nil {
		return nil
	}
	err := ix.spill.close()
	ix.spill = nil
	return err
}

// widenOps widens the operations of partition k by the merged shards' clock bound.
func (ix *index) widenOps(k int32) {
	if ix.widen == 0 {
		return
	}
	ops := ix.parts[k].ops
	for j := range ops {
		ops[j].call -= ix.widen
		ops[j].ret += ix.widen
	}
}

const holdChunk = 1 << 12

// hold returns the hold with the given id (1 <= id < nholds).
func (ix *index) hold(id int32) *holdInfo {
	return &ix.holdChunks[id/holdChunk][id%holdChunk]
}

func (ix *index) addHoldInfo(h holdInfo) int32 {
	id := ix.nholds
	last := &ix.holdChunks[len(ix.holdChunks)-1]
	if len(*last) == holdChunk {
		ix.holdChunks = append(ix.holdChunks, make([]holdInfo, 0, holdChunk))
		last = &ix.holdChunks[len(ix.holdChunks)-1]
	}
	*last = append(*last, h)
	ix.nholds++
	return id
}

// distribute moves the projected operations into their partitions (a counting sort that
// keeps the order of projection within each partition).
func (ix *index) distribute() {
	counts := make([]int, len(ix.parts)+1)
	for _, chunk := range ix.flat {
		for i := range chunk {
			counts[chunk[i].part+1]++
		}
	}
	for k := 1; k < len(counts); k++ {
		counts[k] += counts[k-1]
	}
	all := make([]seatOp, ix.ops)
	next := slices.Clone(counts[:len(ix.parts)])
	for c, chunk := range ix.flat {
		for i := range chunk {
			k := chunk[i].part
			all[next[k]] = chunk[i].op
			next[k]++
		}
		ix.flat[c] = nil // let the chunk go as soon as it is copied
	}
	for k := range ix.parts {
		// The full slice expression keeps a partition from appending into its neighbour.
		ix.parts[k].ops = all[counts[k]:counts[k+1]:counts[k+1]]
	}
	ix.flat = nil
}

// add takes record i of the history.
func (ix *index) add(i int, r *history.Record) {
	ix.nrec++
	if r.IsOperation() {
		ix.maxRet = max(ix.maxRet, r.Ret)
		ix.minCal = min(ix.minCal, r.Call)
	}
	switch r.Op {
	case history.KindHeader:
		ix.headers++
		if ix.header == nil {
			h := *r.Header
			ix.header = &h
		} else if r.Header.Start != ix.header.Start {
			ix.warnings = append(ix.warnings, fmt.Sprintf("record %d: a second header with another start is ignored; merged shards must share one time axis", i))
		}
	case history.KindFaultStart, history.KindFaultEnd:
		ix.faultRecs = append(ix.faultRecs, *r)
		ix.maxRet = max(ix.maxRet, r.Ret)
	case history.OpJoin:
		if r.Type.Failed() || r.Out.Code == codeWaitingRoomOff {
			// Refused or shed, or the room was off (the driver records that join as ok).
			return
		}
		k := joinKey{r.In.Event, r.In.Session}
		if c, ok := ix.joins[k]; !ok || r.Call < c {
			ix.joins[k] = r.Call
		}
		if r.Type == history.Ok {
			ix.roomOn[r.In.Event] = true
		}
	case history.OpScan:
		ix.scans.scan(i, r)
	case history.OpHold:
		ix.hz.hold(r)
		ix.addHold(i, r)
	case history.OpCheckout, history.OpRelease:
		if r.Op == history.OpRelease {
			ix.hz.release(r)
		}
		ix.addRef(i, r)
	case history.OpRead:
		if r.Type != history.Ok {
			return
		}
		base := seatOp{call: r.Call, ret: r.Ret, rec: int32(i), client: int32(r.Client), kind: kRead, out: oOk}
		base.call, base.snap = ix.snapshotStart(r)
		for _, l := range [...]struct {
			seats []string
			st    status
		}{{r.Out.Available, stAvail}, {r.Out.Held, stHeld}, {r.Out.Sold, stSold}} {
			for _, s := range l.seats {
				op := base
				op.read = l.st
				ix.project([]int32{ix.key(r.In.Event, s)}, op)
			}
		}
	}
}

// snapshotStart returns the earliest moment a read's seat map may describe, and whether it
// came from the map's as_of. A system may answer reads from a snapshot shared by many readers,
// taken before a read's call; its as_of says from when the snapshot's data was current, so
// the read is checked as if it happened anywhere from as_of (less the clock-skew tolerance)
// to its return. A sale that returned before that start and is shown available is still a
// violation; one that returned after it (stale, but as fresh as the snapshot says) is not.
// as_of is taken as a lower bound, not the exact instant: a server that notes the time and
// then reads its database shows data from a little after its as_of, which must not be
// flagged. Without an as_of, or without a header to place it on the run's axis, or with an
// as_of after the return by more than the tolerance (clocks further apart than it allows),
// the read is checked within its own call and return.
func (ix *index) snapshotStart(r *history.Record) (int64, bool) {
	if r.Out.AsOf == 0 {
		return r.Call, false
	}
	at, ok := ix.wallToRun(r.Out.AsOf)
	if !ok {
		ix.snapNoHeader++
		return r.Call, false
	}
	start := at - int64(ix.opts.ClockSkew) - ix.header.ClockSkew
	if start > r.Ret {
		ix.snapAhead++
		return r.Call, false
	}
	return start, true
}

func (ix *index) addHold(i int, r *history.Record) {
	out := toOutcome(r.Type)
	base := seatOp{call: r.Call, ret: r.Ret, rec: int32(i), client: int32(r.Client), kind: kHold, out: out}
	if out == oFail {
		if r.Out.Code != codeSeatUnavailable || r.In.Tier != "" {
			return // not_admitted, sold_out, bad requests: nothing about a seat
		}
		seats := r.Out.Seats // the seats the error names as unavailable
		if len(seats) == 0 {
			if len(r.In.Seats) != 1 {
				return // a multi-seat hold refused without naming the seat says nothing per seat
			}
			seats = r.In.Seats
		}
		base.code = fUnavailable
		for _, s := range seats {
			ix.project([]int32{ix.key(r.In.Event, s)}, base)
		}
		return
	}
	name := r.Out.HoldID
	anon := false
	if name == "" {
		if out == oOk {
			ix.noHoldID++
		}
		name = "?" + strconv.Itoa(i) // an unknown hold nobody can name again
		anon = true
	}
	if _, dup := ix.holdIDs[name]; dup {
		ix.dupHolds++
		return
	}
	h := holdInfo{
		name: name, event: r.In.Event, session: r.In.Session, tier: r.In.Tier, quantity: r.In.Quantity,
		rec: int32(i), client: int32(r.Client), out: out, call: r.Call, ret: r.Ret,
		expiresAt: r.Out.ExpiresAt, ttl: r.Out.TTLMillis * 1e6, anon: anon,
	}
	if h.tier != "" {
		h.keys = make([]int32, 0, len(r.Out.Units))
		for _, u := range r.Out.Units {
			h.keys = append(h.keys, ix.unitKey(r.In.Event, h.tier, u))
		}
	} else {
		seats := r.Out.Seats
		if len(seats) == 0 {
			seats = r.In.Seats
		}
		h.keys = make([]int32, 0, len(seats))
		for _, s := range seats {
			h.keys = append(h.keys, ix.key(r.In.Event, s))
		}
	}
	if out == oOk && h.ttl > 0 {
		ix.ttlHolds++
		if ix.minTTL == 0 || h.ttl < ix.minTTL {
			ix.minTTL = h.ttl
		}
		ix.maxTTL = max(ix.maxTTL, h.ttl)
	}
	id := ix.addHoldInfo(h)
	ix.holdIDs[name] = id
	base.hold = id
	ix.project(h.keys, base)
}

// claimOf returns the claim step of a checkout (kClaim) when it may matter: the checkout sold
// the seats, may have, or gave them up (hold_expired, hold_lost), and its hold could have
// expired before the checkout returned. The contract lets a confirm book an expired hold whose
// seats nobody took; a server that does so in two steps (take the seats back, then sell them)
// shows them held by that hold again between its expiry and the sale, which a checkout as one
// atomic step cannot explain.
func claimOf(o seatOp, h *holdInfo) (seatOp, bool) {
	if o.kind != kCheckout || (o.out == oFail && o.code != fGone) || (o.out != oInfo && h.eff > o.ret) {
		return seatOp{}, false
	}
	claim := o
	claim.kind, claim.code, claim.booking = kClaim, fNone, 0
	if o.out != oInfo {
		claim.out = oOk
	}
	return claim, true
}

func (ix *index) addRef(i int, r *history.Record) {
	out := toOutcome(r.Type)
	op := seatOp{call: r.Call, ret: r.Ret, rec: int32(i), client: int32(r.Client), out: out}
	keep := true
	if r.Op == history.OpCheckout {
		op.kind = kCheckout
		ix.checkouts = append(ix.checkouts, checkoutRec{
			hold: r.In.HoldID, booking: r.Out.BookingID, key: r.In.Key, session: r.In.Session,
			code: r.Out.Code, refund: r.Out.RefundID, charge: r.Out.ChargeID,
			call: r.Call, ret: r.Ret, rec: int32(i), client: int32(r.Client), out: out, replayed: r.Out.Replayed,
		})
		if out != oFail {
			op.booking = ix.booking(r.Out.BookingID)
		} else {
			switch r.Out.Code {
			case codeHoldExpired, codeHoldLost:
				op.code = fGone
			case codeHoldSold:
				op.code = fSold
			default:
				keep = false // declined, in progress, conflicts: no effect on a seat
			}
		}
	} else {
		op.kind = kRelease
		if out == oFail {
			if r.Out.Code == codeHoldSold {
				op.code = fSold
			} else {
				keep = false
			}
		}
	}
	if keep {
		ix.refs = append(ix.refs, refRec{hold: r.In.HoldID, op: op})
	}
}

// finalize places expiries on the run axis, projects checkouts and releases onto their holds'
// seats, widens operations by the merged shards' clock bound and pairs the fault records.
func (ix *index) finalize() {
	var start int64
	if ix.header != nil {
		start = ix.header.Start
		if ix.header.ClockSkew > 0 {
			ix.widen = (ix.header.ClockSkew + 1) / 2
		}
	}
	ix.skew = int64(ix.opts.ClockSkew)
	if ix.header != nil {
		ix.skew += ix.header.ClockSkew
	}
	ix.pairFaults()
	var losing []FaultWindow
	for _, w := range ix.faults {
		if slices.Contains(ix.opts.HoldLossFaults, w.Name) {
			losing = append(losing, w)
		}
	}
	noHeaderExpiry, lost := 0, 0
	for id := int32(1); id < ix.nholds; id++ {
		h := ix.hold(id)
		switch {
		case h.expiresAt != 0 && ix.header != nil:
			h.expiry, h.known = h.expiresAt-start, true
		case h.ttl > 0:
			// ttl_ms counts from the moment the hold was taken, no earlier than the call.
			h.expiry, h.known = h.call+h.ttl, true
			if h.expiresAt != 0 {
				noHeaderExpiry++
			}
		case h.out == oInfo && ix.minTTL > 0:
			h.expiry = h.call + ix.minTTL
		default:
			// Nothing says when this hold ends: let it expire at once rather than invent a time.
			h.expiry = h.call
			if h.out == oOk {
				ix.noExpiry++
			}
		}
		h.eff = h.expiry - ix.skew
		// A fault that loses holds, ending after this hold was asked for, may end it from the
		// fault's start: the same step as an early expiry.
		for _, w := range losing {
			if w.End >= h.call && w.Start-ix.widen < h.eff {
				h.eff = w.Start - ix.widen
				if w.Start < h.expiry {
					h.lossy = true
				}
			}
		}
		if h.lossy && h.out == oOk {
			lost++
		}
		h.call -= ix.widen
		h.ret += ix.widen
	}
	for i := range ix.refs {
		rf := &ix.refs[i]
		id, ok := ix.holdIDs[rf.hold]
		if !ok || rf.hold == "" {
			ix.unresolved++
			continue
		}
		rf.op.hold = id
		rf.projected = true
		h := ix.hold(id)
		ix.project(h.keys, rf.op)
		if claim, ok := claimOf(rf.op, h); ok {
			ix.project(h.keys, claim)
		}
	}
	ix.refs = nil
	ix.flushSpill()
	if ix.spill == nil {
		ix.distribute()
		for k := range ix.parts {
			ix.widenOps(int32(k))
		}
	}
	ix.horizon = ix.maxRet + ix.widen + 1

	if ix.header == nil && ix.nrec > 0 {
		ix.warnings = append(ix.warnings, "the history has no header: server expiry times cannot be placed on the run axis, ttl_ms is used instead")
	}
	if noHeaderExpiry > 0 && ix.header != nil {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d holds had expires_at but no header to place it", noHeaderExpiry))
	}
	if lost > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d holds overlapped a fault that loses holds (%s): they were allowed to end when it began", lost, strings.Join(ix.opts.HoldLossFaults, ", ")))
	}
	if ix.noExpiry > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d ok holds had neither expires_at nor ttl_ms: they were allowed to expire at any time", ix.noExpiry))
	}
	if ix.noHoldID > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d ok holds had no hold_id", ix.noHoldID))
	}
	if ix.dupHolds > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d hold records repeated a hold_id already seen; only the first was used", ix.dupHolds))
	}
	if ix.snapNoHeader > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d reads had an as_of but no header before them to place it: they were checked within their own call and return", ix.snapNoHeader))
	}
	if ix.snapAhead > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d reads had an as_of later than their return by more than the clock-skew tolerance: they were checked within their own call and return", ix.snapAhead))
	}
	if ix.unresolved > 0 {
		ix.warnings = append(ix.warnings, fmt.Sprintf("%d checkouts or releases named a hold id no hold record gave; they were not checked for linearizability", ix.unresolved))
	}
}

// pairFaults turns fault-start and fault-end records into windows, pairing each end with the
// oldest open start of the same fault. The schedule writes a fault-end with the window's start
// as its call and the recovery as its return, so the window ends at the return. A fault-start
// that carries an error (the fault could not be injected) opens no window: no counterexample
// may follow a fault that never happened. The failed fault-end the schedule writes right after
// it (same fault, same call) goes with it.
func (ix *index) pairFaults() {
	recs := ix.faultRecs
	sort.SliceStable(recs, func(a, b int) bool { return recs[a].Call < recs[b].Call })
	open := make(map[string][]int)
	type attempt struct {
		fault string
		call  int64
	}
	failed := make(map[attempt]int)
	for _, r := range recs {
		notInjected := r.Type == history.Fail || r.Out.Error != ""
		switch r.Op {
		case history.KindFaultStart:
			if notInjected {
				failed[attempt{r.In.Fault, r.Call}]++
				continue
			}
			ix.faults = append(ix.faults, FaultWindow{Name: r.In.Fault, Params: r.In.Params, Start: r.Call, End: r.Call, Open: true})
			open[r.In.Fault] = append(open[r.In.Fault], len(ix.faults)-1)
		case history.KindFaultEnd:
			if a := (attempt{r.In.Fault, r.Call}); notInjected && failed[a] > 0 {
				failed[a]--
				continue
			}
			q := open[r.In.Fault]
			if len(q) == 0 {
				ix.warnings = append(ix.warnings, fmt.Sprintf("fault-end of %q at %s has no matching fault-start", r.In.Fault, fmtNanos(r.Call)))
				continue
			}
			w := &ix.faults[q[0]]
			w.End, w.Open = max(r.Ret, w.Start), false
			open[r.In.Fault] = q[1:]
		}
	}
	for i := range ix.faults {
		if ix.faults[i].Open {
			ix.faults[i].End = max(ix.maxRet, ix.faults[i].Start)
		}
	}
	ix.faultRecs = nil
}

// faultAt returns the fault window t falls in, or else the latest one that started before t.
func (ix *index) faultAt(t int64) *FaultRef {
	var best *FaultWindow
	for i := range ix.faults {
		w := &ix.faults[i]
		if w.Start > t {
			continue
		}
		if t <= w.End {
			return &FaultRef{Name: w.Name, Start: w.Start, End: w.End, During: true}
		}
		if best == nil || w.Start > best.Start {
			best = w
		}
	}
	if best == nil {
		return nil
	}
	return &FaultRef{Name: best.Name, Start: best.Start, End: best.End}
}

// multiEvent reports whether seats must be named with their event.
func (ix *index) multiEvent() bool { return len(ix.events) > 1 }

func (ix *index) partName(p *partition) string {
	if ix.multiEvent() {
		return p.event + "/" + p.seat
	}
	return p.seat
}

// wallToRun converts a wall-clock time in Unix ns to the run axis; ok is false without a header.
func (ix *index) wallToRun(unixNano int64) (int64, bool) {
	if ix.header == nil || unixNano == 0 {
		return 0, false
	}
	return unixNano - ix.header.Start, true
}
