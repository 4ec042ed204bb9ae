package checker

import (
	"container/heap"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"stampede/history"
)

// This file generates adversarial hot-seat histories for the benchmarks and the fuzz tests: a
// crowd of clients fighting over a handful of seats for a long time, most holds expiring or
// released unsold, checkouts that come too late, and many answers lost (type info), which is
// what makes a seat's history expensive to decide: every operation of unknown outcome stays
// pending to the end, so the search has to consider it at every later point. The simulated
// server applies each operation atomically at a linearization point inside [call, ret], so a
// correct run is linearizable by construction; a broken one makes, at moments where nothing
// in the history can excuse it, one of the violations below, and counts them. Generation is
// seeded: one seed, one history.

// advBug is the violation a broken simulated server makes.
type advBug int

const (
	advCorrect advBug = iota
	// advDoubleHold grants a hold on a seat another hold still holds (unexpired, not
	// released, its holder's next operation called only after the new hold returned).
	advDoubleHold
	// advStaleRead shows a seat available while an unexpired hold holds it.
	advStaleRead
	// advResurrect confirms an expired hold after another hold took the seat (no fencing).
	advResurrect
	// advSoldAgain forgets a sale: it grants a hold on a seat whose sale had returned.
	advSoldAgain
)

var advBugs = []advBug{advDoubleHold, advStaleRead, advResurrect, advSoldAgain}

func (b advBug) String() string {
	return [...]string{"correct", "double-hold", "stale-read", "resurrect", "sold-again"}[b]
}

// advConfig shapes one adversarial history.
type advConfig struct {
	Seed     uint64
	Seats    int     // the hot seats, all wanted by everybody
	Ops      int     // records to produce (the header excluded)
	Clients  int     // concurrent buyers
	InfoRate float64 // share of holds, checkouts and releases whose answer is lost
	SaleRate float64 // share of checkouts that pay in time (the rest come after the expiry)
	TTL      time.Duration
	Bug      advBug
	// BugAfter is the share of the history after which the broken server starts misbehaving
	// (once per seat), so that the violation sits deep inside a long history.
	BugAfter float64
}

// hotSeatConfig is the benchmark set's shape: thousands of operations on five seats, a fifth
// of the answers lost, almost nothing sold.
func hotSeatConfig(seed uint64, ops int, bug advBug) advConfig {
	cfg := advConfig{Seed: seed, Seats: 5, Ops: ops, Clients: 24, InfoRate: 0.2, SaleRate: 0.02,
		TTL: 300 * time.Millisecond, Bug: bug, BugAfter: 0.6}
	if bug == advSoldAgain {
		cfg.SaleRate = 0.1 // a server that forgets sales needs a few sales to forget
	}
	return cfg
}

// advSkew is the clock-skew tolerance the adversarial histories are checked with; the broken
// server leaves at least this much margin around its violations.
const advSkew = 20 * time.Millisecond

type advHold struct {
	seats    []int
	expiry   int64
	ret      int64 // when the grant returned (0 while unknown or not granted)
	released bool
	sold     bool
	booking  int
	// clean is set while every operation of the hold's owner on it so far had a known outcome.
	clean bool
	// next is the call of the owner's next operation on the hold (0 when none is scheduled).
	next int64
}

type advSeat struct {
	hold    int // the hold that holds it or last held it, 0 for none
	sold    bool
	booking int
	bugged  bool
	// soldRet is when the sale's answer returned (0 while unknown).
	soldRet int64
}

type advClient struct {
	id    int
	step  simStep
	seats []int
	hold  int
	key   string
}

type adv struct {
	cfg      advConfig
	rng      *rand.Rand
	seats    []advSeat
	holds    []advHold
	bookings int
	q        simQueue[*advClient]
	emit     func(*history.Record)
	n        int
	injected int
}

// adversarial generates the history of cfg into emit and returns how many violations the
// broken server made (0 for a correct one).
func adversarial(cfg advConfig, emit func(*history.Record)) int {
	a := &adv{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xad5)), seats: make([]advSeat, cfg.Seats),
		holds: make([]advHold, 1), emit: emit}
	emit(&history.Record{Client: -1, Op: history.KindHeader, Type: history.Ok,
		Header: &history.Header{Start: simStart, Seed: int64(cfg.Seed), Scenario: "hot-seat-" + cfg.Bug.String()}})
	for i := range cfg.Clients {
		c := &advClient{id: i, step: stepHold}
		c.seats = a.pick()
		a.schedule(c, int64(a.rng.IntN(int(20*time.Millisecond))))
	}
	for a.n < cfg.Ops {
		a.perform(heap.Pop(&a.q).(simEvent[*advClient]))
	}
	return a.injected
}

