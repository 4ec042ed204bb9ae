package chaos

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"stampede/internal/sqldb"
)

var dbConnKillSpec = Spec{
	Name:  "db-conn-kill",
	About: "terminate the server's database connections: pg_terminate_backend on PostgreSQL (those of the application_name its DSN names, else its database's), KILL on MySQL (its database's)",
	Needs: "a SQL connection to the server's database with the right to end other sessions",
	Params: []Param{{Name: "fraction", Kind: "float", Default: "1",
		About: "fraction of the connections to end, chosen with the run's seed"}},
}

type dbConnKill struct{}

func (dbConnKill) Name() string { return dbConnKillSpec.Name }

func (dbConnKill) Inject(ctx context.Context, t *Target, p Params) (func(context.Context) error, error) {
	if t.DB == "" {
		return nil, unsupported("db-conn-kill", "no database DSN")
	}
	// The server's connections go by the application name of its DSN when it has one (the
	// reference server's do, sut/reference): only those are ended, not other clients of a
	// database the run shares with them (--env external keeps its tables in a schema of the
	// user's database). This connection goes by a name of its own.
	own, app := t.DB, sqldb.Application(t.DB)
	if app != "" {
		var err error
		if own, err = sqldb.WithApplication(t.DB, "stampede_chaos"); err != nil {
			return nil, fmt.Errorf("db-conn-kill: %w", err)
		}
	}
	db, err := sqldb.Open(ctx, own, sqldb.Options{MaxConns: 1})
	if err != nil {
		return nil, fmt.Errorf("db-conn-kill: %w", err)
	}
	defer db.Close()
	list := "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
	var args []any
	if app != "" {
		list += " AND application_name = ?"
		args = append(args, app)
	}
	list += " ORDER BY pid"
	kill := "SELECT pg_terminate_backend(?)"
	if db.Dialect() == sqldb.MySQL {
		// The server's database: under --env external the run's own (run.isolate).
		list = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() ORDER BY ID"
	}
	connections := func() ([]int64, error) {
		var ids []int64
		err := db.Query(ctx, "chaos", list, func(rows sqldb.Rows) error {
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		}, args...)
		if err != nil {
			return nil, fmt.Errorf("db-conn-kill: list connections: %w", err)
		}
		return ids, nil
	}
	ids, err := connections()
	if err != nil {
		return nil, err
	}
	n := int(float64(len(ids))*p.Float("fraction") + 0.5)
	ended := map[int64]bool{}
	for _, i := range t.randPick(len(ids), n) {
		ended[ids[i]] = true
		if db.Dialect() == sqldb.MySQL {
			// KILL takes no placeholder; the id is an integer we read ourselves.
			_, err = db.Exec(ctx, "chaos", "KILL "+strconv.FormatInt(ids[i], 10))
		} else {
			var ok bool
			err = db.QueryRow(ctx, "chaos", kill, []any{&ok}, ids[i])
		}
		if err != nil && db.Dialect() == sqldb.MySQL {
			continue // the connection ended on its own meanwhile (unknown thread id)
		}
		if err != nil {
			return nil, fmt.Errorf("db-conn-kill: end connection %d: %w", ids[i], err)
		}
	}
	// Both pg_terminate_backend and KILL only ask a session to end; it leaves a moment later.
	// The fault is in place once they have gone: Inject returning is what lets requests parked
	// at a trigger's failpoint go on (Schedule), and they must meet the ended connections. A
	// session that lingers past endWait is an error rather than a silent miss.
	deadline := time.Now().Add(endWait)
	for {
		left, err := connections()
		if err != nil {
			return nil, err
		}
		var still []int64
		for _, id := range left {
			if ended[id] {
				still = append(still, id)
			}
		}
		if len(still) == 0 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("db-conn-kill: connections %v still open %v after they were ended", still, endWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// endWait bounds how long db-conn-kill waits for the sessions it ended to leave.
const endWait = 5 * time.Second
