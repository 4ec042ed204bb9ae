package sqldb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/strategies"
)

func TestOpenMigrateAndTag(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqldb.Open(ctx, testsvc.DB(t, dialect), sqldb.Options{MaxConns: 4})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			for i := 0; i < 2; i++ { // idempotent
				if err := strategies.Migrate(ctx, db); err != nil {
					t.Fatalf("Migrate (run %d): %v", i+1, err)
				}
			}
			var n int
			if err := db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM schema_migrations", []any{&n}); err != nil {
				t.Fatalf("count migrations: %v", err)
			}
			if n == 0 {
				t.Fatalf("schema_migrations has %d rows, want at least 1", n)
			}
			err = db.Tx(ctx, "hold", func(tx sqldb.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO events (id, name, spec) VALUES (?, ?, ?)", "e1", "E", "{}"); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil || !strings.Contains(err.Error(), "roll back") {
				t.Fatalf("Tx returned %v, want the fn's error", err)
			}
			if err := db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM events", []any{&n}); err != nil {
				t.Fatalf("count events: %v", err)
			}
			if n != 0 {
				t.Fatalf("events after rollback = %d, want 0", n)
			}
			if err := db.QueryRow(ctx, "test", "SELECT id FROM events WHERE id = ?", []any{new(string)}, "nope"); !errors.Is(err, sqldb.ErrNoRows) {
				t.Fatalf("QueryRow on nothing = %v, want ErrNoRows", err)
			}
			snap := db.Metrics().Snapshot()
			if snap["hold"].Count != 1 || snap["test"].Count < 3 {
				t.Fatalf("metrics per tag = %+v, want hold=1 and test>=3 acquisitions", snap)
			}
		})
	}
}
