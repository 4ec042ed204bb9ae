package checker

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"stampede/history"
)

// This file simulates a booking server and a herd of buyers to generate histories with
// realistic overlap for the benchmarks and the randomized tests: the server applies every
// operation atomically at a linearization point inside the operation's [call, ret], in one
// global order, so a correct server yields a linearizable history by construction. Bugs make
// it break the contract the way broken strategies do. The simulation stands in for a driver,
// not for a database: it only produces histories.

type simBug int

const (
	bugNone simBug = iota
	// bugNaive: holds read then write without a lock (a hold racing another within the race
	// window wins too), and confirm writes without any condition.
	bugNaive
	// bugNoFencing: a lock-based strategy without the fencing check: the confirm of an expired
	// hold overwrites the seat even when another hold took or bought it.
	bugNoFencing
	// bugIgnoreHolder: the status-expiry confirm that ignores who holds the seat: it sells any
	// held seat to whichever hold asks.
	bugIgnoreHolder
)

func (b simBug) String() string {
	return [...]string{"correct", "naive", "no-fencing", "ignore-holder"}[b]
}

type simConfig struct {
	Seats    int
	Ops      int     // records to produce (the header excluded)
	Seed     uint64  // all randomness derives from it
	Rate     float64 // new buyers per second
	TTL      time.Duration
	HotSeats int     // the front seats most buyers want
	HotShare float64 // share of buyers that go for the hot seats
	InfoRate float64 // share of operations whose answer is lost
	Bug      simBug
}

func defaultSim(seats, ops int, seed uint64) simConfig {
	return simConfig{Seats: seats, Ops: ops, Seed: seed, Rate: 4000, TTL: 2 * time.Second,
		HotSeats: max(seats/100, 8), HotShare: 0.4, InfoRate: 0.01}
}

const simStart = int64(1700000000000000000)

type simSeat struct {
	hold    int32 // 0: never held or released
	booking int32
	sold    bool
	heldAt  int64
}

type simHold struct {
	seats    []int32
	expiry   int64
	released bool
	soldKey  string
	booking  int32
}

type simStep int

const (
	stepRead simStep = iota
	stepHold
	stepCheckout
	stepRelease
)

type simUser struct {
	id      int
	step    simStep
	seats   []int32
	hold    int32
	key     string
	tries   int
	retries int
}

// simEvent is an operation due at its linearization point lin, called at call, by a client
// of type C; simQueue orders them by lin (container/heap).
type simEvent[C any] struct {
	lin, call int64
	user      C
}

type simQueue[C any] []simEvent[C]

func (q simQueue[C]) Len() int            { return len(q) }
func (q simQueue[C]) Less(i, j int) bool  { return q[i].lin < q[j].lin }
func (q simQueue[C]) Swap(i, j int)       { q[i], q[j] = q[j], q[i] }
func (q *simQueue[C]) Push(x interface{}) { *q = append(*q, x.(simEvent[C])) }
func (q *simQueue[C]) Pop() interface{} {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type sim struct {
	cfg       simConfig
	rng       *rand.Rand
	seats     []simSeat
	holds     []simHold // holds[0] unused
	bookings  int32
	q         simQueue[*simUser]
	emit      func(*history.Record)
	n         int
	users     int
	violation int // contract breaches the bug actually made (double sales, sales of others' holds)
}

// simulate runs the herd until cfg.Ops records were emitted and returns how many contract
// breaches the simulated server made.
func simulate(cfg simConfig, emit func(*history.Record)) int {
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), seats: make([]simSeat, cfg.Seats),
		holds: make([]simHold, 1), emit: emit}
	emit(&history.Record{Client: -1, Op: history.KindHeader, Type: history.Ok,
		Header: &history.Header{Start: simStart, Seed: int64(cfg.Seed), Scenario: "sim-" + cfg.Bug.String()}})
	gap := float64(time.Second) / cfg.Rate
	next := int64(0)
	for s.n < cfg.Ops {
		// Admit the arrivals due before the next operation.
		for s.q.Len() == 0 || next <= s.q[0].lin {
			u := &simUser{id: s.users}
			s.users++
			if s.rng.Float64() < 0.1 {
				u.step = stepRead
			} else {
				u.step = stepHold
			}
			u.seats = s.pickSeats()
			s.schedule(u, next)
			next += int64(s.rng.ExpFloat64() * gap)
		}
		e := heap.Pop(&s.q).(simEvent[*simUser])
		s.perform(e)
	}
	return s.violation
}

