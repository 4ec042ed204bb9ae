package strategies

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/go-sql-driver/mysql"

	"stampede/internal/sqldb"
)

// Migrations are numbered SQL files, one directory per dialect, applied in order once each.
//
// The two directories repeat each other on purpose, and are not to be folded into one: the
// dialects differ in types (TIMESTAMPTZ, DATETIME(6)), defaults, table options (InnoDB,
// utf8mb4_bin, on which the seat lock order relies) and the indexes each needs (an InnoDB
// secondary index already ends with the primary key), and a plain SQL file per database,
// which that database's own tools can run and read, beats a generator that hides those
// differences. A migration lands in both directories under the same number, with the same
// tables, columns and keys.
//
//go:embed migrations
var migrations embed.FS

// Migrate applies every embedded migration the database has not seen yet. It is idempotent and
// safe when several servers start at once: an advisory lock serialises the runners.
func Migrate(ctx context.Context, db sqldb.DB) error {
	dir := "migrations/" + db.Dialect().String()
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)

	lock, unlock := "SELECT pg_advisory_lock(7413)", "SELECT pg_advisory_unlock(7413)"
	if db.Dialect() == sqldb.MySQL {
		lock, unlock = "SELECT GET_LOCK('stampede_migrate', 60)", "SELECT RELEASE_LOCK('stampede_migrate')"
	}
	// Session-level locks need one connection for lock, work and unlock: a transaction gives it.
	return db.TxOnce(ctx, "migrate", func(tx sqldb.Tx) error {
		var ignored any
		if err := tx.QueryRow(ctx, lock, []any{&ignored}); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer tx.QueryRow(context.WithoutCancel(ctx), unlock, []any{&ignored}) //nolint:errcheck // released with the session anyway
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for _, name := range files {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", []any{&n}, name); err != nil {
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(dir + "/" + name)
			if err != nil {
				return fmt.Errorf("read migration %s: %w", name, err)
			}
			for i, stmt := range splitStatements(string(body)) {
				if _, err := tx.Exec(ctx, stmt); err != nil && !duplicateIndex(err) && !missingIndex(err) {
					return fmt.Errorf("migration %s, statement %d: %w", name, i+1, err)
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", name, "applied"); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// splitStatements splits a migration on semicolons at line ends, dropping comment-only lines.
// Migrations keep to that form (no semicolons inside literals or bodies).
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// duplicateIndex reports MySQL's "duplicate key name" (1061), which MySQL 8 raises where
// MariaDB's CREATE INDEX IF NOT EXISTS would have skipped.
func duplicateIndex(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1061
}

// missingIndex reports MySQL's "can't drop ...; check that column/key exists" (1091), which
// MySQL 8, having no DROP INDEX IF EXISTS, raises for an index already gone.
func missingIndex(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1091
}
