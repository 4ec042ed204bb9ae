package workloads

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"stampede/history"
)

func shardHistory(tb testing.TB, shard string, seed, start int64, recs ...history.Record) io.Reader {
	tb.Helper()
	var b bytes.Buffer
	w := history.NewWriter(&b)
	all := append([]history.Record{{Client: -1, Op: history.KindHeader, Header: &history.Header{Start: start, Scenario: "s", Seed: seed, Shard: shard}}}, recs...)
	for i := range all {
		if err := w.Write(&all[i]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return &b
}

func TestMergeShiftsAndWidens(t *testing.T) {
	ms := int64(time.Millisecond)
	base := int64(1_700_000_000) * int64(time.Second)
	a := shardHistory(t, "0/2", 7, base+500*ms,
		history.Record{Client: 0, Op: history.OpHold, Call: 100 * ms, Ret: 150 * ms, Type: history.Ok},
		history.Record{Client: 2, Op: history.OpHold, Call: 300 * ms, Ret: 900 * ms, Type: history.Info})
	b := shardHistory(t, "1/2", 7, base,
		history.Record{Client: 1, Op: history.OpHold, Call: 100 * ms, Ret: 200 * ms, Type: history.Fail},
		history.Record{Client: -1, Op: history.KindFaultStart, Call: 400 * ms, Ret: 400 * ms, Type: history.Info, In: history.Input{Fault: "redis-restart"}})
	var out bytes.Buffer
	w := history.NewWriter(&out)
	if err := Merge(w, 5*time.Millisecond, a, b); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	recs, err := history.ReadAll(&out)
	if err != nil {
		t.Fatal(err)
	}
	h := recs[0].Header
	if recs[0].Op != history.KindHeader || h.Start != base || h.ClockSkew != 5*ms || h.Shard != "" || h.Seed != 7 {
		t.Fatalf("merged header %+v", recs[0])
	}
	type span struct{ client, call, ret int64 }
	var got []span
	for _, r := range recs[1:] {
		got = append(got, span{int64(r.Client), r.Call / ms, r.Ret / ms})
	}
	// Shard 0/2 started 500ms after shard 1/2: its times move by 500ms; all widen by 5ms.
	// Ordered by the merged return time.
	want := []span{{1, 95, 205}, {-1, 395, 405}, {0, 595, 655}, {2, 795, 1405}}
	if len(got) != len(want) {
		t.Fatalf("merged %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("merged record %d = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestMergeErrors(t *testing.T) {
	rec := history.Record{Client: 0, Op: history.OpHold, Call: 1, Ret: 2, Type: history.Ok}
	tests := []struct {
		name   string
		inputs func() []io.Reader
		skew   time.Duration
		want   string
	}{
		{"no inputs", func() []io.Reader { return nil }, 0, "no histories"},
		{"negative skew", func() []io.Reader { return []io.Reader{shardHistory(t, "0/1", 1, 0)} }, -time.Second, "negative"},
		{"different seeds", func() []io.Reader {
			return []io.Reader{shardHistory(t, "0/2", 1, 0, rec), shardHistory(t, "1/2", 2, 0, rec)}
		}, 0, "seed 2"},
		{"shard twice", func() []io.Reader {
			return []io.Reader{shardHistory(t, "0/2", 1, 0, rec), shardHistory(t, "0/2", 1, 0, rec)}
		}, 0, "shard 0/2 given twice"},
		{"no header", func() []io.Reader {
			return []io.Reader{strings.NewReader(`{"client":0,"op":"hold","in":{},"call":1,"ret":2,"out":{},"type":"ok"}` + "\n")}
		}, 0, "does not start with a header"},
		{"broken line", func() []io.Reader {
			var b bytes.Buffer
			io.Copy(&b, shardHistory(t, "0/1", 1, 0, rec))
			b.WriteString("{not json\n")
			return []io.Reader{&b}
		}, 0, "history 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Merge(history.NewWriter(&out), tt.skew, tt.inputs()...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Merge error %v, want %q", err, tt.want)
			}
		})
	}
}
