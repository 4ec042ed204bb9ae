package checker

import (
	"context"
	"strings"
	"testing"

	"stampede/history"
)

// scanRec is a scan record for the gate tests.
func scanRec(client int, ticket, gate, forgery string, copy int, call, ret int64, typ history.Type, code string) history.Record {
	return history.Record{Client: client, Op: history.OpScan, Call: call, Ret: ret, Type: typ,
		In:  history.Input{Event: "ev", Gate: gate, TicketID: ticket, Forgery: forgery, Copy: copy},
		Out: history.Output{Code: code}}
}

// TestGateChecks pins each gate check on a small hand-written history: what it passes, what it
// catches, and that it is not-exercised (never a pass) when its hazards did not occur.
func TestGateChecks(t *testing.T) {
	ok, fail, shed, info := history.Ok, history.Fail, history.Shed, history.Info
	ledger := &Ledger{EventID: "ev",
		Bookings: []Booking{{BookingID: "b1", Tickets: []LedgerTicket{{TicketID: "t1"}, {TicketID: "t2"}}}, {BookingID: "b2", Tickets: []LedgerTicket{{TicketID: "t3"}}}},
		Entries:  []LedgerEntry{{TicketID: "t1", Gate: "g1"}}, Cancellations: []LedgerCancellation{{BookingID: "b2", Reason: "refunded"}}}
	clean := []history.Record{
		scanRec(1, "t1", "g1", "", 0, 10, 20, ok, ""),
		scanRec(2, "t1", "g2", "", 1, 12, 22, fail, "ticket_used"),
		scanRec(3, "t1", "g2", "bad_signature", 0, 12, 14, fail, "ticket_invalid"),
		scanRec(4, "t1", "g3", "truncated", 0, 12, 14, fail, "ticket_invalid"),
		scanRec(5, "t3", "g3", "", 0, 30, 40, fail, "booking_cancelled"),
	}
	cases := []struct {
		name    string
		hist    []history.Record
		ledger  *Ledger
		want    map[string]Status
		message string // in the failing check's first example
	}{
		{"clean", clean, ledger, map[string]Status{CheckGateOnce: Pass, CheckGateForgeries: Pass, CheckGateAnswered: Pass, CheckGateOverwhelmed: Pass}, ""},
		{"admitted twice at two gates", append(clean[:1:1], scanRec(2, "t1", "g2", "", 1, 12, 22, ok, "")), ledger,
			map[string]Status{CheckGateOnce: Fail}, "ticket t1 was admitted 2 times (at g1 and g2)"},
		{"forgery admitted", append(clean[:3:3], scanRec(4, "t1", "g3", "altered_seat", 0, 12, 14, ok, "")), ledger,
			map[string]Status{CheckGateForgeries: Fail, CheckGateOnce: Pass}, "a forgery (altered_seat) of ticket t1 was admitted at g3"},
		{"refused as used, never admitted", []history.Record{scanRec(1, "t2", "g1", "", 0, 10, 20, fail, "ticket_used"), scanRec(2, "t2", "g2", "", 1, 11, 21, fail, "ticket_used")}, ledger,
			map[string]Status{CheckGateAnswered: Fail}, "refused as already used"},
		{"genuine refused as forged", []history.Record{scanRec(1, "t2", "g1", "", 0, 10, 20, fail, "ticket_invalid"), scanRec(2, "t2", "g2", "", 1, 11, 21, fail, "ticket_invalid")}, ledger,
			map[string]Status{CheckGateAnswered: Fail}, "a genuine ticket refused as ticket_invalid"},
		{"holder shed away in a flood", []history.Record{
			scanRec(1, "t2", "g1", "", 0, 10, 20, shed, "overloaded"), scanRec(1, "t2", "g1", "", 0, 30, 40, info, ""),
			scanRec(3, "t2", "g2", "garbage", 0, 10, 12, fail, "ticket_invalid")}, ledger,
			map[string]Status{CheckGateOverwhelmed: Fail, CheckGateAnswered: NotExercised}, "the holder of ticket t2 was turned away at g1"},
		{"no flood, no duplicates", []history.Record{scanRec(1, "t1", "g1", "", 0, 10, 20, ok, "")}, ledger,
			map[string]Status{CheckGateOnce: NotExercised, CheckGateForgeries: NotExercised, CheckGateOverwhelmed: NotExercised}, ""},
		{"no scans", []history.Record{}, nil, map[string]Status{CheckGateOnce: Skipped}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(context.Background(), Input{History: tc.hist, Ledger: tc.ledger})
			if err != nil {
				t.Fatalf("Check = %v", err)
			}
			for check, want := range tc.want {
				v := res.Verdict(check)
				if v == nil || v.Status != want {
					t.Fatalf("%s = %+v, want %s", check, v, want)
				}
				if want == Fail && (len(v.Examples) == 0 || !strings.Contains(v.Examples[0].Message, tc.message)) {
					t.Fatalf("%s examples = %+v, want one saying %q", check, v.Examples, tc.message)
				}
			}
		})
	}
	res, _ := Check(context.Background(), Input{History: clean, Ledger: ledger})
	if n := res.Coverage.Count(history.ForgedScans); n != 2 {
		t.Errorf("forged_scans = %d, want 2", n)
	}
	if n := res.Coverage.Count(history.DuplicateScans); n != 1 {
		t.Errorf("duplicate_scans = %d, want 1", n)
	}
	if n := res.Coverage.Count(history.CancelledScans); n != 1 {
		t.Errorf("cancelled_scans = %d, want 1", n)
	}
	if v := res.Verdict(CheckGateOverwhelmed); !strings.Contains(v.Note, "0 scans of genuine tickets shed, 0 timed out") {
		t.Errorf("gate-overwhelmed note = %q, want the shed and timed-out counts", v.Note)
	}
}
