package history

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sampleRecords has one record of every kind, with every field of Input, Output and Header
// set somewhere: the table the decoder tests and the fuzz seeds start from.
func sampleRecords() []Record {
	return []Record{
		{Client: -1, Op: KindHeader, Type: Ok, Header: &Header{Start: 1700000000000000000, Scenario: "quickstart", Seed: 7,
			Target: "http://127.0.0.1:8080", Strategy: "status-expiry", DB: "postgres", Shard: "1/2", ClockSkew: 10000000}},
		{Client: 1, Op: OpJoin, Type: Ok, Call: 0, Ret: 100000000, In: Input{Event: "e1", Session: "s1"}, Out: Output{Status: 200}},
		{Client: 1, Op: OpHold, Type: Ok, Call: 100000000, Ret: 120000000,
			In:  Input{Event: "e1", Session: "s1", Seats: []string{"A-1-1", "A-1-2"}, Token: "tok"},
			Out: Output{Status: 201, HoldID: "h1", Seats: []string{"A-1-1", "A-1-2"}, ExpiresAt: 1700000010120000000, TTLMillis: 10000}},
		{Client: 2, Op: OpHold, Type: Ok, Call: 5, Ret: 9,
			In:  Input{Event: "e1", Session: "s2", Tier: "floor", Quantity: 2},
			Out: Output{Status: 201, HoldID: "h2", Units: []string{"floor#u1", "floor#u2"}}},
		{Client: 3, Op: OpHold, Type: Fail, Call: 10, Ret: 20, In: Input{Event: "e1", Seats: []string{"A-1-1"}},
			Out: Output{Status: 409, Code: "seat_unavailable", Error: "seat A-1-1 is held", Seats: []string{"A-1-1"}}},
		{Client: 1, Op: OpCheckout, Type: Ok, Call: 130000000, Ret: 180000000, In: Input{HoldID: "h1", Key: "k1"},
			Out: Output{Status: 201, BookingID: "b1", ChargeID: "c1", Replayed: true}},
		{Client: 2, Op: OpCheckout, Type: Fail, Call: 30, Ret: 40, In: Input{HoldID: "h2", Key: "k2"},
			Out: Output{Status: 410, Code: "hold_lost", RefundID: "r1"}},
		{Client: 4, Op: OpRelease, Type: Info, Call: 50, Ret: 60, In: Input{HoldID: "h3"}},
		{Client: 5, Op: OpRead, Type: Ok, Call: 70, Ret: 80, In: Input{Event: "e1"},
			Out: Output{Status: 200, Available: []string{"A-1-3"}, Held: []string{}, Sold: []string{"A-1-1", "A-1-2"},
				AsOf: 1700000000000000065}},
		{Client: 5, Op: OpHold, Type: Shed, Call: 82, Ret: 84, In: Input{Event: "e1", Seats: []string{"A-1-3"}},
			Out: Output{Status: 503, Code: "overloaded", Error: "overloaded"}},
		{Client: 6, Op: OpBrowse, Type: Ok, Call: 90, Ret: 95, In: Input{Event: "e1"}, Out: Output{Status: 200}},
		{Client: -1, Op: KindFaultStart, Type: Ok, Call: 200, Ret: 200,
			In: Input{Fault: "net-latency", Params: map[string]string{"latency": "100ms", "target": "db"}}},
		{Client: -1, Op: KindFaultEnd, Type: Info, Call: 300, Ret: 300, In: Input{Fault: "net-latency"},
			Out: Output{Error: "recover: connection refused"}},
	}
}

// strictDecode is the reference: encoding/json with unknown fields rejected.
func strictDecode(line []byte, rec *Record) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(rec)
}

