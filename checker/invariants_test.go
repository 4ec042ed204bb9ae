package checker

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/history"
)

// fixture is the hand-written run of testdata/run: a history with a waiting room, seats and a
// general-admission tier, the booking system's ledger and the processor's ledger, all
// consistent. Each test breaks one thing.
type fixture struct {
	recs   []history.Record
	ledger *Ledger
	psp    *PSPLedger
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	dir := filepath.Join("testdata", "run")
	recs, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := ReadLedgers(filepath.Join(dir, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	psp, err := ReadPSPLedger(filepath.Join(dir, PSPLedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{recs: recs, ledger: ls[0], psp: psp}
}

func (f *fixture) check(t testing.TB, opts Options) Result {
	t.Helper()
	res, err := Check(context.Background(), Input{History: f.recs, Ledger: f.ledger, PSP: f.psp, Options: opts})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return res
}

func (f *fixture) seat(id string) *SeatState {
	for i := range f.ledger.Seats {
		if f.ledger.Seats[i].ID == id {
			return &f.ledger.Seats[i]
		}
	}
	panic("no seat " + id)
}

func (f *fixture) booking(id string) *Booking {
	for i := range f.ledger.Bookings {
		if f.ledger.Bookings[i].BookingID == id {
			return &f.ledger.Bookings[i]
		}
	}
	panic("no booking " + id)
}

func (f *fixture) hold(id string) *LedgerHold {
	for i := range f.ledger.Holds {
		if f.ledger.Holds[i].HoldID == id {
			return &f.ledger.Holds[i]
		}
	}
	panic("no hold " + id)
}

const ms = int64(time.Millisecond)

func refusal(client int, seat string, callMS int64) history.Record {
	return history.Record{Client: client, Op: history.OpHold, Type: history.Fail,
		In:   history.Input{Event: "e1", Session: "late", Seats: []string{seat}},
		Call: callMS * ms, Ret: callMS*ms + 10*ms,
		Out: history.Output{Status: 409, Code: codeSeatUnavailable}}
}

func TestCleanRunPasses(t *testing.T) {
	f := loadFixture(t)
	res := f.check(t, Options{ClockSkew: 50 * time.Millisecond, Grace: time.Second})
	// The fixture races two holds for a seat, lets a hold expire while its checkout pays and
	// lets a bot try a hold without a token, but takes the tier without contention and learns
	// every checkout's outcome: the checks fed by those hazards have nothing to judge.
	notExercised := []string{CheckBookingsExist, CheckGACapacity, CheckIdempotency, CheckBookingsCharged}
	// It scans no ticket: the gate checks have no scan to judge and say so.
	gates := []string{CheckGateOnce, CheckGateForgeries, CheckGateAnswered, CheckGateOverwhelmed}
	for _, v := range res.Verdicts {
		if slices.Contains(gates, v.Check) {
			if v.Status != Skipped {
				t.Errorf("%s = %s with no scan in the history, want skipped", v.Check, v.Status)
			}
			continue
		}
		want := Pass
		if slices.Contains(notExercised, v.Check) {
			want = NotExercised
		}
		if v.Status != want {
			t.Errorf("%s = %s (%d, %s), want %s; examples %+v", v.Check, v.Status, v.Count, v.Note, want, v.Examples)
		}
		if v.Checked == 0 {
			t.Errorf("%s checked nothing", v.Check)
		}
	}
	if !res.OK {
		t.Errorf("result = %s, want pass", res.Status)
	}
}

func TestViolationsCaught(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		breakIt func(f *fixture)
		check   string
		count   int
		subject string
	}{
		{name: "two bookings for one seat", check: CheckNoDoubleSale, count: 1, subject: "seat A-1-2",
			breakIt: func(f *fixture) {
				f.ledger.Bookings = append(f.ledger.Bookings, Booking{BookingID: "b9", HoldID: "h9", EventID: "e1", Seats: []string{"A-1-2"}, ChargeID: "ch9", AmountCents: 5000})
			}},
		{name: "tier sold beyond capacity", check: CheckNoDoubleSale, count: 1, subject: "tier floor",
			breakIt: func(f *fixture) {
				f.ledger.Bookings = append(f.ledger.Bookings, Booking{BookingID: "b8", HoldID: "h8", EventID: "e1", Tier: "floor", Quantity: 9, ChargeID: "ch8", AmountCents: 27000})
			}},
		{name: "clients told two sales of one seat", check: CheckNoDoubleSale, count: 1, subject: "seat A-1-3",
			breakIt: func(f *fixture) {
				r := &f.recs[7] // h2's checkout, refused with hold_lost
				r.Type, r.Out = history.Ok, history.Output{Status: 201, BookingID: "b2", ChargeID: "ch2"}
				f.recs = append(f.recs, history.Record{Client: 3, Op: history.OpCheckout, Type: history.Ok,
					In: history.Input{HoldID: "h3", Key: "k3-000001", Session: "s3"}, Call: 950 * ms, Ret: 960 * ms,
					Out: history.Output{Status: 201, BookingID: "b3", ChargeID: "ch3"}})
			}},
		{name: "booking a client was told about is missing", check: CheckBookingsExist, count: 1, subject: "booking b1",
			breakIt: func(f *fixture) { f.ledger.Bookings = f.ledger.Bookings[1:] }},
		{name: "booking for a hold whose checkout was refused", check: CheckBookingsExist, count: 1, subject: "booking b2",
			breakIt: func(f *fixture) {
				f.ledger.Bookings = append(f.ledger.Bookings, Booking{BookingID: "b2", HoldID: "h2", EventID: "e1", Seats: []string{"A-1-3"}, ChargeID: "ch2", AmountCents: 5000})
			}},
		{name: "booking for other seats than the hold", check: CheckBookingsExist, count: 1, subject: "booking b1",
			breakIt: func(f *fixture) { f.booking("b1").Seats = []string{"A-1-1", "A-1-4"} }},
		{name: "sold seat without a booking", check: CheckSeatStates, count: 1, subject: "seat A-1-4",
			breakIt: func(f *fixture) { f.seat("A-1-4").Status = seatSold }},
		{name: "seat listed twice", check: CheckSeatStates, count: 1, subject: "seat A-1-4",
			breakIt: func(f *fixture) {
				f.ledger.Seats = append(f.ledger.Seats, SeatState{ID: "A-1-4", Status: seatHeld})
			}},
		{name: "seat in an unknown state", check: CheckSeatStates, count: 1, subject: "seat A-1-4",
			breakIt: func(f *fixture) { f.seat("A-1-4").Status = "reserved" }},
		{name: "held seat without a hold", check: CheckSeatStates, count: 1, subject: "seat A-1-4",
			breakIt: func(f *fixture) { f.seat("A-1-4").Status = seatHeld }},
		{name: "booked seat shown available", check: CheckSeatStates, count: 1, subject: "seat A-1-2",
			breakIt: func(f *fixture) { f.seat("A-1-2").Status, f.seat("A-1-2").BookingID = seatAvailable, "" }},
		{name: "tier counts not adding up to capacity", check: CheckGACapacity, count: 1, subject: "tier floor",
			breakIt: func(f *fixture) { f.ledger.GATiers[0].Available = 9 }},
		{name: "tier sold count not matching its bookings", check: CheckGACapacity, count: 1, subject: "tier floor",
			breakIt: func(f *fixture) { f.ledger.GATiers[0].Sold, f.ledger.GATiers[0].Available = 3, 7 }},
		{name: "charge matched by nothing", check: CheckChargesMatched, count: 1, subject: "charge ch9",
			breakIt: func(f *fixture) {
				f.psp.Charges = append(f.psp.Charges, Charge{ChargeID: "ch9", IdempotencyKey: "pk-h3-1", Reference: "h3", AmountCents: 5000, Status: chargeCaptured})
			}},
		{name: "refund the processor never made", check: CheckChargesMatched, count: 3, subject: "charge ch2",
			breakIt: func(f *fixture) { f.psp.Refunds = nil }},
		{name: "charge both booked and refunded", check: CheckChargesMatched, count: 1, subject: "charge ch1",
			breakIt: func(f *fixture) {
				f.psp.Refunds = append(f.psp.Refunds, PSPRefund{RefundID: "r9", ChargeID: "ch1", IdempotencyKey: "pr-h1-1", AmountCents: 10000})
			}},
		{name: "one processor key charged twice", check: CheckIdempotency, count: 1, subject: "key pk-h1-1",
			breakIt: func(f *fixture) {
				f.psp.Charges = append(f.psp.Charges, Charge{ChargeID: "ch9", IdempotencyKey: "pk-h1-1", Reference: "h9", AmountCents: 10000, Status: chargeRefunded})
			}},
		{name: "one hold charged twice", check: CheckIdempotency, count: 1, subject: "hold h1",
			breakIt: func(f *fixture) {
				f.psp.Charges = append(f.psp.Charges, Charge{ChargeID: "ch9", IdempotencyKey: "pk-h1-2", Reference: "h1", AmountCents: 10000, Status: chargeCaptured})
			}},
		{name: "one checkout key answered two bookings", check: CheckIdempotency, count: 1, subject: "key k4-000001",
			breakIt: func(f *fixture) {
				f.recs = append(f.recs, history.Record{Client: 4, Op: history.OpCheckout, Type: history.Ok,
					In: history.Input{HoldID: "h4", Key: "k4-000001", Session: "s4"}, Call: 950 * ms, Ret: 960 * ms,
					Out: history.Output{Status: 201, BookingID: "b9", ChargeID: "ch9"}})
			}},
		{name: "booking without a charge", check: CheckBookingsCharged, count: 1, subject: "booking b1",
			breakIt: func(f *fixture) { f.booking("b1").ChargeID = "ch-none" }},
		{name: "booking paid less than it costs", check: CheckBookingsCharged, count: 1, subject: "booking b4",
			breakIt: func(f *fixture) { f.booking("b4").AmountCents = 6500 }},
		{name: "booking paid by a refunded charge", check: CheckBookingsCharged, count: 1, subject: "booking b4",
			breakIt: func(f *fixture) { f.booking("b4").ChargeID = "ch2" }},
		{name: "hold for a session never admitted", check: CheckAdmission, count: 1, subject: "session bot5",
			breakIt: func(f *fixture) {
				r := &f.recs[14] // the bot's hold, refused with not_admitted
				r.Type, r.Out = history.Ok, history.Output{Status: 201, HoldID: "h5", Seats: []string{"A-1-4"}, ExpiresAt: 1700000010810000000, TTLMillis: 10000}
			}},
		{name: "hold for a session never admitted, among joins of a room that was off", check: CheckAdmission, count: 1, subject: "session bot5",
			breakIt: func(f *fixture) {
				r := &f.recs[14]
				r.Type, r.Out = history.Ok, history.Output{Status: 201, HoldID: "h5", Seats: []string{"A-1-4"}, ExpiresAt: 1700000010810000000, TTLMillis: 10000}
				f.recs = append(f.recs, history.Record{Client: 7, Op: history.OpJoin, Type: history.Ok, In: history.Input{Event: "e1", Session: "bot5"},
					Call: 700 * ms, Ret: 701 * ms, Out: history.Output{Status: 409, Code: codeWaitingRoomOff}})
			}},
		{name: "seat refused long after its hold expired", check: CheckFalseSellOuts, count: 1, subject: "seat A-1-3",
			opts:    Options{Grace: time.Second},
			breakIt: func(f *fixture) { f.recs = append(f.recs, refusal(9, "A-1-3", 12000)) }},
		{name: "read showing a long expired hold", check: CheckFalseSellOuts, count: 1, subject: "seat A-1-3",
			opts: Options{Grace: time.Second},
			breakIt: func(f *fixture) {
				f.recs = append(f.recs, history.Record{Client: 9, Op: history.OpRead, Type: history.Ok, In: history.Input{Event: "e1"},
					Call: 12000 * ms, Ret: 12010 * ms, Out: history.Output{Held: []string{"A-1-3"}}})
			}},
		{name: "seat still held at the end by an expired hold", check: CheckLeakedHolds, count: 1, subject: "seat A-1-3",
			opts:    Options{Grace: 100 * time.Millisecond},
			breakIt: func(f *fixture) { f.hold("h3").ExpiresAt = time.Unix(0, 1700000000360000000) }},
		{name: "seat held at the end by a hold stored to expire later than its answer said", check: CheckLeakedHolds, count: 1, subject: "seat A-1-3",
			breakIt: func(f *fixture) { f.leakH3() }},
		{name: "tier units still held with no live hold", check: CheckLeakedHolds, count: 1, subject: "tier floor",
			breakIt: func(f *fixture) { f.ledger.GATiers[0].Held, f.ledger.GATiers[0].Available = 2, 6 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFixture(t)
			tt.breakIt(f)
			res := f.check(t, tt.opts)
			v := res.Verdict(tt.check)
			if v.Status != Fail || v.Count != tt.count {
				t.Fatalf("%s = %s with count %d, want fail with %d; examples %+v", tt.check, v.Status, v.Count, tt.count, v.Examples)
			}
			found := false
			for _, ce := range v.Examples {
				found = found || ce.Subject == tt.subject
			}
			if !found {
				t.Errorf("%s examples %+v, want one about %q", tt.check, v.Examples, tt.subject)
			}
			if res.OK {
				t.Errorf("result ok with a failed check")
			}
		})
	}
}

// leakH3 has the ledger keep hold h3 an hour past the expiry its answer gave (10.36 s), and the
// run go on to 20 s, long after that expiry.
func (f *fixture) leakH3() {
	f.hold("h3").ExpiresAt = time.Unix(0, 1700000010360000000).Add(time.Hour)
	f.recs = append(f.recs, history.Record{Client: 9, Op: history.OpRead, Type: history.Ok, In: history.Input{Event: "e1"},
		Call: 20000 * ms, Ret: 20010 * ms, Out: history.Output{Available: []string{"A-1-4"}}})
}

// TestLeakedHoldsByAnnouncedExpiry: a hold the ledger keeps past the expiry its answer gave is
// judged by the answer's expiry, and only once that expiry (plus the grace) is over.
func TestLeakedHoldsByAnnouncedExpiry(t *testing.T) {
	f := loadFixture(t)
	f.hold("h3").ExpiresAt = time.Unix(0, 1700000010360000000).Add(time.Hour)
	res := f.check(t, Options{})
	if v := res.Verdict(CheckLeakedHolds); v.Status != Pass {
		t.Errorf("run over before the announced expiry: %s = %s (%d), want pass; %+v", v.Check, v.Status, v.Count, v.Examples)
	}
	f = loadFixture(t)
	f.leakH3()
	res = f.check(t, Options{})
	v := res.Verdict(CheckLeakedHolds)
	if v.Status != Fail || len(v.Examples) != 1 || !strings.Contains(v.Examples[0].Message, "h3, which expired 9.65s before") {
		t.Errorf("run 9.65 s past the announced expiry: %s = %s (%d) %+v, want fail naming h3", v.Check, v.Status, v.Count, v.Examples)
	}
}

// TestNotFalseSellOuts checks the cases the availability check must not count.
func TestNotFalseSellOuts(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(f *fixture)
	}{
		{"refused within the grace period", func(f *fixture) { f.recs = append(f.recs, refusal(9, "A-1-3", 11000)) }},
		{"refused while the hold is live", func(f *fixture) { f.recs = append(f.recs, refusal(9, "A-1-3", 5000)) }},
		{"refused after a sale", func(f *fixture) { f.recs = append(f.recs, refusal(9, "A-1-1", 60000)) }},
		{"refused after an unknown outcome hold", func(f *fixture) {
			f.recs = append(f.recs,
				history.Record{Client: 8, Op: history.OpHold, Type: history.Info, In: history.Input{Event: "e1", Session: "s8", Seats: []string{"A-1-3"}},
					Call: 11500 * ms, Ret: 11900 * ms},
				refusal(9, "A-1-3", 12000))
		}},
		{"refused after a checkout of unknown outcome", func(f *fixture) {
			f.recs = append(f.recs,
				history.Record{Client: 3, Op: history.OpCheckout, Type: history.Info, In: history.Input{HoldID: "h3", Key: "k3-000001", Session: "s3"},
					Call: 9000 * ms, Ret: 9500 * ms},
				refusal(9, "A-1-3", 20000))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFixture(t)
			tt.breakIt(f)
			res := f.check(t, Options{Grace: time.Second})
			if v := res.Verdict(CheckFalseSellOuts); v.Status != Pass {
				t.Errorf("%s = %s (%d), want pass; examples %+v", v.Check, v.Status, v.Count, v.Examples)
			}
		})
	}
}

// TestAdmissionSkippedWhenRoomOff: with the room off, the driver records every join as ok
// with waiting_room_off, and holds need no admission.
func TestAdmissionSkippedWhenRoomOff(t *testing.T) {
	f := loadFixture(t)
	for i := range f.recs {
		if f.recs[i].Op == history.OpJoin {
			f.recs[i].Out = history.Output{Status: 409, Code: codeWaitingRoomOff}
		}
	}
	r := &f.recs[14] // the bot's hold now succeeds: no room, no admission needed
	r.Type, r.Out = history.Ok, history.Output{Status: 201, HoldID: "h5", Seats: []string{"A-1-4"}, ExpiresAt: 1700000010810000000, TTLMillis: 10000}
	res := f.check(t, Options{})
	if v := res.Verdict(CheckAdmission); v.Status != Skipped {
		t.Errorf("admission with the room off = %s (%d), want skipped", v.Status, v.Count)
	}
}

func TestSkippedWithoutInputs(t *testing.T) {
	f := loadFixture(t)
	res, err := Check(context.Background(), Input{History: f.recs})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CheckBookingsExist, CheckSeatStates, CheckGACapacity, CheckChargesMatched, CheckBookingsCharged, CheckLeakedHolds} {
		if v := res.Verdict(name); v.Status != Skipped || v.Note == "" {
			t.Errorf("%s without ledgers = %s (note %q), want skipped with a note", name, v.Status, v.Note)
		}
	}
	if v := res.Verdict(CheckLinearizability); v.Status != Pass {
		t.Errorf("linearizability = %s, want pass", v.Status)
	}
	if !res.OK {
		t.Errorf("skipped checks made the result %s", res.Status)
	}
}

func TestTableNamesFirstCounterexample(t *testing.T) {
	f := loadFixture(t)
	f.seat("A-1-4").Status = seatSold
	res := f.check(t, Options{})
	var b strings.Builder
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"CHECK", "seat-states", "fail", "seat A-1-4: sold, but no booking has it", "verdict: fail"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
