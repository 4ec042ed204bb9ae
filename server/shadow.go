package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
	"stampede/server/api"
	"stampede/strategies"
)

// ShadowNamespace names the shadow's copy of the inventory: the schema shadow of the primary's
// PostgreSQL database, or the MySQL database <db>_shadow (sqldb.Namespace); its Redis keys are
// the server's KeyPrefix followed by ShadowNamespace and a colon.
const ShadowNamespace = "shadow"

// errNoShadow answers GET /admin/shadow on a server run without --shadow.
var errNoShadow = &api.Error{Status: http.StatusNotFound, Code: api.CodeInvalidRequest, Message: "shadow mode is off on this server (serve --shadow NAME)"}

// handleShadow is GET /admin/shadow: the shadow report (internal/shadowreport.Report).
func (s *Server) handleShadow(w http.ResponseWriter, r *http.Request) {
	if s.shadow == nil {
		writeError(w, r, errNoShadow)
		return
	}
	s.shadow.Handle(w, r)
}

// openShadow builds the shadow strategy of o on its own copy of the inventory beside db (a
// namespace of the same server, migrated) and Redis keys of its own. close releases what it
// opened.
func openShadow(ctx context.Context, o Options, db sqldb.DB, rdb *redis.Client, logger *slog.Logger) (st strategies.Strategy, store *strategies.Store, close func(), err error) {
	dsn, err := sqldb.Namespace(ctx, db, o.DB, ShadowNamespace)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("shadow %s: %w", o.Shadow, err)
	}
	sdb, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: o.PoolSize})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("shadow %s: open its database: %w", o.Shadow, err)
	}
	if err := strategies.Migrate(ctx, sdb); err != nil {
		sdb.Close()
		return nil, nil, nil, fmt.Errorf("shadow %s: migrate its database: %w", o.Shadow, err)
	}
	// An unsafe strategy may be a shadow: nobody is sold what it decides.
	st, err = strategies.New(o.Shadow, strategies.Deps{
		DB: sdb, Redis: rdb, KeyPrefix: o.KeyPrefix + ShadowNamespace + ":", HoldTTL: o.HoldTTL,
		SweepInterval: o.SweepInterval, HoldGroups: o.HoldBatches, Logger: logger.With("role", "shadow"), Failpoints: failpoint.New(),
	}, true)
	if err != nil {
		sdb.Close()
		return nil, nil, nil, err
	}
	return st, strategies.NewStore(sdb, nil), func() {
		if c, ok := st.(strategies.Closer); ok {
			if err := c.Close(); err != nil {
				logger.Warn("close shadow strategy", "err", err)
			}
		}
		sdb.Close()
	}, nil
}