// trickyLines are lines the fast path must leave to encoding/json, or reject as it would.
var trickyLines = []string{
	`{"client":1,"op":"hold","in":{"seats":[]},"call":-0,"ret":1,"out":{},"type":"ok"}`,
	`{"client":1,"Op":"hold","call":0,"ret":1,"type":"ok"}`,
	`{"client":1,"op":"hold","in":{"event":"a"},"in":{"seats":["x"]},"call":0,"ret":1,"type":"ok"}`,
	`{"client":1.0,"op":"hold","call":0,"ret":1,"type":"ok"}`,
	`{"client":1,"op":"h\u006fld","call":0,"ret":1,"type":"ok"} trailing`,
	`{"client":9223372036854775807,"op":"read","call":-9223372036854775808,"ret":1,"type":"info","out":{"replayed":true}}`,
	`{"client":-1,"op":"fault-start","in":{"fault":"x","params":{"a":"1","a":"2"}},"call":5,"ret":5,"type":"ok"}`,
	`{"client":1,"op":"hold","in":null,"call":0,"ret":1,"type":"ok","header":{}}`,
	`{"client":1,"op":"hold","call":0,"ret":1,"type":"ok","colour":"red"}`,
	`{"client":"1","op":"hold","call":0,"ret":1,"type":"ok"}`,
	`{"client":1,"op":"hold","call":0,"ret":1,"type":"ok","out":{"seats":["caf\u00e9"]}}`,
	`{"client":1,"op":"hold","call":0,"ret":99999999999999999999,"type":"ok"}`,
	`{"client":1,"op":"hold"`,
	`{"client":5,"op":"read","call":0,"ret":1,"type":"ok","out":{"as_of":1.7e18}}`,
	`{"client":5,"op":"read","call":0,"ret":1,"type":"ok","out":{"as_of":"2026-01-01T00:00:00Z"}}`,
	`{"client":5,"op":"read","call":0,"ret":1,"type":"shed","out":{"as_of":-5}}`,
	``,
}

func TestDecode(t *testing.T) {
	type tc struct {
		name string
		line []byte
	}
	var tests []tc
	for _, r := range sampleRecords() {
		line, err := r.MarshalLine()
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, tc{string(r.Op) + " " + string(r.Type), bytes.TrimSuffix(line, []byte("\n"))})
	}
	for i, s := range trickyLines {
		tests = append(tests, tc{"tricky " + strings.Repeat("'", i), []byte(s)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want Record
			wantErr := strictDecode(tt.line, &want)
			got := Record{Client: 42, Op: OpBrowse, In: Input{Event: "stale"}} // Decode zeroes it first
			err := Decode(tt.line, &got)
			switch {
			case (err == nil) != (wantErr == nil):
				t.Fatalf("Decode(%s) error %v, want %v", tt.line, err, wantErr)
			case err != nil && err.Error() != wantErr.Error():
				t.Errorf("Decode(%s) error %q, want encoding/json's %q", tt.line, err, wantErr)
			case err == nil && !reflect.DeepEqual(got, want):
				t.Errorf("Decode(%s) = %+v, want %+v", tt.line, got, want)
			}
		})
	}
	// Every sample takes the fast path: a change of Record that the fast path does not know
	// would silently send every line to encoding/json.
	for _, r := range sampleRecords() {
		line, _ := r.MarshalLine()
		var got Record
		p := fastParser{b: bytes.TrimSuffix(line, []byte("\n"))}
		if err := p.record(&got); err != nil {
			t.Errorf("fast path refused %s: %v", line, err)
		}
	}
}

// FuzzDecode holds the fast history-line decoder to encoding/json's answers: whenever the
// fast path accepts a line, encoding/json (strict, as Reader) accepts it too and decodes the
// same record; and Decode as a whole agrees with encoding/json always.
func FuzzDecode(f *testing.F) {
	for _, r := range sampleRecords() {
		line, err := r.MarshalLine()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.TrimSuffix(line, []byte("\n")))
	}
	for _, s := range trickyLines {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var want Record
		wantErr := strictDecode(line, &want)

		var fast Record
		p := fastParser{b: line}
		if err := p.record(&fast); err == nil {
			if wantErr != nil {
				t.Fatalf("fast path accepted %q, encoding/json: %v", line, wantErr)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("fast path decoded %q as\n%+v\nencoding/json as\n%+v", line, fast, want)
			}
		}
		var got Record
		err := Decode(line, &got)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("Decode(%q) error %v, encoding/json error %v", line, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%q) = %+v, encoding/json %+v", line, got, want)
		}
	})
}

// BenchmarkDecode compares Decode with its peer, encoding/json, on the sample records.
func BenchmarkDecode(b *testing.B) {
	var lines [][]byte
	for _, r := range sampleRecords() {
		line, err := r.MarshalLine()
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, bytes.TrimSuffix(line, []byte("\n")))
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte, *Record) error
	}{{"fast", Decode}, {"encoding-json", strictDecode}} {
		b.Run(bc.name, func(b *testing.B) {
			var rec Record
			for i := 0; b.Loop(); i++ {
				rec = Record{}
				if err := bc.decode(lines[i%len(lines)], &rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
