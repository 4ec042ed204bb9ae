package sqldb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Dialect is the SQL dialect of a DB.
type Dialect int

const (
	Postgres Dialect = iota + 1
	MySQL
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "unknown"
}

// Rows is a result set; both drivers' rows fit it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Querier runs statements, inside or outside a transaction. Queries use ? placeholders; the
// PostgreSQL implementation rewrites them to $n. A query must not contain a literal '?'.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query and calls scan once with the rows; the rows are closed afterwards.
	Query(ctx context.Context, query string, scan func(Rows) error, args ...any) error
	// QueryRow runs a query expected to return at most one row and scans it into dest.
	// It returns ErrNoRows when there is none.
	QueryRow(ctx context.Context, query string, dest []any, args ...any) error
	// Batch sends stmts to the database in one round trip and calls scan once with the rows of
	// the last one, a query (Row(dest...) scans its single row). Outside a transaction (DB.Conn)
	// the statements before the query run as one transaction of their own, committed before
	// the query runs, and an error leaves nothing of them; inside one (DB.Tx) they are part of
	// it. It is for work whose decision SQL can carry from statement to statement (a row
	// count in a WHERE clause, a user variable), so that it needs no exchange in between.
	Batch(ctx context.Context, stmts []Stmt, scan func(Rows) error) error
}

// Row is the scan of a query that returns one row: it scans the first row into dest, and is
// ErrNoRows when there is none.
func Row(dest ...any) func(Rows) error {
	return func(rows Rows) error { return scanOne(rows, dest) }
}

// Stmt is one statement of a Batch and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// Tx is a transaction in progress. Its statements carry the tag of the Tx call.
type Tx interface {
	Querier
}

// DB is a pool of connections to one database.
type DB interface {
	Dialect() Dialect
	// Exec, Query and QueryRow run one statement on a connection acquired for tag.
	Exec(ctx context.Context, tag, query string, args ...any) (int64, error)
	Query(ctx context.Context, tag, query string, scan func(Rows) error, args ...any) error
	QueryRow(ctx context.Context, tag, query string, dest []any, args ...any) error
	// Tx runs fn in a READ COMMITTED transaction on a connection acquired for tag, committing
	// when fn returns nil and rolling back otherwise. fn may be called more than once when the
	// database reports a serialization failure or deadlock (retries are bounded); it must not
	// have effects outside the transaction that cannot be repeated.
	Tx(ctx context.Context, tag string, fn func(Tx) error) error
	// TxOnce is Tx without retries: for transactions with effects outside the database.
	TxOnce(ctx context.Context, tag string, fn func(Tx) error) error
	// Conn runs fn on one connection acquired for tag, outside any transaction: each statement
	// commits on its own. It is for work of one statement that must run only once the
	// connection is held (a clock read after the wait for the pool), without the BEGIN and
	// COMMIT round trips of a transaction.
	Conn(ctx context.Context, tag string, fn func(Querier) error) error
	// Metrics is where pool wait and hold times are recorded.
	Metrics() *Metrics
	// SetMaxConns changes the pool size at run time where the driver allows it
	// (MySQL); it returns ErrUnsupported otherwise.
	SetMaxConns(n int) error
	// MaxConns is the configured pool size.
	MaxConns() int
	// OpenConns is how many connections the pool has open now, idle and in use.
	OpenConns() int
	Close()
}

// ErrNoRows is returned by QueryRow when the query selected nothing.
var ErrNoRows = errors.New("no rows")

// ErrUnsupported is returned by operations a driver cannot do.
var ErrUnsupported = errors.New("not supported by this driver")

// Options tune a pool.
type Options struct {
	// MaxConns is the pool size; 0 means 20.
	MaxConns int
	// Metrics receives pool wait and hold times; nil means a new, unregistered one.
	Metrics *Metrics
}