func (s *sim) latency() int64 {
	return int64(500*time.Microsecond) + min(int64(s.rng.ExpFloat64()*float64(5*time.Millisecond)), int64(200*time.Millisecond))
}

func (s *sim) schedule(u *simUser, call int64) {
	heap.Push(&s.q, simEvent[*simUser]{lin: call + s.latency(), call: call, user: u})
}

func (s *sim) pickSeats() []int32 {
	n := 1 + s.rng.IntN(4)
	var first int
	if s.rng.Float64() < s.cfg.HotShare {
		first = s.rng.IntN(s.cfg.HotSeats)
	} else {
		first = s.rng.IntN(s.cfg.Seats)
	}
	first = min(first, s.cfg.Seats-n)
	seats := make([]int32, n)
	for i := range seats {
		seats[i] = int32(first + i)
	}
	return seats
}

func seatName(i int32) string { return "S-" + strconv.Itoa(int(i)) }

func seatNames(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = seatName(id)
	}
	return out
}

// status is the seat's state as a correct server reports it (an expired hold is available).
func (s *sim) status(seat int32, now int64) status {
	st := &s.seats[seat]
	switch {
	case st.sold:
		return stSold
	case st.hold != 0 && !s.holds[st.hold].released && s.holds[st.hold].expiry > now:
		return stHeld
	}
	return stAvail
}

