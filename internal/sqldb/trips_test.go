package sqldb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// TestStatementsAndRoundTripsPerTag: every statement counts one statement and one round trip on
// its tag; a transaction adds BEGIN and COMMIT (or ROLLBACK); the counters reach /metrics.
func TestStatementsAndRoundTripsPerTag(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			reg := prometheus.NewRegistry()
			db, err := sqldb.Open(ctx, testsvc.DB(t, dialect), sqldb.Options{MaxConns: 2, Metrics: sqldb.NewMetrics(reg)})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if _, err := db.Exec(ctx, "one", "CREATE TABLE trips (id INT PRIMARY KEY)"); err != nil {
				t.Fatalf("create: %v", err)
			}
			err = db.Tx(ctx, "tx", func(tx sqldb.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO trips (id) VALUES (?)", 1); err != nil {
					return err
				}
				var n int
				return tx.QueryRow(ctx, "SELECT COUNT(*) FROM trips", []any{&n})
			})
			if err != nil {
				t.Fatalf("Tx: %v", err)
			}
			err = db.Tx(ctx, "rolled", func(tx sqldb.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO trips (id) VALUES (?)", 2); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil || !strings.Contains(err.Error(), "roll back") {
				t.Fatalf("Tx = %v, want the fn's error", err)
			}
			want := map[string]sqldb.TagStats{
				"one":    {Count: 1, Statements: 1, RoundTrips: 1},
				"tx":     {Count: 1, Statements: 2, RoundTrips: 4}, // BEGIN, INSERT, SELECT, COMMIT
				"rolled": {Count: 1, Statements: 1, RoundTrips: 3}, // BEGIN, INSERT, ROLLBACK
			}
			snap := db.Metrics().Snapshot()
			for tag, w := range want {
				g := snap[tag]
				if g.Count != w.Count || g.Statements != w.Statements || g.RoundTrips != w.RoundTrips {
					t.Errorf("tag %s: %d acquisitions, %d statements, %d round trips; want %d, %d, %d",
						tag, g.Count, g.Statements, g.RoundTrips, w.Count, w.Statements, w.RoundTrips)
				}
			}
			got := map[string]float64{}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						got[mf.GetName()+"/"+l.GetValue()] = m.GetCounter().GetValue()
					}
				}
			}
			for tag, w := range want {
				if g := got["stampede_db_statements_total/"+tag]; g != float64(w.Statements) {
					t.Errorf("/metrics stampede_db_statements_total{tag=%q} = %v, want %d", tag, g, w.Statements)
				}
				if g := got["stampede_db_round_trips_total/"+tag]; g != float64(w.RoundTrips) {
					t.Errorf("/metrics stampede_db_round_trips_total{tag=%q} = %v, want %d", tag, g, w.RoundTrips)
				}
			}
		})
	}
}
