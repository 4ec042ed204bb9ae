package run

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"

	"stampede/internal/sqldb"
)

// freshDatabase (re)creates the named database on the server admin points at and returns its
// DSN: every strategy starts from an empty schema.
func freshDatabase(ctx context.Context, admin, name string) (string, error) {
	db, err := sqldb.Open(ctx, admin, sqldb.Options{MaxConns: 1})
	if err != nil {
		return "", err
	}
	defer db.Close()
	var dsn string
	switch db.Dialect() {
	case sqldb.Postgres:
		if _, err := db.Exec(ctx, "setup", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop database %s: %w", name, err)
		}
		if _, err := db.Exec(ctx, "setup", "CREATE DATABASE "+name); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
		u, err := url.Parse(admin)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		dsn = u.String()
	case sqldb.MySQL:
		if _, err := db.Exec(ctx, "setup", "DROP DATABASE IF EXISTS "+name); err != nil {
			return "", fmt.Errorf("drop database %s: %w", name, err)
		}
		if _, err := db.Exec(ctx, "setup", "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
		cfg, err := mysql.ParseDSN(strings.TrimPrefix(admin, "mysql://"))
		if err != nil {
			return "", err
		}
		cfg.DBName = name
		dsn = "mysql://" + cfg.FormatDSN()
	}
	return dsn, nil
}
