package sqldb

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// namespacePattern is what a namespace name may be: it is written into SQL unquoted-safe.
var namespacePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Namespace gives a second, empty copy of the tables beside the ones dsn names, on the same
// server and with the same credentials: on PostgreSQL a schema called name in dsn's database
// (the DSN returned sets search_path to it), on MySQL a database whose name is dsn's database
// followed by "_" and name. It creates the schema or database when it does not exist, through
// db (a pool opened on dsn), and returns the DSN that reaches it; migrate that pool as any
// other. name must match ^[a-z][a-z0-9_]{0,40}$.
func Namespace(ctx context.Context, db DB, dsn, name string) (string, error) {
	ns, err := namespaceName(dsn, name, db.Dialect())
	if err != nil {
		return "", err
	}
	switch db.Dialect() {
	case Postgres:
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("namespace %s: parse postgres url %q: %w", name, redact(dsn), err)
		}
		if _, err := db.Exec(ctx, "namespace", "CREATE SCHEMA IF NOT EXISTS "+ns); err != nil {
			return "", fmt.Errorf("namespace %s: create schema: %w", name, err)
		}
		q := u.Query()
		q.Set("search_path", ns)
		u.RawQuery = q.Encode()
		return u.String(), nil
	case MySQL:
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return "", fmt.Errorf("namespace %s: %w", name, err)
		}
		cfg.DBName = ns
		if _, err := db.Exec(ctx, "namespace", "CREATE DATABASE IF NOT EXISTS `"+cfg.DBName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			return "", fmt.Errorf("namespace %s: create database %s: %w", name, cfg.DBName, err)
		}
		return "mysql://" + cfg.FormatDSN(), nil
	}
	return "", fmt.Errorf("namespace %s: unknown dialect", name)
}

// namespaceName is the schema (PostgreSQL) or database (MySQL) Namespace uses.
func namespaceName(dsn, name string, d Dialect) (string, error) {
	if !namespacePattern.MatchString(name) {
		return "", fmt.Errorf("namespace %q: must match %s", name, namespacePattern)
	}
	if d != MySQL {
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
	stmt := "DROP SCHEMA IF EXISTS " + ns + " CASCADE"
	if db.Dialect() == MySQL {
		stmt = "DROP DATABASE IF EXISTS `" + ns + "`"
	}
	if _, err := db.Exec(ctx, "namespace", stmt); err != nil {
		return fmt.Errorf("drop namespace %s: %w", ns, err)
	}
	return nil
}
