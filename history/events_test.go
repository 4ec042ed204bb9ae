package history_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"stampede/history"
)

func TestEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := history.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []history.Record{
		{Client: -1, Op: history.KindHeader, Header: &history.Header{Start: 1}},
		{Client: 1, Op: history.OpHold, In: history.Input{Event: "b", Seats: []string{"A-1-1"}}, Call: 1, Ret: 2, Type: history.Fail},
		{Client: -1, Op: history.KindFaultStart, In: history.Input{Fault: "redis-restart"}, Call: 3, Ret: 3, Type: history.Ok},
		{Client: 2, Op: history.OpRead, In: history.Input{Event: "a"}, Call: 4, Ret: 5, Type: history.Ok},
		{Client: 3, Op: history.OpHold, In: history.Input{Event: "b", Seats: []string{"A-1-2"}}, Call: 6, Ret: 7, Type: history.Fail},
	} {
		if err := w.Write(&r); err != nil {
			t.Fatalf("write %+v: %v", r, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := history.Events(path)
	if err != nil || !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("Events = %v, %v; want [b a], each once in order of appearance", got, err)
	}
	if err := os.WriteFile(path, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := history.Events(path); err == nil {
		t.Error("Events of a garbled history = nil error")
	}
	if _, err := history.Events(filepath.Join(t.TempDir(), "nope.jsonl")); err == nil {
		t.Error("Events of a missing file = nil error")
	}
}
