package checker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// TestReadLedgersRefusesWhatIsNotALedger: a file that is JSON but no ledger (an error answer
// saved by mistake, another file) is refused with what it is and the file's name, never
// judged as an empty ledger.
func TestReadLedgersRefusesWhatIsNotALedger(t *testing.T) {
	tests := []struct {
		name, text string
		psp        bool
		want       string
	}{
		{"error answer", `{"error":{"code":"event_not_found","message":"no event e9"}}`, false, "not a ledger but an error answer: event_not_found no event e9"},
		{"error string", `{"error":"boom"}`, false, "error answer: boom"},
		{"another object", `{"foo":1}`, false, "not a ledger: no event_id among its fields (foo)"},
		{"empty object", `{}`, false, "no event_id among its fields (none)"},
		{"array with a stranger", `[{"event_id":"e1"},{"foo":1}]`, false, "element 1: not a ledger"},
		{"a number", `7`, false, "decode ledger"},
		{"processor: error answer", `{"error":"unauthorized"}`, true, "not a ledger but an error answer: unauthorized"},
		{"processor: another object", `{"foo":1}`, true, "not a processor ledger: no charges among its fields (foo)"},
		{"processor: a server ledger", `{"event_id":"e1","bookings":[]}`, true, "no charges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.json")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			if tt.psp {
				_, err = ReadPSPLedger(path)
			} else {
				_, err = ReadLedgers(path)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("reading %s = %v, want an error naming the file and saying %q", tt.text, err, tt.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "psp.json")
	if err := os.WriteFile(path, []byte(`{"charges":null,"refunds":[],"extra":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPSPLedger(path); err != nil {
		t.Errorf("ReadPSPLedger of an empty processor ledger: %v", err)
	}
}

// TestCheckTruncatedHistory: a history cut in the middle of its last line (a crashed run) is
// an error wrapping history.ErrTruncated, unless AllowTruncated, which checks it up to its last
// complete line and says so.
func TestCheckTruncatedHistory(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "run", "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Check(context.Background(), Input{HistoryPath: filepath.Join("testdata", "run", "history.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "history.jsonl")
	cut := append(append([]byte{}, src...), `{"client":9,"op":"hold","in":{"ev`...)
	if err := os.WriteFile(path, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(context.Background(), Input{HistoryPath: path}); !errors.Is(err, history.ErrTruncated) {
		t.Errorf("Check of a truncated history = %v, want history.ErrTruncated", err)
	}
	res, err := Check(context.Background(), Input{HistoryPath: path, Options: Options{AllowTruncated: true}})
	if err != nil {
		t.Fatalf("Check with AllowTruncated: %v", err)
	}
	if res.Records != whole.Records || res.TruncatedBytes != int64(len(cut)-len(src)) {
		t.Errorf("Check with AllowTruncated read %d records, left out %d bytes; want %d records and %d bytes",
			res.Records, res.TruncatedBytes, whole.Records, len(cut)-len(src))
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "incomplete line") }) {
		t.Errorf("warnings %q do not say the history was truncated", res.Warnings)
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
