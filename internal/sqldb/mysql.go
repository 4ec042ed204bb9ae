package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

type myDB struct {
	db      *sql.DB
	metrics *Metrics
	max     int
}

var _ DB = (*myDB)(nil)

// MySQLForms says which forms of MySQL DSN stampede reads, for messages.
const MySQLForms = "want mysql://user[:password]@host[:port]/database or mysql://user[:password]@tcp(host:port)/database"

// MySQLDSN returns a mysql:// DSN in the form the driver reads,
// mysql://user[:password]@tcp(host:port)/database[?params]. A DSN in that form (or with
// unix(socket)) is returned as it is once it parses; the URL form the other databases use,
// mysql://user[:password]@host[:port]/database[?params], is rewritten to it, with port 3306
// when none is given. Anything else is an error saying which forms are read; the error never
// shows the password.
func MySQLDSN(dsn string) (string, error) {
	rest, ok := strings.CutPrefix(dsn, "mysql://")
	if !ok {
		return "", fmt.Errorf("%q is not a mysql:// DSN: %s", redact(dsn), MySQLForms)
	}
	if !strings.Contains(rest, "(") {
		// No network(address): the URL form, when it names a host.
		u, err := url.Parse(dsn)
		if err == nil && u.Host != "" {
			cfg := mysql.NewConfig()
			cfg.Net, cfg.Addr = "tcp", u.Host
			if u.Port() == "" {
				cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
			}
			if u.User != nil {
				cfg.User = u.User.Username()
				cfg.Passwd, _ = u.User.Password()
			}
			cfg.DBName = strings.TrimPrefix(u.Path, "/")
			rest = cfg.FormatDSN()
			if u.RawQuery != "" {
				rest += "?" + u.RawQuery
			}
		}
	}
	if _, err := mysql.ParseDSN(rest); err != nil {
		return "", fmt.Errorf("MySQL DSN %q: %v; %s", redact(dsn), err, MySQLForms)
	}
	return "mysql://" + rest, nil
}

func openMySQL(ctx context.Context, dsn string, opts Options) (DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse mysql dsn %q: %w", redact("mysql://"+dsn), err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// Interpolate arguments client-side: server-side prepared statements cost two extra round
	// trips per statement (prepare, close), a third of a short transaction's time. Safe with
	// the utf8mb4 connection charset the driver uses.
	cfg.InterpolateParams = true
	// Several statements in one exchange, for Querier.Batch. Arguments are interpolated by the
	// driver with escaping, never spliced into the SQL text, so this opens no injection.
	cfg.MultiStatements = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	// MariaDB names the isolation variable tx_isolation, MySQL 8 transaction_isolation: ask the
	// server which it is before fixing the session settings.
	probe, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("connect to mysql: %w", err)
	}
	var version string
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = probe.QueryRowContext(pctx, "SELECT VERSION()").Scan(&version)
	probe.Close()
	if err != nil {
		return nil, fmt.Errorf("connect to mysql %q: %w", redact("mysql://"+dsn), err)
	}
	if strings.Contains(strings.ToLower(version), "mariadb") {
		cfg.Params["tx_isolation"] = "'READ-COMMITTED'"
	} else {
		cfg.Params["transaction_isolation"] = "'READ-COMMITTED'"
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to mysql %q: %w", redact("mysql://"+dsn), err)
	}
	return &myDB{db: db, metrics: opts.Metrics, max: opts.MaxConns}, nil
}

func (d *myDB) Dialect() Dialect  { return MySQL }
func (d *myDB) Metrics() *Metrics { return d.metrics }
func (d *myDB) MaxConns() int     { return d.max }
func (d *myDB) OpenConns() int    { return d.db.Stats().OpenConnections }
func (d *myDB) Close()            { d.db.Close() }

// SQL exposes the database/sql handle for code that needs MySQL-only features.
func (d *myDB) SQL() *sql.DB { return d.db }

func (d *myDB) SetMaxConns(n int) error {
	if n <= 0 {
		return fmt.Errorf("pool size %d: must be positive", n)
	}
	d.db.SetMaxOpenConns(n)
	d.max = n
	return nil
}

