package run

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stampede/internal/exitcode"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/reports"
)

// TestRunExternalServicesRefuseProcessFaults runs against PostgreSQL and Redis the run does not
// own (the shared services), with a schedule of Redis restart and pause: neither can be done to
// a Redis we did not start, so the run goes on without them, and every report says so.
func TestRunExternalServicesRefuseProcessFaults(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second); err != nil {
		testsvc.Unavailable(t, "no shared Redis on 127.0.0.1:6379: "+err.Error())
	} else {
		c.Close()
	}
	sum, dir := runE2E(t, Options{Scenario: "testdata/external.yaml", Strategies: []string{"status-expiry"}, DBs: []string{"postgres"},
		Env: "external", PG: testsvc.PGAdminURL(), Redis: "redis://127.0.0.1:6379/0"})
	if len(sum.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(sum.Runs))
	}
	r := sum.Runs[0]
	if r.Error != "" || r.Bookings == 0 {
		t.Fatalf("run error %q with %d bookings: the herd should run without the faults", r.Error, r.Bookings)
	}
	if len(r.Faults) != 2 {
		t.Fatalf("faults %+v, want the two scheduled", r.Faults)
	}
	for _, f := range r.Faults {
		if !strings.Contains(f.Error, "not supported by this target") || !strings.Contains(f.Error, "Redis process") {
			t.Errorf("%s: error %q, want it to say a Redis process of the run's own is needed", f.Fault, f.Error)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**2 scheduled faults were not injected**", "redis-restart@0s (not injected)", "| redis-pause | "} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if html, _ := os.ReadFile(filepath.Join(dir, reports.HTMLFile)); !strings.Contains(string(html), "not supported by this target") {
		t.Errorf("report.html does not show why the faults were not injected")
	}
}

// userDatabases are a PostgreSQL and a MySQL database of the shared servers standing for the
// user's own, fresh for the test and each holding a table of the user's with a row in it.
func userDatabases(t *testing.T) (pg, my string) {
	t.Helper()
	pg, my = testsvc.PG(t), testsvc.MySQL(t)
	for _, dsn := range []string{pg, my} {
		db := openDB(t, dsn)
		for _, q := range []string{"CREATE TABLE mine (id INT PRIMARY KEY)", "INSERT INTO mine (id) VALUES (1)"} {
			if _, err := db.Exec(context.Background(), "test", q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return pg, my
}

func openDB(t *testing.T, dsn string) sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), dsn, sqldb.Options{MaxConns: 1})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(db.Close)
	return db
}