// advRecords generates into memory.
func advRecords(t testing.TB, cfg advConfig) ([]history.Record, int) {
	t.Helper()
	var recs []history.Record
	v := adversarial(cfg, func(r *history.Record) { recs = append(recs, *r) })
	return recs, v
}

func (a *adv) latency() int64 {
	return int64(200*time.Microsecond) + int64(a.rng.IntN(int(3*time.Millisecond)))
}

func (a *adv) schedule(c *advClient, call int64) {
	heap.Push(&a.q, simEvent[*advClient]{lin: call + a.latency(), call: call, user: c})
	if c.hold != 0 && c.step != stepHold {
		a.holds[c.hold].next = call
	}
}

// pick chooses one seat, or now and then two neighbours.
func (a *adv) pick() []int {
	s := a.rng.IntN(a.cfg.Seats)
	if a.cfg.Seats > 1 && a.rng.IntN(8) == 0 {
		return []int{min(s, a.cfg.Seats-2), min(s, a.cfg.Seats-2) + 1}
	}
	return []int{s}
}

func advSeatName(i int) string { return "H-" + strconv.Itoa(i) }

func advSeatNames(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = advSeatName(id)
	}
	return out
}

// held reports whether hold h holds seat s at time now (granted, unexpired, not released).
func (a *adv) held(s int, now int64) int {
	st := &a.seats[s]
	if st.sold || st.hold == 0 {
		return 0
	}
	h := &a.holds[st.hold]
	if h.released || h.expiry <= now {
		return 0
	}
	return st.hold
}

// exposed reports whether seat s is held at lin by a hold whose every operation so far had a
// known outcome, that returned before call, and whose owner calls nothing on it before
// until, with the expiry at least the skew tolerance after until: a violation against that
// hold cannot be excused by anything in the history.
func (a *adv) exposed(s int, call, until int64) bool {
	h := a.held(s, call)
	if h == 0 {
		return false
	}
	hd := &a.holds[h]
	return hd.clean && hd.ret != 0 && hd.ret < call && (hd.next == 0 || hd.next > until) &&
		hd.expiry-int64(advSkew)-int64(5*time.Millisecond) > until
}

// bugDue reports whether the broken server misbehaves on seat s now.
func (a *adv) bugDue(bug advBug, s int) bool {
	return a.cfg.Bug == bug && !a.seats[s].bugged && float64(a.n) >= a.cfg.BugAfter*float64(a.cfg.Ops)
}

