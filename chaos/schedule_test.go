package chaos

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/history"
	"stampede/internal/failpoint"
	"stampede/sut"
)

// fakeProc is a Restarter that only counts its restarts.
type fakeProc struct{ restarts atomic.Int32 }

func (p *fakeProc) Restart(context.Context) error { p.restarts.Add(1); return nil }
func (p *fakeProc) Name() string                  { return "server" }
func (p *fakeProc) Addr() string                  { return "" }

// TestCrashAtFailpointWindowHoldsTheCrash: a server-crash at a failpoint happens when the
// server reaches the point, before the schedule's next poll notices; the window starts at the
// last poll that found the server alive, so it holds the crash, and the fault records name
// the failpoint.
func TestCrashAtFailpointWindowHoldsTheCrash(t *testing.T) {
	start := time.Now()
	clock := func() int64 { return int64(time.Since(start)) }
	var mu sync.Mutex
	polls, crashedAt := 0, int64(0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut:
		case crashedAt != 0:
			http.Error(w, "gone", http.StatusBadGateway)
		case polls == 3:
			crashedAt = clock() // the server reaches the point and kills itself
			http.Error(w, "gone", http.StatusBadGateway)
		default:
			polls++
			_ = json.NewEncoder(w).Encode([]failpoint.Status{{Name: failpoint.AfterCharge, Hits: 0}})
		}
	}))
	defer srv.Close()
	es, err := ParseEntries([]map[string]any{{"fault": "server-crash", "when": map[string]any{"failpoint": failpoint.AfterCharge, "hit": 1}}})
	if err != nil {
		t.Fatal(err)
	}
	proc := &fakeProc{}
	rec := &recorder{}
	s := &Schedule{Entries: es, Target: &Target{Handles: sut.Handles{Server: srv.URL, ServerProcess: proc}}, Clock: clock, Record: rec, Poll: 5 * time.Millisecond}
	ws := s.Run(context.Background())
	if ws[0].Err != nil || proc.restarts.Load() != 1 {
		t.Fatalf("window %+v, %d restarts; want the crash injected and the server restarted once", ws[0], proc.restarts.Load())
	}
	mu.Lock()
	crash := crashedAt
	mu.Unlock()
	if ws[0].Start > crash || ws[0].End < crash {
		t.Errorf("window %d..%d ns does not hold the crash at %d ns", ws[0].Start, ws[0].End, crash)
	}
	if len(rec.recs) != 2 {
		t.Fatalf("records = %+v, want a fault-start and a fault-end", rec.recs)
	}
	for _, r := range rec.recs {
		if r.In.Params[history.ParamFailpoint] != failpoint.AfterCharge {
			t.Errorf("%s record params = %v, want %s=%s", r.Op, r.In.Params, history.ParamFailpoint, failpoint.AfterCharge)
		}
	}
	if r := rec.recs[0]; r.Op != history.KindFaultStart || r.Call != ws[0].Start {
		t.Errorf("first record = %s at %d, want the fault-start at the window's start %d", r.Op, r.Call, ws[0].Start)
	}
	if es[0].Params[history.ParamFailpoint] != "" {
		t.Errorf("recording changed the entry's own parameters: %v", es[0].Params)
	}
}

// ctxProc is a Restarter that records whether the context of its restart was already done.
type ctxProc struct{ restarts, cut atomic.Int32 }

func (p *ctxProc) Restart(ctx context.Context) error {
	p.restarts.Add(1)
	if ctx.Err() != nil {
		p.cut.Add(1)
	}
	return ctx.Err()
}
func (p *ctxProc) Name() string { return "server" }
func (p *ctxProc) Addr() string { return "" }

// TestServerCrashRestartsAfterTheRunEnds: a server-crash whose run ends while it restarts the
// server (the context cancelled, as when the herd finishes) still brings the server back, with
// a context that is not done: the server killed itself at its failpoint, or was just killed,
// and a run left without a server cannot read its ledger.
func TestServerCrashRestartsAfterTheRunEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	proc := &ctxProc{}
	_, err := serverCrash{}.Inject(ctx, &Target{Handles: sut.Handles{ServerProcess: proc}}, nil)
	if err != nil || proc.restarts.Load() != 1 || proc.cut.Load() != 0 {
		t.Fatalf("Inject = %v, %d restarts, %d with a done context; want one restart with a live context",
			err, proc.restarts.Load(), proc.cut.Load())
	}
}

// crashingServer is a reference server's admin endpoint for a server-crash at a failpoint
// that no poll sees reached before the run ends: its point counts no hit while the run lasts,
// and when the run ends (ended closed) it either has just killed itself there (every later
// request finds it gone: the connection drops) or is still up, answering the disarm.
// polled is closed once the third poll was answered.
func crashingServer(t *testing.T, ended <-chan struct{}, crashes bool) (url string, polled <-chan struct{}, deletes *atomic.Int32) {
	t.Helper()
	deletes = &atomic.Int32{}
	three := make(chan struct{})
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ended:
			if crashes {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close() // gone: killed at its failpoint
				}
				return
			}
		default:
		}
		switch r.Method {
		case http.MethodPut:
		case http.MethodDelete:
			deletes.Add(1)
			w.WriteHeader(http.StatusNoContent)
		default:
			_ = json.NewEncoder(w).Encode([]failpoint.Status{{Name: failpoint.AfterCharge, Hits: 0}})
			if polls.Add(1) == 3 {
				close(three)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, three, deletes
}

// TestServerCrashAtTheRunsEnd: a server that kills itself at its crash failpoint just as the
// run ends (the herd done, the schedule's context cancelled before a poll saw the crash, as
// when a checkout still running past its client's timeout reaches the point) is restarted and
// the crash recorded; left down, the run could not settle and reported the crash it asked for
// as the server killed by a signal. A server still up when the run ends is disarmed, not
// restarted, and the fault is not injected.
func TestServerCrashAtTheRunsEnd(t *testing.T) {
	for _, c := range []struct {
		name     string
		crashes  bool
		restarts int32
	}{
		{"crashed as the run ended", true, 1},
		{"still up when the run ended", false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ended := make(chan struct{})
			url, polled, deletes := crashingServer(t, ended, c.crashes)
			es, err := ParseEntries([]map[string]any{{"fault": "server-crash", "when": map[string]any{"failpoint": failpoint.AfterCharge, "hit": 1}}})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			proc := &fakeProc{}
			rec := &recorder{}
			s := &Schedule{Entries: es, Target: &Target{Handles: sut.Handles{Server: url, ServerProcess: proc}},
				Clock: func() int64 { return int64(time.Since(start)) }, Record: rec, Poll: 5 * time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-polled // a few polls found it alive
				close(ended)
				cancel()
			}()
			ws := s.Run(ctx)
			if got := proc.restarts.Load(); got != c.restarts {
				t.Fatalf("restarts = %d (window %+v), want %d", got, ws[0], c.restarts)
			}
			if c.crashes {
				if ws[0].Err != nil || len(rec.recs) != 2 || rec.recs[0].Type != history.Ok {
					t.Errorf("window %+v, records %+v; want the crash injected and recorded", ws[0], rec.recs)
				}
				return
			}
			if ws[0].Err == nil || len(rec.recs) != 0 || deletes.Load() != 1 {
				t.Errorf("window %+v, records %+v, %d disarms; want not injected, no record, one disarm", ws[0], rec.recs, deletes.Load())
			}
		})
	}
}