// strings1 runs q and returns its one string column.
func strings1(t *testing.T, db sqldb.DB, q string, args ...any) []string {
	t.Helper()
	var out []string
	err := db.Query(context.Background(), "test", q, func(rows sqldb.Rows) error {
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	}, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// sessionID is the database's id of the session of db, a pool of one connection: another id
// later means the connection was ended and the pool opened another.
func sessionID(t *testing.T, db sqldb.DB) string {
	t.Helper()
	q := "SELECT pg_backend_pid()::text"
	if db.Dialect() == sqldb.MySQL {
		q = "SELECT CAST(CONNECTION_ID() AS CHAR)"
	}
	ids := strings1(t, db, q)
	if len(ids) != 1 {
		t.Fatalf("%s: %q, want one id", q, ids)
	}
	return ids[0]
}

// userTables lists what the user's database holds: on PostgreSQL every schema and every table
// of the database, on MySQL the tables of the database the DSN names.
func userTables(t *testing.T, db sqldb.DB) []string {
	t.Helper()
	if db.Dialect() == sqldb.MySQL {
		return strings1(t, db, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name")
	}
	return append(strings1(t, db, "SELECT 'schema ' || nspname FROM pg_namespace ORDER BY nspname"),
		strings1(t, db, "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")...)
}

// existing returns which of names exist as schemas (PostgreSQL) or databases (MySQL).
func existing(t *testing.T, db sqldb.DB, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		q := "SELECT nspname FROM pg_namespace WHERE nspname = ?"
		if db.Dialect() == sqldb.MySQL {
			q = "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?"
		}
		out = append(out, strings1(t, db, q, n)...)
	}
	return out
}

// TestRunExternalLeavesTheDatabaseAsItWas runs against a PostgreSQL and a MySQL database of the
// user's, with a shadow strategy (which makes a copy of the inventory beside the run's) and a
// fault that connects to the database: the user's databases hold the same schemas and tables
// afterwards, the run's own schema and database (and the shadow's beside them) are gone, and
// the summary and the reports name them as dropped.
func TestRunExternalLeavesTheDatabaseAsItWas(t *testing.T) {
	pg, my := userDatabases(t)
	pgdb, mydb := openDB(t, pg), openDB(t, my)
	beforePG, beforeMy := userTables(t, pgdb), userTables(t, mydb)
	// The user's own connections (these pools of one) stay open through the run: db-conn-kill
	// ends the run's server's connections only, not another client's of the same database.
	pgSession, mySession := sessionID(t, pgdb), sessionID(t, mydb)

	sum, dir := runE2E(t, Options{Scenario: "testdata/external-own.yaml", Strategies: []string{"status-expiry"},
		DBs: []string{"postgres", "mysql"}, Env: "external", PG: pg, MySQL: my, Shadow: "skip-locked"})
	if after := sessionID(t, pgdb); after != pgSession {
		t.Errorf("the user's PostgreSQL connection (session %s) was ended during the run (now session %s), want it left alone", pgSession, after)
	}
	if after := sessionID(t, mydb); after != mySession {
		t.Errorf("the user's MySQL connection (session %s) was ended during the run (now session %s), want it left alone", mySession, after)
	}

	for _, r := range sum.Runs {
		if r.Error != "" || r.Bookings == 0 {
			t.Errorf("%s on %s: error %q with %d bookings, want a run that booked seats", r.Strategy, r.DB, r.Error, r.Bookings)
		}
		if len(r.Faults) != 1 || r.Faults[0].Error != "" {
			t.Errorf("%s on %s: faults %+v, want db-conn-kill injected through the run's DSN", r.Strategy, r.DB, r.Faults)
		}
	}
	if after := userTables(t, pgdb); !slices.Equal(after, beforePG) {
		t.Errorf("the user's PostgreSQL database holds %q after the run, want %q as before", after, beforePG)
	}
	if after := userTables(t, mydb); !slices.Equal(after, beforeMy) {
		t.Errorf("the user's MySQL database holds %q after the run, want %q as before", after, beforeMy)
	}
	if len(sum.Storage) != 2 {
		t.Fatalf("summary storage %+v, want the run's own schema and database", sum.Storage)
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, reports.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sum.Storage {
		if !strings.HasPrefix(st.Name, "stampede_run_") || st.Kept || st.DropError != "" {
			t.Errorf("storage %+v, want a stampede_run_ %s dropped", st, st.Kind)
		}
		db := map[string]sqldb.DB{"postgres": pgdb, "mysql": mydb}[st.DB]
		if left := existing(t, db, st.Name, st.Name+"_shadow"); len(left) > 0 {
			t.Errorf("%s: %q still exist after the run, want the run's own and the shadow's dropped", st.DB, left)
		}
		for _, report := range []string{string(md), string(html)} {
			if !strings.Contains(report, st.Line()) || !strings.Contains(st.Line(), "dropped") {
				t.Errorf("a report lacks %q", st.Line())
			}
		}
	}
}

// TestRunExternalKeep keeps the run's own schema and database (Keep): they hold the run's
// events afterwards, and the summary says they were kept.
func TestRunExternalKeep(t *testing.T) {
	pg, my := userDatabases(t)
	pgdb, mydb := openDB(t, pg), openDB(t, my)
	sum, _ := runE2E(t, Options{Scenario: "testdata/external-own.yaml", Strategies: []string{"status-expiry"},
		DBs: []string{"postgres", "mysql"}, Env: "external", PG: pg, MySQL: my, Keep: true})
	if len(sum.Storage) != 2 {
		t.Fatalf("summary storage %+v, want the run's own schema and database", sum.Storage)
	}
	for _, st := range sum.Storage {
		db := map[string]sqldb.DB{"postgres": pgdb, "mysql": mydb}[st.DB]
		t.Cleanup(func() {
			if _, err := db.Exec(context.Background(), "test", st.DropStatement()); err != nil {
				t.Errorf("%s: %v", st.DropStatement(), err)
			}
		})
		if !st.Kept || !strings.Contains(st.Line(), "kept") {
			t.Errorf("storage %+v (%s), want it kept", st, st.Line())
		}
		events := "SELECT id FROM " + st.Name + ".events"
		if st.DB == "mysql" {
			events = "SELECT id FROM `" + st.Name + "`.events"
		}
		if ids := strings1(t, db, events); len(ids) == 0 {
			t.Errorf("%s: the kept %s %s holds no events, want the run's", st.DB, st.Kind, st.Name)
		}
	}
	if ids := strings1(t, pgdb, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'events'"); len(ids) > 0 {
		t.Errorf("the user's public schema has an events table, want the run's tables kept apart")
	}
}

// TestRunExternalWithoutCreatePrivilege runs as a PostgreSQL role and a MySQL user that may
// connect to the user's database but not create a schema or database: the run stops before any
// load with an error naming the privilege, which `stampede run` exits 4 on (not a usage
// error), and leaves nothing behind.
func TestRunExternalWithoutCreatePrivilege(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end runs skipped in -short mode")
	}
	pg, my := userDatabases(t)
	user := "stampede_nocreate_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ctx := context.Background()

	pgAdmin := openDB(t, pg)
	if _, err := pgAdmin.Exec(ctx, "test", "CREATE ROLE "+user+" LOGIN"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pgAdmin.Exec(ctx, "test", "DROP ROLE IF EXISTS "+user); err != nil {
			t.Errorf("drop role %s: %v", user, err)
		}
	})
	pgURL, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	pgURL.User = url.User(user)

	myAdmin := openDB(t, my)
	myName := strings1(t, myAdmin, "SELECT DATABASE()")[0]
	for _, q := range []string{"CREATE USER '" + user + "'@'%'", "GRANT SELECT ON `" + myName + "`.* TO '" + user + "'@'%'"} {
		if _, err := myAdmin.Exec(ctx, "test", q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := myAdmin.Exec(ctx, "test", "DROP USER IF EXISTS '"+user+"'@'%'"); err != nil {
			t.Errorf("drop user %s: %v", user, err)
		}
	})
	myDSN := strings.Replace(my, "mysql://root@", "mysql://"+user+"@", 1)
	if myDSN == my {
		t.Fatalf("cannot put the user into %s", my)
	}

	for _, tt := range []struct {
		db, dsn, privilege string
		admin              sqldb.DB
	}{
		{"postgres", pgURL.String(), "CREATE privilege on database " + strings.TrimPrefix(pgURL.Path, "/"), pgAdmin},
		{"mysql", myDSN, "CREATE privilege", myAdmin},
	} {
		t.Run(tt.db, func(t *testing.T) {
			before := userTables(t, tt.admin)
			o := Options{Scenario: "testdata/external-own.yaml", Strategies: []string{"status-expiry"}, DBs: []string{tt.db},
				Env: "external", Binary: stampedeBin, Out: t.TempDir()}
			if tt.db == "postgres" {
				o.PG = tt.dsn
			} else {
				o.MySQL = tt.dsn
			}
			var log strings.Builder
			o.Progress = &log
			sum, _, err := Run(ctx, o)
			var pe *sqldb.PrivilegeError
			if !errors.As(err, &pe) || sum != nil {
				t.Fatalf("Run = %v, %v; want no summary and a *sqldb.PrivilegeError", sum, err)
			}
			t.Logf("Run: %v", err)
			want := `user "` + user + `" lacks the ` + tt.privilege
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q, want it to say %q", err, want)
			}
			var ie *InputError
			if errors.As(err, &ie) || exitcode.Of(err) != exitcode.Harness {
				t.Errorf("error %v is a usage error or exits %d, want exit %d (the harness could not do its job)", err, exitcode.Of(err), exitcode.Harness)
			}
			if strings.Contains(log.String(), "==") || strings.Contains(log.String(), "herd") {
				t.Errorf("progress shows a run under way, want none before the privilege is there:\n%s", log.String())
			}
			if after := userTables(t, tt.admin); !slices.Equal(after, before) {
				t.Errorf("the user's database holds %q after the refused run, want %q", after, before)
			}
		})
	}
}

