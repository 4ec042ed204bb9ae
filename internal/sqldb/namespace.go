package sqldb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// namespacePattern is what a namespace name may be: it is written into SQL unquoted-safe.
var namespacePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Namespace gives a second, empty copy of the tables beside the ones dsn names, on the same
// server and with the same credentials: on PostgreSQL a schema called name in dsn's database
// (or, when dsn's search_path names a schema of its own, as Isolate's DSNs do, that schema
// followed by "_" and name, so that the copy stays beside it), with the DSN returned setting
// search_path to it; on MySQL a database whose name is dsn's database followed by "_" and
// name. It creates the schema or database when it does not exist, through db (a pool opened
// on dsn), and returns the DSN that reaches it; migrate that pool as any other. name must
// match ^[a-z][a-z0-9_]{0,40}$.
func Namespace(ctx context.Context, db DB, dsn, name string) (string, error) {
	ns, err := namespaceName(dsn, name, db.Dialect())
	if err != nil {
		return "", err
	}
	out, err := createNamespace(ctx, db, dsn, ns, true)
	if err != nil {
		return "", fmt.Errorf("namespace %s: %w", name, err)
	}
	return out, nil
}

// Isolate creates the schema (PostgreSQL, in dsn's database) or the database (MySQL) called
// name, exactly, through db (a pool opened on dsn), and returns dsn pointing at it: on
// PostgreSQL with search_path set to it, on MySQL with it as the database. It is how a run
// keeps its tables out of a database it does not own. Unlike Namespace's, the schema or
// database must not exist yet. A user without the right to create it gets a *PrivilegeError
// naming the privilege it lacks. name must match ^[a-z][a-z0-9_]{0,40}$; DropIsolated removes
// what Isolate made.
func Isolate(ctx context.Context, db DB, dsn, name string) (string, error) {
	if !namespacePattern.MatchString(name) {
		return "", fmt.Errorf("isolate %q: must match %s", name, namespacePattern)
	}
	return createNamespace(ctx, db, dsn, name, false)
}

// createNamespace creates the schema or database ns (IF NOT EXISTS when existing is true) and
// returns the DSN that reaches it.
func createNamespace(ctx context.Context, db DB, dsn, ns string, existing bool) (string, error) {
	ifNot := ""
	if existing {
		ifNot = "IF NOT EXISTS "
	}
	switch db.Dialect() {
	case Postgres:
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse postgres url %q: %w", redact(dsn), err)
		}
		if _, err := db.Exec(ctx, "namespace", "CREATE SCHEMA "+ifNot+ns); err != nil {
			return "", fmt.Errorf("create schema %s: %w", ns, privilegeError(ctx, db, err, dsn))
		}
		q := u.Query()
		q.Set("search_path", ns)
		u.RawQuery = q.Encode()
		return u.String(), nil
	case MySQL:
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return "", err
		}
		cfg.DBName = ns
		if _, err := db.Exec(ctx, "namespace", "CREATE DATABASE "+ifNot+"`"+ns+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			return "", fmt.Errorf("create database %s: %w", ns, privilegeError(ctx, db, err, dsn))
		}
		return "mysql://" + cfg.FormatDSN(), nil
	}
	return "", errors.New("unknown dialect")
}

// PrivilegeError is a schema or database that could not be created because the user lacks the
// privilege to: PostgreSQL's CREATE on the database, MySQL's CREATE.
type PrivilegeError struct {
	User      string // the database user
	Privilege string // "CREATE"
	On        string // what it is needed on: "database test" (PostgreSQL); empty on MySQL
	Grant     string // a statement an administrator can run to give it
	Err       error  // the database's own error
}

func (e *PrivilegeError) Error() string {
	on := ""
	if e.On != "" {
		on = " on " + e.On
	}
	return fmt.Sprintf("user %q lacks the %s privilege%s (an administrator can give it: %s): %v", e.User, e.Privilege, on, e.Grant, e.Err)
}

func (e *PrivilegeError) Unwrap() error { return e.Err }

// privilegeError turns the database's refusal to create a schema or database for want of
// privilege (PostgreSQL 42501, MySQL 1044) into a *PrivilegeError; other errors are returned
// as they are. db is asked who the user is on MySQL, whose grants name a host too.
func privilegeError(ctx context.Context, db DB, err error, dsn string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		user, dbname := "", ""
		if cfg, perr := pgx.ParseConfig(dsn); perr == nil {
			user, dbname = cfg.User, cfg.Database
		}
		return &PrivilegeError{User: user, Privilege: "CREATE", On: "database " + dbname,
			Grant: fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s", pgx.Identifier{dbname}.Sanitize(), pgx.Identifier{user}.Sanitize()), Err: err}
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1044 {
		user, account := "", "'<user>'@'<host>'"
		if cfg, merr := mysqlConfig(dsn); merr == nil {
			user = cfg.User
		}
		var current string // user@host as the server matched it
		if db.QueryRow(ctx, "namespace", "SELECT CURRENT_USER()", []any{&current}) == nil {
			if u, h, ok := strings.Cut(current, "@"); ok {
				account = "'" + u + "'@'" + h + "'"
			}
		}
		return &PrivilegeError{User: user, Privilege: "CREATE",
			Grant: "GRANT ALL ON `stampede\\_run\\_%`.* TO " + account, Err: err}
	}
	return err
}

// namespaceName is the schema (PostgreSQL) or database (MySQL) Namespace uses.
func namespaceName(dsn, name string, d Dialect) (string, error) {
	if !namespacePattern.MatchString(name) {
		return "", fmt.Errorf("namespace %q: must match %s", name, namespacePattern)
	}
	if d != MySQL {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("namespace %s: parse postgres url %q: %w", name, redact(dsn), err)
		}
		if base := u.Query().Get("search_path"); namespacePattern.MatchString(base) {
			return base + "_" + name, nil
		}
		return name, nil
	}
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("namespace %s: %w", name, err)
	}
	if cfg.DBName == "" || strings.ContainsAny(cfg.DBName, "`\x00") {
		return "", fmt.Errorf("namespace %s: MySQL DSN %q names no database, or one that cannot be quoted", name, redact(dsn))
	}
	return cfg.DBName + "_" + name, nil
}

func mysqlConfig(dsn string) (*mysql.Config, error) {
	d, err := MySQLDSN(dsn)
	if err != nil {
		return nil, err
	}
	return mysql.ParseDSN(strings.TrimPrefix(d, "mysql://"))
}

// DropNamespace removes the copy Namespace gives for dsn and name, when it exists: the schema
// (with everything in it) or the database.
func DropNamespace(ctx context.Context, db DB, dsn, name string) error {
	ns, err := namespaceName(dsn, name, db.Dialect())
	if err != nil {
		return err
	}
	return dropNamespace(ctx, db, ns)
}

// DropIsolated removes the schema (with everything in it) or the database Isolate created
// under name, when it exists.
func DropIsolated(ctx context.Context, db DB, name string) error {
	if !namespacePattern.MatchString(name) {
		return fmt.Errorf("drop %q: must match %s", name, namespacePattern)
	}
	return dropNamespace(ctx, db, name)
}

func dropNamespace(ctx context.Context, db DB, ns string) error {
	stmt := "DROP SCHEMA IF EXISTS " + ns + " CASCADE"
	if db.Dialect() == MySQL {
		stmt = "DROP DATABASE IF EXISTS `" + ns + "`"
	}
	if _, err := db.Exec(ctx, "namespace", stmt); err != nil {
		return fmt.Errorf("drop namespace %s: %w", ns, err)
	}
	return nil
}
