package sqldb_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// TestBatch: a batch is one round trip whose statements commit together before its query reads
// them; a failing statement leaves nothing of the batch and the connection usable; inside a
// transaction the batch is part of it.
func TestBatch(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqldb.Open(ctx, testsvc.DB(t, dialect), sqldb.Options{MaxConns: 1})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if _, err := db.Exec(ctx, "setup", "CREATE TABLE batch (id INT PRIMARY KEY, n INT NOT NULL)"); err != nil {
				t.Fatalf("create: %v", err)
			}
			count := func() (n, sum int) {
				t.Helper()
				var s *int
				if err := db.QueryRow(ctx, "read", "SELECT COUNT(*), SUM(n) FROM batch", []any{&n, &s}); err != nil {
					t.Fatalf("count: %v", err)
				}
				if s != nil {
					sum = *s
				}
				return n, sum
			}
			var got int
			err = db.Conn(ctx, "ok", func(q sqldb.Querier) error {
				return q.Batch(ctx, []sqldb.Stmt{
					{SQL: "INSERT INTO batch (id, n) VALUES (?, ?)", Args: []any{1, 10}},
					{SQL: "UPDATE batch SET n = n + ? WHERE id = ?", Args: []any{5, 1}},
					{SQL: "SELECT n FROM batch WHERE id = ?", Args: []any{1}},
				}, sqldb.Row(&got))
			})
			if err != nil || got != 15 {
				t.Fatalf("Batch = %d, %v; want 15, nil", got, err)
			}
			if s := db.Metrics().Snapshot()["ok"]; s.Statements != 3 || s.RoundTrips != 1 {
				t.Errorf("batch counted %d statements in %d round trips, want 3 in 1", s.Statements, s.RoundTrips)
			}
			// The second INSERT repeats the key: the first is undone with it.
			err = db.Conn(ctx, "dup", func(q sqldb.Querier) error {
				return q.Batch(ctx, []sqldb.Stmt{
					{SQL: "INSERT INTO batch (id, n) VALUES (?, ?)", Args: []any{2, 20}},
					{SQL: "INSERT INTO batch (id, n) VALUES (?, ?)", Args: []any{1, 30}},
					{SQL: "SELECT n FROM batch WHERE id = ?", Args: []any{2}},
				}, sqldb.Row(&got))
			})
			if !sqldb.UniqueViolation(err) {
				t.Fatalf("Batch with a duplicate key = %v, want a unique violation", err)
			}
			if n, sum := count(); n != 1 || sum != 15 {
				t.Fatalf("after the failed batch: %d rows summing %d, want 1 row of 15", n, sum)
			}
			err = db.Conn(ctx, "none", func(q sqldb.Querier) error {
				return q.Batch(ctx, []sqldb.Stmt{{SQL: "SELECT n FROM batch WHERE id = ?", Args: []any{9}}}, sqldb.Row(&got))
			})
			if !errors.Is(err, sqldb.ErrNoRows) {
				t.Fatalf("Batch selecting nothing = %v, want ErrNoRows", err)
			}
			if err := db.Conn(ctx, "empty", func(q sqldb.Querier) error { return q.Batch(ctx, nil, nil) }); err == nil {
				t.Fatal("Batch of nothing = nil, want an error")
			}
			// The scan gets every row of the query.
			var all []int
			err = db.Conn(ctx, "rows", func(q sqldb.Querier) error {
				return q.Batch(ctx, []sqldb.Stmt{
					{SQL: "UPDATE batch SET n = n WHERE id = ?", Args: []any{1}},
					{SQL: "SELECT n FROM batch UNION ALL SELECT ? UNION ALL SELECT ? ORDER BY 1", Args: []any{7, 8}},
				}, func(rows sqldb.Rows) error {
					for rows.Next() {
						var n int
						if err := rows.Scan(&n); err != nil {
							return err
						}
						all = append(all, n)
					}
					return nil
				})
			})
			if err != nil || !slices.Equal(all, []int{7, 8, 15}) {
				t.Fatalf("Batch scanning rows = %v, %v; want [7 8 15], nil", all, err)
			}
			// Inside a transaction the batch is part of it: the rollback undoes it.
			err = db.Tx(ctx, "tx", func(tx sqldb.Tx) error {
				if err := tx.Batch(ctx, []sqldb.Stmt{
					{SQL: "INSERT INTO batch (id, n) VALUES (?, ?)", Args: []any{3, 1}},
					{SQL: "SELECT COUNT(*) FROM batch", Args: nil},
				}, sqldb.Row(&got)); err != nil {
					return err
				}
				if got != 2 {
					t.Errorf("inside the transaction the batch saw %d rows, want 2", got)
				}
				return errors.New("roll back")
			})
			if err == nil {
				t.Fatal("Tx = nil, want the fn's error")
			}
			if n, _ := count(); n != 1 {
				t.Fatalf("after the rolled-back transaction: %d rows, want 1", n)
			}
		})
	}
}
