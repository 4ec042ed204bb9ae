package strategies

import (
	"context"
	"testing"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// TestMigrateIndexDiet: a database migrated before 007 (with seats_hold, seats_status_expiry
// and ga_units_hold) loses them at the next Migrate, and 007 applies again cleanly when they
// are already gone (MySQL 8 has no DROP INDEX IF EXISTS). On PostgreSQL seats is filled to 90%.
func TestMigrateIndexDiet(t *testing.T) {
	dropped := [][2]string{{"seats", "seats_hold"}, {"seats", "seats_status_expiry"}, {"ga_units", "ga_units_hold"}}
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, 2)
			present := func() []string {
				t.Helper()
				var out []string
				for _, ix := range dropped {
					q := "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? AND indexname = ?"
					if db.Dialect() == sqldb.MySQL {
						q = "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?"
					}
					var n int
					if err := db.QueryRow(ctx, "test", q, []any{&n}, ix[0], ix[1]); err != nil {
						t.Fatalf("look up index %s: %v", ix[1], err)
					}
					if n > 0 {
						out = append(out, ix[1])
					}
				}
				return out
			}
			again := func() {
				t.Helper()
				if _, err := db.Exec(ctx, "test", "DELETE FROM schema_migrations WHERE version = '007_index_diet.sql'"); err != nil {
					t.Fatalf("forget 007: %v", err)
				}
				if err := Migrate(ctx, db); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			if got := present(); len(got) > 0 {
				t.Fatalf("indexes after Migrate: %v, want none of them", got)
			}
			// As migrated by 001 before 007 existed.
			for _, q := range []string{"CREATE INDEX seats_hold ON seats (hold_id)", "CREATE INDEX seats_status_expiry ON seats (status, expires_at)", "CREATE INDEX ga_units_hold ON ga_units (hold_id)"} {
				if _, err := db.Exec(ctx, "test", q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if got := present(); len(got) != len(dropped) {
				t.Fatalf("indexes before 007: %v, want all %d", got, len(dropped))
			}
			again()
			if got := present(); len(got) > 0 {
				t.Fatalf("indexes after 007 on an older database: %v, want none", got)
			}
			again() // nothing left to drop
			if db.Dialect() == sqldb.Postgres {
				var opts string
				if err := db.QueryRow(ctx, "test", "SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'seats'::regclass", []any{&opts}); err != nil {
					t.Fatalf("read seats options: %v", err)
				}
				if opts != "fillfactor=90" {
					t.Fatalf("seats options %q, want fillfactor=90 (room on the page for HOT holds)", opts)
				}
			}
		})
	}
}