// Open connects to the database named by dsn: a PostgreSQL URL (postgres:// or postgresql://)
// or a MySQL DSN, mysql://user:pass@host:port/db or mysql://user:pass@tcp(host:port)/db
// (MySQLDSN).
func Open(ctx context.Context, dsn string, opts Options) (DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 20
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, opts)
	case strings.HasPrefix(dsn, "mysql://"):
		d, err := MySQLDSN(dsn)
		if err != nil {
			return nil, err
		}
		return openMySQL(ctx, strings.TrimPrefix(d, "mysql://"), opts)
	}
	return nil, fmt.Errorf("database %q: want a postgres:// URL or a mysql://user:pass@host:port/db DSN", redact(dsn))
}

// DialectOf returns the dialect a DSN names, without connecting.
func DialectOf(dsn string) (Dialect, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, nil
	case strings.HasPrefix(dsn, "mysql://"):
		return MySQL, nil
	}
	return 0, fmt.Errorf("database %q: want a postgres:// URL or a mysql:// DSN", redact(dsn))
}

// tagged prefixes a statement with its connection tag comment.
func tagged(tag, q string) string {
	return "/* conn_tag:" + tag + " */ " + q
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return u.String()
		}
	}
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.LastIndex(dsn[:i], ":"); j > strings.Index(dsn, "://")+2 {
			return dsn[:j+1] + "xxx" + dsn[i:]
		}
	}
	return dsn
}

// maxTxAttempts bounds retries of serialization failures and deadlocks.
const maxTxAttempts = 5

// retryTx is the transaction loop of every dialect (DB.Tx): it calls once, which runs one
// transaction on a connection of its own, again while the error is one that retryable (the
// dialect's) says the whole transaction may repeat, at most maxTxAttempts times in all and
// never once ctx is done. It sleeps a growing backoff between attempts.
func retryTx(ctx context.Context, retryable func(error) bool, once func() error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = once()
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(backoff(attempt))
	}
	return err
}

// backoff is the pause before the attempt after attempt: 2ms, 8ms, 18ms, 32ms.
func backoff(attempt int) time.Duration {
	return time.Duration(attempt*attempt) * 2 * time.Millisecond
}

// OnPool is db seen as a Querier: each statement runs on a connection of its own, acquired for
// tag, outside any transaction. Code written against Querier then runs both inside a
// transaction (the Tx that DB.Tx passes) and on the pool.
func OnPool(db DB, tag string) Querier { return poolQuerier{db: db, tag: tag} }

type poolQuerier struct {
	db  DB
	tag string
}

var _ Querier = poolQuerier{}

func (q poolQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return q.db.Exec(ctx, q.tag, query, args...)
}

func (q poolQuerier) Query(ctx context.Context, query string, scan func(Rows) error, args ...any) error {
	return q.db.Query(ctx, q.tag, query, scan, args...)
}

func (q poolQuerier) QueryRow(ctx context.Context, query string, dest []any, args ...any) error {
	return q.db.QueryRow(ctx, q.tag, query, dest, args...)
}

func (q poolQuerier) Batch(ctx context.Context, stmts []Stmt, scan func(Rows) error) error {
	return q.db.Conn(ctx, q.tag, func(c Querier) error { return c.Batch(ctx, stmts, scan) })
}

// scanOne scans the first row of rows into dest; ErrNoRows when there is none.
func scanOne(rows Rows, dest []any) error {
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return ErrNoRows
	}
	return rows.Scan(dest...)
}

// batchOf checks that stmts has a query last and counts the batch: its statements, one round
// trip.
func batchOf(n *Trips, stmts []Stmt) error {
	if len(stmts) == 0 {
		return errors.New("batch: no statements, want at least the query whose row it returns")
	}
	n.Statements += int64(len(stmts))
	n.RoundTrips++
	return nil
}

// Retryable reports a serialization failure, deadlock or lock wait timeout, on either dialect:
// the statement or transaction that got it changed nothing and may run again.
func Retryable(err error) bool {
	return pgRetryable(err) || mysqlRetryable(err)
}

// UniqueViolation reports a duplicate value in a unique index or primary key, on either
// dialect (PostgreSQL 23505, MySQL 1062): the statement changed nothing.
func UniqueViolation(err error) bool {
	return pgUniqueViolation(err) || mysqlUniqueViolation(err)
}
