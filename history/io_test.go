package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// writeHistory writes n records (the samples, over and over, with rising times) and a blank
// line every 1000 lines.
func writeHistory(tb testing.TB, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	samples := sampleRecords()
	for i := 0; i < n; i++ {
		r := samples[i%len(samples)]
		r.Call, r.Ret = r.Call+int64(i), r.Ret+int64(i)
		if err := w.Write(&r); err != nil {
			tb.Fatal(err)
		}
		if i%1000 == 999 {
			if err := w.Flush(); err != nil {
				tb.Fatal(err)
			}
			buf.WriteString("\n")
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// streamAll collects what Stream hands out.
func streamAll(ctx context.Context, b []byte, workers int) ([]Record, error) {
	var out []Record
	err := Stream(ctx, bytes.NewReader(b), workers, func(rec *Record) error {
		out = append(out, *rec)
		return nil
	})
	return out, err
}

func TestStreamAgreesWithReader(t *testing.T) {
	b := writeHistory(t, 3*streamBatch+17)
	want, err := ReadAll(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if len(want) != 3*streamBatch+17 {
		t.Fatalf("ReadAll read %d records, want %d", len(want), 3*streamBatch+17)
	}
	for _, workers := range []int{0, 1, 3} {
		got, err := streamAll(context.Background(), b, workers)
		if err != nil {
			t.Fatalf("Stream with %d workers: %v", workers, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Stream with %d workers gave %d records differing from ReadAll's %d", workers, len(got), len(want))
		}
	}
}

func TestStreamErrors(t *testing.T) {
	good := writeHistory(t, 2*streamBatch)
	lines := bytes.SplitAfter(good, []byte("\n"))
	// Line 3000 (in the second batch) gets an unknown field; line 4000 a return before its call.
	withLine := func(n int, text string) []byte {
		out := bytes.Join(lines[:n-1], nil)
		out = append(out, text+"\n"...)
		return append(out, bytes.Join(lines[n:], nil)...)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"unknown field", withLine(3000, `{"client":1,"op":"read","call":0,"ret":1,"type":"ok","colour":"red"}`),
			`history line 3000: json: unknown field "colour"`},
		{"invalid record", withLine(4000, `{"client":1,"op":"read","in":{},"call":5,"ret":1,"out":{},"type":"ok"}`),
			"history line 4000: read record of client 1: ret 1 before call 5"},
		{"line too long", append(bytes.Clone(good), strings.Repeat("x", maxLine+1)...), fmt.Sprintf("history line %d: bufio.Scanner: token too long", len(lines))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rerr := ReadAll(bytes.NewReader(tt.in))
			_, serr := streamAll(context.Background(), tt.in, 2)
			if rerr == nil || rerr.Error() != tt.want {
				t.Errorf("ReadAll error %v, want %q", rerr, tt.want)
			}
			if serr == nil || serr.Error() != tt.want {
				t.Errorf("Stream error %v, want %q", serr, tt.want)
			}
		})
	}
}

func TestStreamStops(t *testing.T) {
	b := writeHistory(t, 4*streamBatch)
	stop := errors.New("enough")
	n := 0
	err := Stream(context.Background(), bytes.NewReader(b), 2, func(*Record) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("Stream with fn failing at record 10: %v after %d records, want %v after 10", err, n, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := streamAll(ctx, b, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestCompleteLength(t *testing.T) {
	const rec = `{"client":1,"op":"join","in":{"event":"e1","session":"s1"},"call":0,"ret":100000000,"out":{"status":200},"type":"ok"}`
	tests := []struct {
		name string
		src  string
		want int // -1: the whole history
	}{
		{"empty", "", -1},
		{"ends with a newline", rec + "\n" + rec + "\n", -1},
		{"last record without a newline", rec + "\n" + rec, -1},
		{"trailing blank", rec + "\n  ", -1},
		{"cut in the middle of a record", rec + "\n" + rec[:40], len(rec) + 1},
		{"cut in the first record", rec[:10], 0},
		{"a last line that is not a record", rec + "\n{\"foo\":1}", len(rec) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := int64(tt.want)
			if tt.want < 0 {
				want = int64(len(tt.src))
			}
			got, err := CompleteLength(strings.NewReader(tt.src), int64(len(tt.src)))
			if err != nil || got != want {
				t.Errorf("CompleteLength(%q) = %d, %v; want %d", tt.src, got, err, want)
			}
		})
	}
	// A tail longer than one read.
	long := strings.Repeat(rec+"\n", 2000) + rec[:50]
	if got, err := CompleteLength(strings.NewReader(long), int64(len(long))); err != nil || got != int64(len(long)-50) {
		t.Errorf("CompleteLength of %d bytes cut 50 into the last line = %d, %v; want %d", len(long), got, err, len(long)-50)
	}
}
