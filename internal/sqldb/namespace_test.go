package sqldb_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// TestIsolateAndItsNamespace creates a run's own schema or database on each dialect: the DSN
// returned reaches it (a table made through it lands there, not in the database given), a
// namespace of that DSN sits beside it under its name, Isolate refuses a name that exists, and
// DropNamespace and DropIsolated leave neither behind.
func TestIsolateAndItsNamespace(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			given := testsvc.DB(t, dialect)
			db, err := sqldb.Open(ctx, given, sqldb.Options{MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			name := "stampede_run_test_" + strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
			t.Cleanup(func() { _ = sqldb.DropIsolated(context.Background(), db, name) })
			dsn, err := sqldb.Isolate(ctx, db, given, name)
			if err != nil {
				t.Fatalf("Isolate: %v", err)
			}
			own, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 1})
			if err != nil {
				t.Fatalf("open %s: %v", dsn, err)
			}
			if _, err := own.Exec(ctx, "test", "CREATE TABLE t (id INT)"); err != nil {
				t.Fatalf("create a table through %s: %v", dsn, err)
			}
			own.Close()
			where := "SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema LIKE 'stampede_run_test%'"
			var schema string
			if err := db.QueryRow(ctx, "test", where, []any{&schema}); err != nil || schema != name {
				t.Fatalf("table t is in %q (%v), want %q", schema, err, name)
			}
			if _, err := sqldb.Isolate(ctx, db, given, name); err == nil {
				t.Errorf("Isolate of an existing %s succeeded, want an error", name)
			}
			shadow, err := sqldb.Namespace(ctx, db, dsn, "shadow")
			if err != nil {
				t.Fatalf("Namespace: %v", err)
			}
			exists := "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"
			var n int
			if err := db.QueryRow(ctx, "test", exists, []any{&n}, name+"_shadow"); err != nil || n != 1 {
				t.Fatalf("%s_shadow exists %d times (%v) after Namespace gave %s, want once", name, n, err, shadow)
			}
			if err := sqldb.DropNamespace(ctx, db, dsn, "shadow"); err != nil {
				t.Fatal(err)
			}
			if err := sqldb.DropIsolated(ctx, db, name); err != nil {
				t.Fatal(err)
			}
			for _, ns := range []string{name, name + "_shadow"} {
				if err := db.QueryRow(ctx, "test", exists, []any{&n}, ns); err != nil || n != 0 {
					t.Errorf("%s exists %d times (%v) after the drops, want none", ns, n, err)
				}
			}
		})
	}
}