// acquire takes a connection for tag; release gives it back and records the wait, the hold
// and what the *Trips it returns counted.
func (d *myDB) acquire(ctx context.Context, tag string) (*sql.Conn, *Trips, func(), error) {
	start := time.Now()
	c, err := d.db.Conn(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("acquire connection (%s): %w", tag, err)
	}
	got := time.Now()
	n := &Trips{}
	return c, n, func() {
		c.Close()
		d.metrics.observe(tag, got.Sub(start), time.Since(got), *n)
	}, nil
}

func (d *myDB) Exec(ctx context.Context, tag, q string, args ...any) (int64, error) {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return 0, err
	}
	defer release()
	return myQuerier{c: c, tag: tag, n: n}.Exec(ctx, q, args...)
}

func (d *myDB) Query(ctx context.Context, tag, q string, scan func(Rows) error, args ...any) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	return myQuerier{c: c, tag: tag, n: n}.Query(ctx, q, scan, args...)
}

func (d *myDB) QueryRow(ctx context.Context, tag, q string, dest []any, args ...any) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	return myQuerier{c: c, tag: tag, n: n}.QueryRow(ctx, q, dest, args...)
}

func (d *myDB) Tx(ctx context.Context, tag string, fn func(Tx) error) error {
	return retryTx(ctx, mysqlRetryable, func() error { return d.TxOnce(ctx, tag, fn) })
}

func (d *myDB) TxOnce(ctx context.Context, tag string, fn func(Tx) error) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	n.control()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin (%s): %w", tag, err)
	}
	if err := fn(myQuerier{c: tx, tag: tag, n: n, inTx: true}); err != nil {
		n.control()
		_ = tx.Rollback() // secondary to err; a broken connection is discarded by database/sql
		return err
	}
	n.control()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit (%s): %w", tag, err)
	}
	return nil
}

func (d *myDB) Conn(ctx context.Context, tag string, fn func(Querier) error) error {
	c, n, release, err := d.acquire(ctx, tag)
	if err != nil {
		return err
	}
	defer release()
	return fn(myQuerier{c: c, tag: tag, n: n, conn: c})
}

// myConn is what a *sql.Conn and a *sql.Tx have in common.
type myConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type myQuerier struct {
	c   myConn
	tag string
	n   *Trips
	// inTx is set inside DB.Tx; conn is the connection outside one, when it is known (DB.Conn).
	inTx bool
	conn *sql.Conn
}

func (q myQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	q.n.statement()
	res, err := q.c.ExecContext(ctx, tagged(q.tag, query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q myQuerier) Query(ctx context.Context, query string, scan func(Rows) error, args ...any) error {
	q.n.statement()
	rows, err := q.c.QueryContext(ctx, tagged(q.tag, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

func (q myQuerier) QueryRow(ctx context.Context, query string, dest []any, args ...any) error {
	q.n.statement()
	rows, err := q.c.QueryContext(ctx, tagged(q.tag, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scanOne(rows, dest); err != nil {
		return err
	}
	return rows.Close()
}

// Batch sends the statements as one multi-statement query; outside a transaction they are
// wrapped in START TRANSACTION and COMMIT, and on an error a ROLLBACK (its own round trip)
// ends what the batch began, or the connection is discarded.
func (q myQuerier) Batch(ctx context.Context, stmts []Stmt, scan func(Rows) error) error {
	if err := batchOf(q.n, stmts); err != nil {
		return err
	}
	if !q.inTx && q.conn == nil {
		return errors.New("batch outside a transaction needs the connection of DB.Conn")
	}
	var b strings.Builder
	var args []any
	if !q.inTx {
		b.WriteString("START TRANSACTION;\n")
	}
	for i, s := range stmts {
		if i == len(stmts)-1 && !q.inTx {
			b.WriteString("COMMIT;\n")
		}
		b.WriteString(tagged(q.tag, s.SQL))
		if i < len(stmts)-1 {
			b.WriteString(";\n")
		}
		args = append(args, s.Args...)
	}
	err := q.batch(ctx, b.String(), scan, args)
	if err != nil && !q.inTx {
		q.n.control()
		if _, rerr := q.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			_ = q.conn.Raw(func(any) error { return driver.ErrBadConn }) // discards the connection
		}
	}
	return err
}

func (q myQuerier) batch(ctx context.Context, query string, scan func(Rows) error, args []any) error {
	rows, err := q.c.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// mysqlRetryable reports deadlocks (1213) and lock wait timeouts (1205), after which the whole
// transaction may run again.
func mysqlRetryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

func mysqlUniqueViolation(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}