func (a *adv) perform(e simEvent[*advClient]) {
	c, lin := e.user, e.lin
	ret := lin + a.latency()
	lost := c.step != stepRead && a.rng.Float64() < a.cfg.InfoRate
	effect := !lost || a.rng.IntN(2) == 0
	rec := history.Record{Client: c.id, Call: e.call, Ret: ret, Type: history.Ok}
	session := "s" + strconv.Itoa(c.id)
	think := func() int64 { return ret + int64(a.rng.IntN(int(30*time.Millisecond))) }
	again := func() {
		c.step, c.hold = stepHold, 0
		if a.rng.IntN(6) == 0 {
			c.step = stepRead
		}
		c.seats = a.pick()
		a.schedule(c, think())
	}
	switch c.step {
	case stepRead:
		rec.Op = history.OpRead
		all := make([]int, a.cfg.Seats)
		for i := range all {
			all[i] = i
		}
		rec.In = history.Input{Event: "e1", Seats: advSeatNames(all)}
		for s := range all {
			switch {
			case a.seats[s].sold:
				rec.Out.Sold = append(rec.Out.Sold, advSeatName(s))
			case a.held(s, lin) != 0 && !(a.bugDue(advStaleRead, s) && a.exposed(s, e.call, ret)):
				rec.Out.Held = append(rec.Out.Held, advSeatName(s))
			default:
				if a.held(s, lin) != 0 {
					a.seats[s].bugged = true
					a.injected++
				}
				rec.Out.Available = append(rec.Out.Available, advSeatName(s))
			}
		}
		again()
	case stepHold:
		rec.Op = history.OpHold
		rec.In = history.Input{Event: "e1", Session: session, Seats: advSeatNames(c.seats)}
		var taken []string
		bugged := -1
		for _, s := range c.seats {
			if a.seats[s].sold || a.held(s, lin) != 0 {
				if !lost && len(c.seats) == 1 && a.bugDue(advDoubleHold, s) && a.exposed(s, e.call, ret) {
					bugged = s
					continue
				}
				if st := &a.seats[s]; !lost && len(c.seats) == 1 && a.bugDue(advSoldAgain, s) && st.sold &&
					st.soldRet != 0 && st.soldRet < e.call {
					bugged = s
					continue
				}
				taken = append(taken, advSeatName(s))
			}
		}
		if len(taken) > 0 {
			rec.Type = history.Fail
			rec.Out = history.Output{Status: 409, Code: codeSeatUnavailable, Seats: taken}
			if lost {
				rec.Type, rec.Out = history.Info, history.Output{}
				rec.Ret = lin + int64(time.Second) + int64(a.rng.IntN(int(2*time.Second)))
			}
			again()
			break
		}
		if bugged >= 0 {
			a.seats[bugged].bugged = true
			a.injected++
		}
		h := len(a.holds)
		a.holds = append(a.holds, advHold{seats: c.seats, expiry: lin + int64(a.cfg.TTL), clean: !lost})
		if effect {
			for _, s := range c.seats {
				a.seats[s] = advSeat{hold: h, bugged: a.seats[s].bugged}
			}
		} else {
			a.holds[h].released = true // never took effect
		}
		if lost {
			rec.Type, rec.Out = history.Info, history.Output{}
			rec.Ret = lin + int64(time.Second) + int64(a.rng.IntN(int(2*time.Second)))
			again()
			break
		}
		a.holds[h].ret = ret
		rec.Out = history.Output{Status: 201, HoldID: "h" + strconv.Itoa(h), Seats: advSeatNames(c.seats),
			ExpiresAt: simStart + a.holds[h].expiry, TTLMillis: a.cfg.TTL.Milliseconds()}
		c.hold = h
		c.key = "k" + strconv.Itoa(h)
		switch r := a.rng.Float64(); {
		case r < 0.5:
			c.step = stepCheckout
			pay := int64(a.cfg.TTL) + int64(a.rng.IntN(int(a.cfg.TTL))) // too late
			if a.rng.Float64() < a.cfg.SaleRate {
				pay = int64(a.rng.IntN(int(a.cfg.TTL / 2)))
			}
			a.schedule(c, ret+pay)
		case r < 0.75:
			c.step = stepRelease
			a.schedule(c, ret+int64(a.rng.IntN(int(a.cfg.TTL))))
		default:
			a.holds[h].next = 0
			again() // abandoned: it expires
		}
	case stepCheckout:
		rec.Op = history.OpCheckout
		rec.In = history.Input{HoldID: "h" + strconv.Itoa(c.hold), Key: c.key, Session: session}
		h := &a.holds[c.hold]
		h.next = 0
		mine := true
		for _, s := range h.seats {
			if a.seats[s].sold || a.seats[s].hold != c.hold {
				mine = false
			}
		}
		resurrect := false
		if !mine && !lost && !h.sold && len(h.seats) == 1 && a.bugDue(advResurrect, h.seats[0]) &&
			a.exposed(h.seats[0], e.call, ret) && !a.seats[h.seats[0]].sold {
			mine, resurrect = true, true
		}

		switch {
		case h.sold:
			rec.Out = history.Output{Status: 201, BookingID: "b" + strconv.Itoa(h.booking), Replayed: true}
		case mine && !h.released:
			if effect {
				if resurrect {
					a.seats[h.seats[0]].bugged = true
					a.injected++
				}
				a.bookings++
				h.sold, h.booking = true, a.bookings
				for _, s := range h.seats {
					a.seats[s] = advSeat{hold: c.hold, sold: true, booking: a.bookings, bugged: a.seats[s].bugged}
					if !lost {
						a.seats[s].soldRet = ret
					}
				}
			}
			rec.Out = history.Output{Status: 201, BookingID: "b" + strconv.Itoa(a.bookings)}
		default:
			code := codeHoldLost
			if h.expiry <= lin || h.released {
				code = codeHoldExpired
			}
			rec.Type, rec.Out = history.Fail, history.Output{Status: 409, Code: code}
		}
		if lost {
			h.clean = false
			rec.Type, rec.Out = history.Info, history.Output{}
			rec.Ret = lin + int64(time.Second) + int64(a.rng.IntN(int(2*time.Second)))
		}
		again()
	case stepRelease:
		rec.Op = history.OpRelease
		rec.In = history.Input{HoldID: "h" + strconv.Itoa(c.hold), Session: session}
		h := &a.holds[c.hold]
		h.next = 0
		if h.sold {
			rec.Type, rec.Out = history.Fail, history.Output{Status: 409, Code: codeHoldSold}
		} else {
			if effect {
				h.released = true
				for _, s := range h.seats {
					if a.seats[s].hold == c.hold && !a.seats[s].sold {
						a.seats[s].hold = 0
					}
				}
			}
			rec.Out = history.Output{Status: 204}
		}
		if lost {
			h.clean = false
			rec.Type, rec.Out = history.Info, history.Output{}
			rec.Ret = lin + int64(time.Second) + int64(a.rng.IntN(int(2*time.Second)))
		}
		again()
	}
	a.n++
	a.emit(&rec)
}
