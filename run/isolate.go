package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"stampede/infra"
	"stampede/internal/sqldb"
	"stampede/reports"
	"stampede/server"
)

// dropTimeout bounds dropping a run's own schemas and databases, which happens after Ctrl-C
// too, on a context of its own.
const dropTimeout = 30 * time.Second

// isolation is where a run against databases it does not own (--env external) keeps its
// data: on each, a schema (PostgreSQL, in the database given) or a database (MySQL) of its
// own, named stampede_run_<UTC time>_<random>, created before the first strategy runs and
// dropped after the last unless Options.Keep. Every connection of the run reaches it through
// the DSNs of svc: the reference server (serve --db), the faults that connect to the
// database, and the version probe.
type isolation struct {
	svc     *infra.Services   // the services given, with every database's DSN pointing into the run's own
	user    map[string]string // the DSN given, per dialect
	storage []reports.Storage
	done    bool
}

// isolationName is the schema and database name of a run that started at started.
func isolationName(started time.Time) (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("name the run's schema: %w", err)
	}
	return "stampede_run_" + started.UTC().Format("20060102_150405") + "_" + hex.EncodeToString(b), nil
}

// isolate creates the run's own schema or database on each database of dbs in svc, before
// anything else runs. A user who may not create one gets an error naming the privilege
// (sqldb.PrivilegeError). On an error what was created is dropped again.
func isolate(ctx context.Context, svc *infra.Services, dbs []string, started time.Time) (_ *isolation, err error) {
	name, err := isolationName(started)
	if err != nil {
		return nil, err
	}
	iso := &isolation{svc: svc, user: map[string]string{}}
	defer func() {
		if err != nil {
			iso.drop(ctx)
		}
	}()
	for _, d := range dbs {
		given, err := iso.svc.DB(d)
		if err != nil {
			return nil, err
		}
		dsn, err := onDB(ctx, given, func(db sqldb.DB) (string, error) { return sqldb.Isolate(ctx, db, given, name) })
		if err != nil {
			server, database := where(d, given)
			var pe *sqldb.PrivilegeError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("--env external keeps the run's data in a %s of its own, %s, to leave database %s on %s as it was, and may not create it: %w",
					isolationKind(d), name, database, server, err)
			}
			return nil, fmt.Errorf("--env external: create the run's own %s on %s: %w", isolationKind(d), server, err)
		}
		server, database := where(d, given)
		if d == "postgres" {
			server += "/" + database // the database that holds the schema
		}
		iso.user[d] = given
		iso.storage = append(iso.storage, reports.Storage{DB: d, Kind: isolationKind(d), Name: name, Server: server})
		if iso.svc, err = iso.svc.WithDB(d, dsn); err != nil {
			return nil, err
		}
	}
	return iso, nil
}

// finish drops the run's schemas and databases unless keep (see drop) and returns where the
// data was and what became of it, for the summary. Later calls change nothing.
func (iso *isolation) finish(ctx context.Context, keep bool) []reports.Storage {
	if keep && !iso.done {
		for i := range iso.storage {
			iso.storage[i].Kept = true
		}
		iso.done = true
		return iso.storage
	}
	iso.drop(ctx)
	return iso.storage
}

// drop removes the run's schemas and databases, with a shadow strategy's copy beside each, on
// a context of its own so that it happens after Ctrl-C too, and records in the storage what
// could not be dropped. Later calls do nothing; so does a nil iso.
func (iso *isolation) drop(ctx context.Context) {
	if iso == nil || iso.done {
		return
	}
	iso.done = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
	defer cancel()
	for i, st := range iso.storage {
		given := iso.user[st.DB]
		dsn, _ := iso.svc.DB(st.DB)
		_, err := onDB(ctx, given, func(db sqldb.DB) (string, error) {
			if err := sqldb.DropNamespace(ctx, db, dsn, server.ShadowNamespace); err != nil {
				return "", err
			}
			return "", sqldb.DropIsolated(ctx, db, st.Name)
		})
		if err != nil {
			iso.storage[i].DropError = err.Error()
		}
	}
}

// onDB opens one connection on dsn for fn.
func onDB(ctx context.Context, dsn string, fn func(sqldb.DB) (string, error)) (string, error) {
	db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 1})
	if err != nil {
		return "", err
	}
	defer db.Close()
	return fn(db)
}

// isolationKind is what a run keeps its data in on dialect d.
func isolationKind(d string) string {
	if d == "postgres" {
		return "schema"
	}
	return "database"
}

// where names a database server without credentials, host:port, and the database of dsn.
func where(d, dsn string) (server, database string) {
	if d == "mysql" {
		norm, err := sqldb.MySQLDSN(dsn)
		if err != nil {
			return "the MySQL server", "?"
		}
		cfg, err := mysql.ParseDSN(strings.TrimPrefix(norm, "mysql://"))
		if err != nil {
			return "the MySQL server", "?"
		}
		return cfg.Addr, cfg.DBName
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "the PostgreSQL server", "?"
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database
}