func (s *sim) perform(e simEvent[*simUser]) {
	u, lin := e.user, e.lin
	ret := lin + s.latency()
	info := s.rng.Float64() < s.cfg.InfoRate
	effect := !info || s.rng.IntN(2) == 0
	rec := history.Record{Client: u.id, Call: e.call, Ret: ret, Type: history.Ok}
	session := "s" + strconv.Itoa(u.id)
	think := func() int64 { return ret + int64(s.rng.IntN(int(200*time.Millisecond))) }
	switch u.step {
	case stepRead:
		rec.Op = history.OpRead
		rec.In = history.Input{Event: "e1", Seats: seatNames(u.seats)}
		for _, id := range u.seats {
			switch s.status(id, lin) {
			case stAvail:
				rec.Out.Available = append(rec.Out.Available, seatName(id))
			case stHeld:
				rec.Out.Held = append(rec.Out.Held, seatName(id))
			case stSold:
				rec.Out.Sold = append(rec.Out.Sold, seatName(id))
			}
		}
		u.step = stepHold
		s.schedule(u, think())
	case stepHold:
		rec.Op = history.OpHold
		rec.In = history.Input{Event: "e1", Session: session, Seats: seatNames(u.seats)}
		var taken []string
		for _, id := range u.seats {
			if s.status(id, lin) == stAvail {
				continue
			}
			st := &s.seats[id]
			if s.cfg.Bug == bugNaive && !st.sold && lin-st.heldAt < int64(5*time.Millisecond) {
				continue // read before the other hold's write landed
			}
			taken = append(taken, seatName(id))
		}
		if len(taken) > 0 {
			rec.Type = history.Fail
			rec.Out = history.Output{Status: 409, Code: codeSeatUnavailable, Seats: taken}
			u.tries++
			if u.tries < 3 {
				u.seats = s.pickSeats()
				s.schedule(u, think())
			}
			break
		}
		h := int32(len(s.holds))
		s.holds = append(s.holds, simHold{seats: u.seats, expiry: lin + int64(s.cfg.TTL)})
		if effect {
			for _, id := range u.seats {
				if s.cfg.Bug == bugNaive && s.status(id, lin) == stHeld {
					s.violation++
				}
				s.seats[id] = simSeat{hold: h, heldAt: lin}
			}
		} else {
			s.holds[h].released = true // never took effect
		}
		rec.Out = history.Output{Status: 201, HoldID: "h" + strconv.Itoa(int(h)), Seats: seatNames(u.seats),
			ExpiresAt: simStart + s.holds[h].expiry, TTLMillis: s.cfg.TTL.Milliseconds()}
		if info {
			break
		}
		u.hold = h
		switch r := s.rng.Float64(); {
		case r < 0.55:
			u.step, u.key = stepCheckout, fmt.Sprintf("k-%d-1", u.id)
			pay := int64(50*time.Millisecond) + int64(s.rng.IntN(int(s.cfg.TTL+s.cfg.TTL/4)))
			s.schedule(u, ret+pay)
		case r < 0.7:
			u.step = stepRelease
			s.schedule(u, ret+int64(100*time.Millisecond)+int64(s.rng.IntN(int(time.Second))))
		default:
			// Abandoned: the hold expires.
		}
	case stepCheckout:
		rec.Op = history.OpCheckout
		hid := "h" + strconv.Itoa(int(u.hold))
		rec.In = history.Input{HoldID: hid, Key: u.key, Session: session}
		h := &s.holds[u.hold]
		switch {
		case h.soldKey == u.key:
			rec.Out = history.Output{Status: 201, BookingID: "b" + strconv.Itoa(int(h.booking)), Replayed: true}
		case h.soldKey != "":
			rec.Type, rec.Out = history.Fail, history.Output{Status: 409, Code: codeHoldSold}
		case s.canConfirm(u.hold, lin):
			if effect {
				s.bookings++
				h.soldKey, h.booking = u.key, s.bookings
				for _, id := range h.seats {
					st := &s.seats[id]
					if (st.sold && st.hold != u.hold) || (st.hold != u.hold && s.status(id, lin) == stHeld) {
						s.violation++
					}
					*st = simSeat{hold: u.hold, booking: s.bookings, sold: true, heldAt: st.heldAt}
				}
			}
			rec.Out = history.Output{Status: 201, BookingID: "b" + strconv.Itoa(int(s.bookings))}
		default:
			code := codeHoldLost
			if h.released {
				code = codeHoldExpired
			}
			rec.Type, rec.Out = history.Fail, history.Output{Status: 409, Code: code}
		}
		if info {
			rec.Out = history.Output{}
			if u.retries < 1 {
				u.retries++
				s.schedule(u, ret+int64(time.Second))
			}
			break
		}
		if rec.Type == history.Ok && !rec.Out.Replayed && s.rng.IntN(20) == 0 {
			s.schedule(u, think()) // a client retry of the same key: replayed
		}
	case stepRelease:
		rec.Op = history.OpRelease
		rec.In = history.Input{HoldID: "h" + strconv.Itoa(int(u.hold)), Session: session}
		h := &s.holds[u.hold]
		if h.soldKey != "" {
			rec.Type, rec.Out = history.Fail, history.Output{Status: 409, Code: codeHoldSold}
		} else {
			if effect {
				h.released = true
				for _, id := range h.seats {
					if s.seats[id].hold == u.hold && !s.seats[id].sold {
						s.seats[id].hold = 0
					}
				}
			}
			rec.Out = history.Output{Status: 204}
		}
	}
	if info {
		rec.Type = history.Info
		rec.Ret = lin + int64(time.Second) + int64(s.rng.IntN(int(4*time.Second)))
		rec.Out = history.Output{}
	}
	s.n++
	s.emit(&rec)
}

// canConfirm is the confirm's condition, as the simulated strategy implements it.
func (s *sim) canConfirm(h int32, now int64) bool {
	hold := &s.holds[h]
	if hold.released && s.cfg.Bug != bugNaive {
		return false
	}
	mine := true
	for _, id := range hold.seats {
		st := &s.seats[id]
		if st.sold || st.hold != h {
			mine = false
		}
	}
	if mine {
		return true // held by h, expired or not, and nobody took it since
	}
	switch s.cfg.Bug {
	case bugNaive:
		return true
	case bugNoFencing:
		return now >= hold.expiry // the lock is gone, and nothing checks whose write wins
	case bugIgnoreHolder:
		for _, id := range hold.seats {
			if s.status(id, now) != stHeld {
				return false
			}
		}
		return true
	}
	return false
}

// simRecords runs a simulation into memory.
func simRecords(t testing.TB, cfg simConfig) ([]history.Record, int) {
	t.Helper()
	var recs []history.Record
	v := simulate(cfg, func(r *history.Record) { recs = append(recs, *r) })
	return recs, v
}
