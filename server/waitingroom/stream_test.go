package waitingroom

import (
	"encoding/json"
	"testing"
	"time"
)

func TestPositionJSONMatchesEncodingJSON(t *testing.T) {
	eta := func(f float64) *float64 { return &f }
	exp := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		name string
		st   queueStatus
	}{
		{name: "waiting", st: queueStatus{Ticket: "dDF8ZXZ8czE.abc-_", EventID: "ev.1_x-y", Position: 17, Length: 100000, ETASeconds: eta(0.1), AdmitPerSecond: 500}},
		{name: "paused", st: queueStatus{Ticket: "t", EventID: "e", Position: 1, Length: 1}},
		{name: "fractional rate", st: queueStatus{Ticket: "t", EventID: "e", Position: 3, Length: 9, ETASeconds: eta(12345.6), AdmitPerSecond: 0.25}},
		{name: "tiny and huge numbers", st: queueStatus{Ticket: "t", EventID: "e", ETASeconds: eta(1e21), AdmitPerSecond: 1e-7}},
		{name: "needs escaping", st: queueStatus{Ticket: `a"b<c>`, EventID: "é", Position: 2}},
		{name: "admitted", st: queueStatus{Ticket: "t", EventID: "e", Admitted: true, AdmissionToken: "tok", AdmissionExpiresAt: &exp, ETASeconds: eta(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.st)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendStatusJSON(nil, &tc.st); string(got) != string(want) {
				t.Fatalf("appendStatusJSON = %s\nencoding/json  = %s", got, want)
			}
		})
	}
	m := positionMsg(queueStatus{Ticket: "t", EventID: "e", Position: 1, Length: 2})
	if got, want := string(m.frame()), "event: position\ndata: {\"ticket\":\"t\",\"event_id\":\"e\",\"position\":1,\"length\":2,\"admitted\":false,\"admit_per_second\":0}\n\n"; got != want {
		t.Fatalf("frame = %q, want %q", got, want)
	}
}

func BenchmarkPositionFrame(b *testing.B) {
	eta := 12.5
	st := queueStatus{Ticket: "dDF8ZXZ8YWxpY2V8YzQ4MzZhZjhlMjFhOGVlMg.-0cuXcUjNUK1a_xNTZ-WE9CtUAH31eGrdw6r5fm2HVk", EventID: "onsale", Position: 4567, Length: 100000, ETASeconds: &eta, AdmitPerSecond: 500}
	b.Run("hand", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		m := positionMsg(st)
		b.ReportAllocs()
		for b.Loop() {
			buf = m.appendFrame(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var q Room
		b.ReportAllocs()
		for b.Loop() {
			_ = q.jsonMsg("position", st, false).frame()
		}
	})
}
