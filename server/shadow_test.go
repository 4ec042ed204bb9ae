package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"stampede/internal/shadowreport"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// TestServeShadow: serve --strategy status-expiry --shadow skip-locked on both databases. Eight
// buyers race for each of four seats over HTTP, the winners release; the shadow replays every
// decision on its own copy of the inventory and agrees with each; GET /admin/shadow reports it
// with both latencies, and /metrics carries the shadow's series.
func TestServeShadow(t *testing.T) {
	t.Parallel()
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dsn := testsvc.DB(t, dialect)
			if dialect == "mysql" {
				t.Cleanup(func() { dropShadowDB(t, dsn) })
			}
			base, stop := startServe(t, Options{
				Addr: "127.0.0.1:0", Strategy: "status-expiry", Shadow: "skip-locked", DB: dsn,
				HoldTTL: 30 * time.Second, PoolSize: 8,
			})
			spec, _ := json.Marshal(testEventSpec("shadow-ev"))
			if code, body := httpDo(t, http.MethodPost, base+"/admin/events", "", string(spec)); code != http.StatusCreated {
				t.Fatalf("POST /admin/events = %d %s, want 201", code, body)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			granted := map[string][]string{}
			for seat := 1; seat <= 4; seat++ {
				for b := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						session := fmt.Sprintf("buyer%d-%d", seat, b)
						code, body := httpDo(t, http.MethodPost, base+"/events/shadow-ev/holds", session, fmt.Sprintf(`{"seats":["A-1-%d"]}`, seat))
						if code == http.StatusCreated {
							var h struct {
								HoldID string `json:"hold_id"`
							}
							_ = json.Unmarshal([]byte(body), &h)
							mu.Lock()
							granted[session] = append(granted[session], h.HoldID)
							mu.Unlock()
						} else if code != http.StatusConflict {
							t.Errorf("hold = %d %s, want 201 or 409", code, body)
						}
					}()
				}
			}
			wg.Wait()
			if len(granted) != 4 {
				t.Fatalf("%d holds granted, want one per seat (4): %v", len(granted), granted)
			}
			for session, ids := range granted {
				if code, body := httpDo(t, http.MethodDelete, base+"/holds/"+ids[0], session, ""); code != http.StatusNoContent {
					t.Fatalf("DELETE hold = %d %s", code, body)
				}
			}
			const ops = 32 + 4
			var r shadowreport.Report
			deadline := time.Now().Add(time.Minute)
			for {
				code, body := httpDo(t, http.MethodGet, base+"/admin/shadow", "", "")
				if code != http.StatusOK {
					t.Fatalf("GET /admin/shadow = %d %s", code, body)
				}
				r = shadowreport.Report{}
				if err := json.Unmarshal([]byte(body), &r); err != nil {
					t.Fatalf("decode report %s: %v", body, err)
				}
				if r.Replayed+r.Skipped >= ops || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if r.Primary != "status-expiry" || r.Shadow != "skip-locked" || r.Replayed != ops || r.Divergences != 0 || r.Dropped != 0 {
				t.Fatalf("report = %+v, want status-expiry shadowed by skip-locked, %d replayed, no divergence", r, ops)
			}
			if len(r.Latency) != 2 || r.Latency[0].Op != "hold" || r.Latency[0].Primary.Count != 32 || r.Latency[0].Shadow.Count != 32 {
				t.Errorf("latency = %+v, want hold and release, 32 holds on each side", r.Latency)
			}
			_, metrics := httpDo(t, http.MethodGet, base+"/metrics", "", "")
			for _, want := range []string{
				`stampede_shadow_divergences_total{kind="hold_granted"} 0`,
				`stampede_shadow_dropped_total 0`,
				`stampede_shadow_operation_duration_seconds_count{op="hold",role="primary"} 32`,
				`stampede_shadow_operation_duration_seconds_count{op="hold",role="shadow"} 32`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if err := stop(); err != nil {
				t.Errorf("Serve = %v", err)
			}
		})
	}
}

// TestServeWithoutShadow: GET /admin/shadow on a server without --shadow is a 404 that says so.
func TestServeWithoutShadow(t *testing.T) {
	t.Parallel()
	base, stop := startServe(t, Options{Addr: "127.0.0.1:0", Strategy: "status-expiry", DB: testsvc.PG(t), PoolSize: 2})
	code, body := httpDo(t, http.MethodGet, base+"/admin/shadow", "", "")
	if code != http.StatusNotFound || !strings.Contains(body, "shadow mode is off") {
		t.Errorf("GET /admin/shadow = %d %s, want 404 saying shadow mode is off", code, body)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve = %v", err)
	}
}

// dropShadowDB drops the MySQL database the shadow of dsn was given.
func dropShadowDB(t *testing.T, dsn string) {
	d, err := sqldb.MySQLDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(d, "mysql://"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(context.Background(), dsn, sqldb.Options{MaxConns: 1})
	if err != nil {
		t.Logf("drop shadow database: %v", err)
		return
	}
	defer db.Close()
	if _, err := db.Exec(context.Background(), "test", "DROP DATABASE IF EXISTS `"+cfg.DBName+"_"+ShadowNamespace+"`"); err != nil {
		t.Logf("drop shadow database: %v", err)
	}
}
