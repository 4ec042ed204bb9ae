package run

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/infra"
	"stampede/infra/local"
	"stampede/internal/sqldb"
	"stampede/reports"
)

// versionProbe bounds how long asking a service for its version may take.
const versionProbe = 5 * time.Second

// provenance describes where the summary's numbers come from: this stampede, the scenario
// file, the seeds of the repetitions, the machine, and the versions of the services the runs
// used (asked of each service; one that does not answer is left out).
func provenance(ctx context.Context, o Options, svc *infra.Services, seeds []int64) *reports.Provenance {
	src, _ := os.ReadFile(o.Scenario) // read once already; a file gone since leaves no hash
	p := reports.NewProvenance(o.Version, src, seeds...)
	if svc == nil {
		return &p
	}
	if o.Env == "local" && o.Services == nil {
		if _, _, text, err := local.ResolveStorage(o.Storage); err == nil {
			p.LocalStorage = text
		}
	}
	ctx, cancel := context.WithTimeout(ctx, versionProbe)
	defer cancel()
	p.Services = map[string]string{}
	for _, db := range o.DBs {
		dsn, err := svc.DB(db)
		if err != nil {
			continue
		}
		if v := dbVersion(ctx, dsn); v != "" {
			p.Services[db] = v
		}
	}
	if svc.RedisURL != "" {
		if v := redisVersion(ctx, svc.RedisURL); v != "" {
			p.Services["redis"] = v
		}
	}
	return &p
}

// dbVersion is the database server's version ("PostgreSQL 15.8 (Debian 15.8-0+deb12u1)",
// "10.11.6-MariaDB-0+deb12u1"), "" when it cannot be read.
func dbVersion(ctx context.Context, dsn string) string {
	db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 1})
	if err != nil {
		return ""
	}
	defer db.Close()
	var v string
	q := "SELECT version()"
	if db.Dialect() == sqldb.MySQL {
		q = "SELECT VERSION()"
	}
	if err := db.QueryRow(ctx, "read", q, []any{&v}); err != nil {
		return ""
	}
	// PostgreSQL adds the compiler and the platform: keep "PostgreSQL 15.8 (Debian ...)".
	if i := strings.Index(v, " on "); i > 0 && strings.HasPrefix(v, "PostgreSQL") {
		v = v[:i]
	}
	return v
}

// redisVersion is the Redis server's redis_version, "" when it cannot be read.
func redisVersion(ctx context.Context, url string) string {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return ""
	}
	c := redis.NewClient(opts)
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return ""
}
