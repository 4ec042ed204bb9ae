package workloads

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stampede/history"
)

func TestCheckStartAt(t *testing.T) {
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		at      time.Time
		wantErr string
	}{
		{"zero starts at once", time.Time{}, ""},
		{"ahead", now.Add(time.Hour), ""},
		{"now", now, ""},
		{"a little late", now.Add(-30 * time.Second), ""},
		{"just within the bound", now.Add(-MaxStartLate), ""},
		{"too late", now.Add(-MaxStartLate - time.Second), "1m1s in the past"},
		{"long past", now.Add(-24 * time.Hour), "24h0m0s in the past"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStartAt(tt.at, now)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckStartAt(%s) = %v, want nil", tt.at, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckStartAt(%s) = %v, want an error saying %q", tt.at, err, tt.wantErr)
			}
		})
	}
}

func TestStartAtRefusedWhenLongPast(t *testing.T) {
	srv, hits := okServer(t)
	sc := browseScenario(t, "{profile: constant, rate: 100/s, users: 3}")
	_, err := New(Config{Scenario: sc, Target: srv.URL, StartAt: time.Now().Add(-2 * MaxStartLate)})
	if err == nil || !strings.Contains(err.Error(), "in the past") {
		t.Fatalf("New with a start two minutes past = %v, want an error saying it is in the past", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("a refused driver sent %d requests", n)
	}
}

func TestStartAtWaitsForTheInstant(t *testing.T) {
	srv, _ := okServer(t)
	sc := browseScenario(t, "{profile: constant, rate: 100/s, users: 3}")
	startAt := time.Now().Add(400 * time.Millisecond)
	// The earliest call of any request, on the run's clock (records come from many goroutines).
	var first atomic.Int64
	first.Store(math.MaxInt64)
	d, err := New(Config{Scenario: sc, Target: srv.URL, StartAt: startAt, History: history.NewWriter(&strings.Builder{}),
		OnRecord: func(r *history.Record) {
			for c := first.Load(); r.IsOperation() && r.Call < c && !first.CompareAndSwap(c, r.Call); c = first.Load() {
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	began, _ := d.Began()
	if at := d.Clock().At(began); at.Before(startAt) {
		t.Errorf("arrivals began at %s, before the start instant %s", at.Format(time.RFC3339Nano), startAt.Format(time.RFC3339Nano))
	}
	if first.Load() == math.MaxInt64 {
		t.Fatal("no request recorded")
	}
	if at := d.Clock().At(time.Duration(first.Load())); at.Before(startAt) {
		t.Errorf("first request sent at %s, before the start instant %s", at.Format(time.RFC3339Nano), startAt.Format(time.RFC3339Nano))
	}
	if sum.Arrived != 3 {
		t.Errorf("%d users arrived, want 3", sum.Arrived)
	}
}

func TestStartAtCancelled(t *testing.T) {
	srv, hits := okServer(t)
	sc := browseScenario(t, "{profile: constant, rate: 100/s, users: 3}")
	d, err := New(Config{Scenario: sc, Target: srv.URL, StartAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "wait for the start") {
		t.Errorf("Run cancelled while waiting = %v, want an error about waiting for the start", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("a driver cancelled before its start sent %d requests", n)
	}
}
