package reference

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"stampede/internal/sqldb"
	"stampede/server"
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
		// A shadow strategy's copy of the inventory is a database beside this one: fresh too.
		if err := sqldb.DropNamespace(ctx, db, dsn, server.ShadowNamespace); err != nil {
			return "", err
		}
	}
	return dsn, nil
}

// flushRedis empties the Redis at u: a run starts without the holds, locks and queues of the
// runs before it.
func flushRedis(ctx context.Context, u string) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("empty redis: %w", err)
	}
	return nil
}

// hostPort finds host:port in a URL (postgres://, redis://, http://) or a MySQL DSN (tcp(...)).
func hostPort(dsn string) string {
	if i := strings.Index(dsn, "tcp("); i >= 0 {
		if j := strings.Index(dsn[i:], ")"); j > 0 {
			return dsn[i+4 : i+j]
		}
	}
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		return u.Host
	}
	return ""
}