// cancelOn is a progress writer that cancels a run when a line contains its text.
type cancelOn struct {
	text   string
	cancel context.CancelFunc
	log    strings.Builder
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return c.log.Write(p)
}

// TestRunExternalInterruptedDropsItsOwn interrupts a run (as Ctrl-C does) in the middle of its
// herd, once its fault is injected: the run's own schema, which the server is writing into, is
// dropped all the same, and the summary says so.
func TestRunExternalInterruptedDropsItsOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end runs skipped in -short mode")
	}
	pg, _ := userDatabases(t)
	pgdb := openDB(t, pg)
	before := userTables(t, pgdb)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	progress := &cancelOn{text: "fault db-conn-kill injected", cancel: cancel}
	sum, _, err := Run(ctx, Options{Scenario: "testdata/external-own.yaml", Strategies: []string{"status-expiry"},
		DBs: []string{"postgres"}, Env: "external", PG: pg, Binary: stampedeBin, Out: t.TempDir(), Progress: progress})
	t.Logf("progress:\n%s", progress.log.String())
	if err != nil || sum == nil || !sum.Interrupted {
		t.Fatalf("Run = %+v, %v; want an interrupted summary", sum, err)
	}
	if len(sum.Storage) != 1 || sum.Storage[0].Kept || sum.Storage[0].DropError != "" {
		t.Fatalf("storage %+v, want the run's own schema dropped", sum.Storage)
	}
	if left := existing(t, pgdb, sum.Storage[0].Name); len(left) > 0 {
		t.Errorf("schema %s still exists after the interrupted run, want it dropped", sum.Storage[0].Name)
	}
	if after := userTables(t, pgdb); !slices.Equal(after, before) {
		t.Errorf("the user's database holds %q after the interrupted run, want %q", after, before)
	}
}
