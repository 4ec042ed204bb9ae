package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/testsvc"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "pessimistic", tdb)
	id := e.createEvent()
	e.holdSeats(id, "alice", "A-1-1")
	e.call(http.MethodPost, "/events/"+id+"/holds", "bob", map[string]any{"seats": []string{"A-1-1"}})
	e.call(http.MethodGet, "/no/such/route", "", nil)
	e.must(http.StatusOK, http.MethodGet, "/events", "", nil)

	r := e.must(http.StatusOK, http.MethodGet, "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`stampede_http_request_duration_seconds_count{route="POST /events/{event_id}/holds",status="2xx"} 1`,
		`stampede_http_request_duration_seconds_count{route="POST /events/{event_id}/holds",status="4xx"} 1`,
		`stampede_http_request_duration_seconds_count{route="POST /admin/events",status="2xx"} 1`,
		`stampede_http_request_duration_seconds_count{route="unmatched",status="4xx"} 1`,
		`stampede_strategy_operations_total{op="hold",outcome="ok",strategy="pessimistic"} 1`,
		`stampede_strategy_operations_total{op="hold",outcome="seat_unavailable",strategy="pessimistic"} 1`,
		`stampede_strategy_operation_duration_seconds_count{op="hold",strategy="pessimistic"} 2`,
		`stampede_cache_requests_total{kind="events",result="miss"} 1`,
		`stampede_db_pool_wait_seconds_count{tag="hold"}`,
		`stampede_db_conn_hold_seconds_count{tag="hold"}`,
		`stampede_http_requests_in_flight 1`, // the /metrics request itself
		`go_goroutines`,
		`process_start_time_seconds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "mysql")
	e := newEnv(t, "skip-locked", tdb)

	var h health
	e.must(http.StatusOK, http.MethodGet, "/healthz", "", nil).decode(t, &h)
	if h.Status != "ok" || h.Strategy != "skip-locked" || h.Checks["database"] != "ok" || h.Checks["redis"] != "ok" {
		t.Errorf("/healthz = %+v, want ok with database and redis ok", h)
	}

	if err := e.redis.Kill(); err != nil {
		t.Fatalf("kill redis: %v", err)
	}
	r := e.must(http.StatusServiceUnavailable, http.MethodGet, "/healthz", "", nil)
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	r.decode(t, &body)
	eb := r.errBody(t)
	if eb.Error.Code != "unavailable" || !strings.Contains(eb.Error.Message, "redis") || body.Checks["redis"] != "unreachable" || body.Checks["database"] != "ok" {
		t.Errorf("/healthz with Redis down = %s, want 503 unavailable naming redis", r.body)
	}
}

func TestFailpoints(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "status-expiry", tdb)
	id := e.createEvent()

	e.must(http.StatusOK, http.MethodPut, "/admin/failpoints/"+failpoint.AfterHold, "", failpoint.Action{Kind: failpoint.Error, From: 2, Times: 1})
	e.holdSeats(id, "alice", "A-1-1")
	// The second hold is taken, then the point fails the answer: 503, outcome unknown.
	e.wantError(http.StatusServiceUnavailable, "unavailable", "", http.MethodPost, "/events/"+id+"/holds", "bob", map[string]any{"seats": []string{"A-1-2"}})
	e.wantError(http.StatusConflict, "seat_unavailable", "", http.MethodPost, "/events/"+id+"/holds", "carol", map[string]any{"seats": []string{"A-1-2"}})

	var list []failpoint.Status
	e.must(http.StatusOK, http.MethodGet, "/admin/failpoints", "", nil).decode(t, &list)
	if len(list) != 1 || list[0].Name != failpoint.AfterHold || list[0].Hits != 2 {
		t.Errorf("GET /admin/failpoints = %+v, want after-hold with 2 hits", list)
	}
	e.wantError(http.StatusBadRequest, "invalid_request", "name", http.MethodPut, "/admin/failpoints/nowhere", "", failpoint.Action{Kind: failpoint.Count})
	e.wantError(http.StatusBadRequest, "invalid_request", "action", http.MethodPut, "/admin/failpoints/"+failpoint.AfterHold, "", `{"action":"explode"}`)
	e.wantError(http.StatusBadRequest, "invalid_request", "", http.MethodPut, "/admin/failpoints/"+failpoint.AfterHold, "", `{"action":`)
	e.must(http.StatusNoContent, http.MethodDelete, "/admin/failpoints/"+failpoint.AfterHold, "", nil)
	e.must(http.StatusNoContent, http.MethodDelete, "/admin/failpoints/"+failpoint.AfterHold, "", nil)
	r := e.must(http.StatusOK, http.MethodGet, "/admin/failpoints", "", nil)
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 0 {
		t.Errorf("GET /admin/failpoints after disarming = %s, want []", r.body)
	}
	e.holdSeats(id, "dave", "A-1-3")
}

// TestPoolHog: the pool-exhaustion fault's endpoint holds the server's own connections (tag
// chaos) until released; with the whole pool held, a hold cannot get a connection; afterwards
// holds are served again.
func TestPoolHog(t *testing.T) {
	t.Parallel()
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			tdb := newTestDBPool(t, dialect, 3)
			e := newEnv(t, "status-expiry", tdb)
			id := e.createEvent()

			e.wantError(http.StatusBadRequest, "invalid_request", "conns", http.MethodPut, "/admin/pool-hog", "", map[string]int{"conns": 4})
			e.wantError(http.StatusBadRequest, "invalid_request", "conns", http.MethodPut, "/admin/pool-hog", "", `{"conns":"all"}`)
			var st poolHogStatus
			e.must(http.StatusOK, http.MethodPut, "/admin/pool-hog", "", map[string]int{"conns": 0}).decode(t, &st)
			if st.Conns != 2 || st.MaxConns != 3 {
				t.Fatalf("PUT /admin/pool-hog {conns: 0} = %+v, want 2 of 3", st)
			}
			// One connection is left: holds still go through.
			e.holdSeats(id, "alice", "A-1-1")
			// The whole pool: a hold waits for a connection until its client gives up.
			e.must(http.StatusOK, http.MethodPut, "/admin/pool-hog", "", map[string]int{"conns": 3}).decode(t, &st)
			if got := tdb.metrics.Snapshot()["chaos"].Count; got != 2 {
				t.Errorf("after replacing the hog: %d chaos connections given back, want the first 2", got)
			}
			req, _ := http.NewRequest(http.MethodPost, e.url+"/events/"+id+"/holds", strings.NewReader(`{"seats":["A-1-2"]}`))
			req.Header.Set("X-Session-Id", "bob")
			short := &http.Client{Timeout: 300 * time.Millisecond}
			if resp, err := short.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("hold with every connection hogged answered %d, want no answer before the client's timeout", resp.StatusCode)
			}
			e.must(http.StatusNoContent, http.MethodDelete, "/admin/pool-hog", "", nil)
			e.must(http.StatusNoContent, http.MethodDelete, "/admin/pool-hog", "", nil)
			if got := tdb.metrics.Snapshot()["chaos"].Count; got != 5 {
				t.Errorf("after release: %d chaos connections given back, want 5", got)
			}
			e.holdSeats(id, "carol", "A-1-3")
		})
	}
}
