package checker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stampede/history"
)

// TestUndecidedIsNeverAPass: a seat porcupine is not given (too large) is unknown, and so is
// the result, even though nothing failed.
func TestUndecidedIsNeverAPass(t *testing.T) {
	res := checkFile(t, "ok-overlapping-holds.jsonl", Options{MaxPartitionOps: 2})
	v := res.Verdict(CheckLinearizability)
	if v.Status != Unknown || v.Count == 0 || len(v.Examples) == 0 {
		t.Fatalf("linearizability = %s (count %d, %d examples), want unknown with examples", v.Status, v.Count, len(v.Examples))
	}
	if !strings.Contains(v.Examples[0].Message, "undecided") {
		t.Errorf("example message %q does not say undecided", v.Examples[0].Message)
	}
	if res.Status != Unknown || res.OK {
		t.Errorf("result = %s (ok %v), want unknown and not ok", res.Status, res.OK)
	}
	// A failure elsewhere still makes the result fail.
	res = checkFile(t, "bad-double-sale.jsonl", Options{MaxPartitionOps: 1})
	if res.Status != Fail {
		t.Errorf("result with a double sale and an undecided seat = %s, want fail", res.Status)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Check(ctx, Input{HistoryPath: filepath.Join("testdata", "lin", "ok-info.jsonl")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"no history", Input{}, "no history given"},
		{"missing file", Input{HistoryPath: filepath.Join(dir, "nope.jsonl")}, "no such file"},
		{"unknown field on line 2", Input{HistoryPath: write("a.jsonl",
			`{"client":-1,"op":"header","in":{},"call":0,"ret":0,"out":{},"type":"ok","header":{"start":1}}`+"\n"+
				`{"client":1,"op":"hold","in":{},"call":0,"ret":1,"out":{},"type":"ok","colour":"red"}`+"\n")}, `history line 2: json: unknown field "colour"`},
		{"ret before call on line 3", Input{HistoryPath: write("b.jsonl", "\n\n"+
			`{"client":1,"op":"read","in":{},"call":5,"ret":1,"out":{},"type":"ok"}`+"\n")}, "history line 3: read record of client 1: ret 1 before call 5"},
		{"bad type in memory", Input{History: []history.Record{{Op: history.OpHold, Type: "maybe"}}}, `history record 0: hold record: type "maybe"`},
		{"negative skew", Input{History: []history.Record{}, Options: Options{ClockSkew: -time.Second}}, "clock skew -1s is negative"},
		{"negative grace", Input{History: []history.Record{}, Options: Options{Grace: -time.Second}}, "grace -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(context.Background(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestReadLedgers(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.json")
	many := filepath.Join(dir, "many.json")
	bad := filepath.Join(dir, "bad.json")
	for path, text := range map[string]string{
		one:  `{"event_id":"e1","bookings":[{"booking_id":"b1"}],"extra":"ignored"}`,
		many: `[{"event_id":"e1"},{"event_id":"e2"}]`,
		bad:  `[{"event_id":"e1"},null]`,
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ls, err := ReadLedgers(one); err != nil || len(ls) != 1 || ls[0].Bookings[0].BookingID != "b1" {
		t.Errorf("ReadLedgers(one) = %+v, %v", ls, err)
	}
	if ls, err := ReadLedgers(many); err != nil || len(ls) != 2 || ls[1].EventID != "e2" {
		t.Errorf("ReadLedgers(many) = %+v, %v", ls, err)
	}
	if _, err := ReadLedgers(bad); err == nil || !strings.Contains(err.Error(), "element 1 is null") {
		t.Errorf("ReadLedgers(bad) error = %v, want element 1 is null", err)
	}
}

// ExampleCheck checks a history held in memory: two clients were both told they bought the
// same seat.
func ExampleCheck() {
	const ms = int64(time.Millisecond)
	hold := func(client int, id string, call int64) history.Record {
		return history.Record{Client: client, Op: history.OpHold, Type: history.Ok, Call: call * ms, Ret: (call + 10) * ms,
			In:  history.Input{Event: "e1", Session: fmt.Sprint("s", client), Seats: []string{"A-1-1"}},
			Out: history.Output{HoldID: id, Seats: []string{"A-1-1"}, TTLMillis: 10000}}
	}
	buy := func(client int, hold, booking string, call int64) history.Record {
		return history.Record{Client: client, Op: history.OpCheckout, Type: history.Ok, Call: call * ms, Ret: (call + 10) * ms,
			In: history.Input{HoldID: hold, Key: "key-" + hold}, Out: history.Output{BookingID: booking}}
	}
	res, err := Check(context.Background(), Input{History: []history.Record{
		hold(1, "h1", 0), hold(2, "h2", 5), buy(1, "h1", "b1", 20), buy(2, "h2", "b2", 25),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := res.Verdict(CheckLinearizability)
	fmt.Println(res.Status, v.Status, v.Examples[0].Summary())
	// Output: fail fail seat A-1-1: client 2's hold h2 ok (expires 10.005s) is impossible: the seat was held by h1 until 10.000s (ops #0 #1) at 0.015s
}
