package testsvc

import (
	"context"
	"testing"
	"time"

	"stampede/internal/sqldb"
)

func TestClock(t *testing.T) {
	var c Clock
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("zero Clock is %v off real time, want real time", d)
	}
	c.Advance(time.Hour)
	c.Advance(30 * time.Minute)
	if d := c.Now().Sub(time.Now()); d < 89*time.Minute || d > 91*time.Minute {
		t.Fatalf("Clock after advancing 1h30m is %v ahead, want 1h30m", d)
	}
}

func TestMigratedDB(t *testing.T) {
	for _, dialect := range Dialects {
		t.Run(dialect, func(t *testing.T) {
			migrated := 0
			db := MigratedDB(t, dialect, sqldb.Options{MaxConns: 2}, func(ctx context.Context, db sqldb.DB) error {
				migrated++
				_, err := db.Exec(ctx, "test", "CREATE TABLE migrated (id INT)")
				return err
			})
			if migrated != 1 {
				t.Fatalf("migrate ran %d times, want once", migrated)
			}
			var n int
			if err := db.QueryRow(context.Background(), "test", "SELECT COUNT(*) FROM migrated", []any{&n}); err != nil || n != 0 {
				t.Fatalf("count the migrated table = %d, %v; want an empty table", n, err)
			}
			if got := db.MaxConns(); got != 2 {
				t.Fatalf("MaxConns() = %d, want the 2 asked for", got)
			}
		})
	}
}
