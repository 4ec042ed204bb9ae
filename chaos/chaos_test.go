package chaos

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/history"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/sut"
)

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func inject(t *testing.T, name string, tg *Target, p map[string]any) func(context.Context) error {
	t.Helper()
	m := map[string]any{"fault": name, "at": "0s"}
	for k, v := range p {
		m[k] = v
	}
	_, spec, _ := Lookup(name)
	if spec.Window {
		if _, ok := m["for"]; !ok {
			m["for"] = "1s"
		}
	}
	es, err := ParseEntries([]map[string]any{m})
	if err != nil {
		t.Fatalf("ParseEntries(%v): %v", m, err)
	}
	f, _, _ := Lookup(name)
	rec, err := f.Inject(context.Background(), tg, es[0].Params)
	if err != nil {
		t.Fatalf("%s: Inject: %v", name, err)
	}
	return rec
}

func TestRedisRestartLosesEverythingAndComesBack(t *testing.T) {
	proc, url := testsvc.Redis(t)
	c := redisClient(t, url)
	ctx := context.Background()
	if err := c.Set(ctx, "lock:A-1-1", "h1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	inject(t, "redis-restart", &Target{Handles: sut.Handles{Redis: proc}}, nil)
	if err := c.Get(ctx, "lock:A-1-1").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after restart = %v, want redis.Nil (empty Redis)", err)
	}
	if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatalf("SET after restart: %v", err)
	}
}

func TestRedisFlush(t *testing.T) {
	_, url := testsvc.Redis(t)
	c := redisClient(t, url)
	ctx := context.Background()
	c.Set(ctx, "k", "v", 0)
	inject(t, "redis-flush", &Target{Handles: sut.Handles{RedisURL: url}}, nil)
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("DBSIZE after flush = %d, want 0", n)
	}
}

func TestRedisPauseHangsThenRecovers(t *testing.T) {
	proc, url := testsvc.Redis(t)
	c := redisClient(t, url)
	rec := inject(t, "redis-pause", &Target{Handles: sut.Handles{Redis: proc}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Ping(ctx).Err()
	cancel()
	if err == nil {
		t.Fatal("PING answered while Redis was paused")
	}
	if err := rec(context.Background()); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after resume: %v", err)
	}
}

func TestUnsupportedTargets(t *testing.T) {
	for _, name := range []string{"redis-restart", "redis-pause", "redis-flush", "psp-delay", "pool-exhaustion", "db-conn-kill", "net-latency", "server-crash"} {
		t.Run(name, func(t *testing.T) {
			f, spec, _ := Lookup(name)
			p, _ := spec.resolve(nil)
			_, err := f.Inject(context.Background(), &Target{}, p)
			if !errors.Is(err, sut.ErrUnsupported) {
				t.Fatalf("Inject on an empty target = %v, want ErrUnsupported", err)
			}
		})
	}
}

func TestDBConnKill(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := testsvc.DB(t, dialect)
			db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// Hold four connections open so there is something to kill.
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = db.Exec(ctx, "test", "SELECT 1")
				}()
			}
			wg.Wait()
			before := sessions(t, dsn)
			if len(before) < 1 {
				t.Fatalf("no sessions to kill")
			}
			inject(t, "db-conn-kill", &Target{Handles: sut.Handles{DB: dsn}, Rand: rand.New(rand.NewPCG(1, 1))}, nil)
			after := sessions(t, dsn)
			for id := range before {
				if after[id] {
					t.Fatalf("session %d survived db-conn-kill (before %v, after %v)", id, before, after)
				}
			}
			var ok bool
			for i := 0; i < 10 && !ok; i++ {
				_, err := db.Exec(ctx, "test", "SELECT 1")
				ok = err == nil
			}
			if !ok {
				t.Fatal("the pool did not recover after db-conn-kill")
			}
		})
	}
}

// TestDBConnKillSparesOtherClients ends the server's connections only: on PostgreSQL those of
// the application name its DSN gives (the reference server's, sut/reference), not another
// client's in the same database, as under --env external, where the run's schema is in the
// user's database; on MySQL those of the server's database (the run's own under --env
// external), not a client's of the user's database on the same server.
func TestDBConnKillSparesOtherClients(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			base := testsvc.DB(t, dialect)
			other := base // the bystander's database: the same on PostgreSQL
			if dialect == "mysql" {
				other = testsvc.MySQLAdminDSN()
			}
			dsn, err := sqldb.WithApplication(base, "stampede_server_test")
			if err != nil {
				t.Fatal(err)
			}
			server := openHeld(t, dsn, 3)
			bystander := openHeld(t, other, 1)
			serverIDs, otherIDs := sessionIDs(t, server, 3), sessionIDs(t, bystander, 1)

			inject(t, "db-conn-kill", &Target{Handles: sut.Handles{DB: dsn}, Rand: rand.New(rand.NewPCG(1, 1))}, nil)
			for _, id := range serverIDs {
				if sessions(t, dsn)[id] {
					t.Errorf("server session %d survived db-conn-kill", id)
				}
			}
			if id := otherIDs[0]; !sessions(t, other)[id] {
				t.Errorf("session %d of another client of the %s database was ended too, want only the server's", id, dialect)
			}
		})
	}
}

// openHeld opens a pool of n connections on dsn and makes it open all n.
func openHeld(t *testing.T, dsn string, n int) sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), dsn, sqldb.Options{MaxConns: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// sessionIDs holds n connections of db at once and returns their session ids.
func sessionIDs(t *testing.T, db sqldb.DB, n int) []int64 {
	t.Helper()
	q := "SELECT pg_backend_pid()"
	if db.Dialect() == sqldb.MySQL {
		q = "SELECT CONNECTION_ID()"
	}
	ids := make([]int64, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	all := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Conn(context.Background(), "test", func(c sqldb.Querier) error {
				ready.Done()
				<-all // every connection held at once: n distinct sessions
				return c.QueryRow(context.Background(), q, []any{&ids[i]})
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	ready.Wait()
	close(all)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// sessions lists the database's other sessions, from a connection of its own.
func sessions(t *testing.T, dsn string) map[int64]bool {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, dsn, sqldb.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
	if db.Dialect() == sqldb.MySQL {
		q = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
	}
	out := map[int64]bool{}
	err = db.Query(ctx, "test", q, func(rows sqldb.Rows) error {
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out[id] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNetFaultsThroughProxy(t *testing.T) {
	_, url := testsvc.Redis(t)
	opt, _ := redis.ParseURL(url)
	ps := NewProxies()
	defer ps.Close()
	px, err := ps.Start("redis", opt.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c := redisClient(t, "redis://"+px.Addr()+"/0")
	tg := &Target{Handles: sut.Handles{Proxies: map[string]sut.Proxy{"redis": px}}}
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING through the proxy: %v", err)
	}

	t.Run("latency", func(t *testing.T) {
		rec := inject(t, "net-latency", tg, map[string]any{"target": "redis", "latency": "150ms"})
		start := time.Now()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("PING took %s with 150ms each way, want >= 250ms", d)
		}
		if err := rec(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("partition", func(t *testing.T) {
		rec := inject(t, "net-partition", tg, map[string]any{"target": "redis"})
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			t.Fatal("PING answered through a partition")
		}
		if err := rec(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		rec := inject(t, "net-reset", tg, map[string]any{"target": "redis"})
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatal("PING answered while every connection is reset")
		}
		if err := rec(ctx); err != nil {
			t.Fatal(err)
		}
	})
	// After every recovery the link works again.
	var err2 error
	for i := 0; i < 5; i++ {
		if err2 = c.Ping(ctx).Err(); err2 == nil {
			break
		}
	}
	if err2 != nil {
		t.Fatalf("PING after the faults recovered: %v", err2)
	}
	nf := netFault{name: "net-latency"}
	if _, err := nf.Inject(ctx, tg, Params{"target": "db", "latency": "1ms"}); !errors.Is(err, sut.ErrUnsupported) {
		t.Fatalf("net-latency on an unproxied link = %v, want ErrUnsupported", err)
	}
}

func TestParseEntriesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"no fault", map[string]any{"at": "1s"}, "fault: missing"},
		{"unknown fault", map[string]any{"fault": "meteor", "at": "1s"}, `"meteor": unknown`},
		{"no at", map[string]any{"fault": "redis-restart"}, "at: missing"},
		{"bad at", map[string]any{"fault": "redis-restart", "at": 20}, "at: want a duration with a unit"},
		{"window without for", map[string]any{"fault": "psp-delay", "at": "1s"}, "for: psp-delay lasts a window"},
		{"instant with for", map[string]any{"fault": "redis-restart", "at": "1s", "for": "2s"}, "instantaneous"},
		{"unknown param", map[string]any{"fault": "psp-delay", "at": "1s", "for": "1s", "dely": "2s"}, `unknown parameter "dely"`},
		{"bad param", map[string]any{"fault": "psp-delay", "at": "1s", "for": "1s", "delay": "soon"}, "parameter delay: want a duration"},
		{"rate over one", map[string]any{"fault": "psp-errors", "at": "1s", "for": "1s", "error_rate": 2}, "fraction in [0, 1]"},
		{"bad failpoint", map[string]any{"fault": "server-crash", "when": map[string]any{"failpoint": "nowhere", "hit": 3}}, "when.failpoint"},
		{"bad hit", map[string]any{"fault": "server-crash", "when": map[string]any{"failpoint": "after-charge", "hit": 0}}, "when.hit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEntries([]map[string]any{{"fault": "redis-flush", "at": "0s"}, tc.in})
			if err == nil || !strings.Contains(err.Error(), "faults[1]") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseEntries error = %v, want one naming faults[1] and %q", err, tc.want)
			}
		})
	}
	es, err := ParseEntries([]map[string]any{{"fault": "server-crash", "when": map[string]any{"failpoint": "after-charge", "hit": 100}}})
	if err != nil || es[0].When == nil || es[0].When.Hit != 100 {
		t.Fatalf("ParseEntries of a failpoint trigger = %+v, %v", es, err)
	}
}

// recorder keeps the records a schedule writes.
type recorder struct {
	mu   sync.Mutex
	recs []history.Record
}

func (r *recorder) Write(rec *history.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, *rec)
	return nil
}

func TestScheduleRecordsWindows(t *testing.T) {
	proc, _ := testsvc.Redis(t)
	es, err := ParseEntries([]map[string]any{
		{"fault": "redis-pause", "at": "100ms", "for": "200ms"},
		{"fault": "redis-restart", "at": "50ms"},
		{"fault": "pool-exhaustion", "at": "0s", "for": "1s"}, // unsupported here: recorded as failed
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rec := &recorder{}
	s := &Schedule{Entries: es, Target: &Target{Handles: sut.Handles{Redis: proc}}, Clock: func() int64 { return int64(time.Since(start)) }, Record: rec}
	ws := s.Run(context.Background())
	if ws[0].Err != nil || ws[1].Err != nil {
		t.Fatalf("windows = %+v, want the Redis faults to succeed", ws)
	}
	if !errors.Is(ws[2].Err, sut.ErrUnsupported) {
		t.Fatalf("pool-exhaustion without a server = %v, want ErrUnsupported", ws[2].Err)
	}
	if ws[0].Start < int64(100*time.Millisecond) || ws[0].End-ws[0].Start < int64(200*time.Millisecond) {
		t.Fatalf("redis-pause window %d..%d ns, want from >= 100ms lasting >= 200ms", ws[0].Start, ws[0].End)
	}
	var kinds []string
	for _, r := range rec.recs {
		if err := r.Validate(); err != nil {
			t.Fatalf("schedule wrote an invalid record: %v", err)
		}
		kinds = append(kinds, string(r.Op)+":"+r.In.Fault+":"+string(r.Type))
	}
	joined := strings.Join(kinds, " ")
	for _, want := range []string{"fault-start:redis-pause:ok", "fault-end:redis-pause:ok", "fault-start:redis-restart:ok",
		"fault-end:redis-restart:ok", "fault-start:pool-exhaustion:fail"} {
		if !strings.Contains(joined, want) {
			t.Errorf("records %q lack %q", joined, want)
		}
	}
}

func TestDescribeListsEveryFault(t *testing.T) {
	var b bytes.Buffer
	if err := Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range Specs() {
		if !strings.Contains(b.String(), s.Name+"  [") {
			t.Errorf("chaos list lacks %s", s.Name)
		}
	}
	if len(Specs()) != 12 {
		t.Errorf("%d faults registered, want 12", len(Specs()))
	}
}

// TestFaultEndCarriesLinger: psp-delay outlasts its window by its delay, and its fault-end
// record says so (history.ParamLinger); its start record, a fault that does not linger, and the
// schedule's own entry are left as they were.
func TestFaultEndCarriesLinger(t *testing.T) {
	rec := &recorder{}
	s := &Schedule{Record: rec}
	delay := Entry{Fault: "psp-delay", Params: Params{"delay": "15s", "rate": "1"}}
	restart := Entry{Fault: "redis-restart", Params: Params{}}
	s.record(history.KindFaultStart, delay, 1, 1, nil)
	s.record(history.KindFaultEnd, delay, 1, 2, nil)
	s.record(history.KindFaultEnd, restart, 1, 2, nil)
	if len(rec.recs) != 3 {
		t.Fatalf("%d records, want 3", len(rec.recs))
	}
	if got := rec.recs[1].In.Params[history.ParamLinger]; got != "15s" {
		t.Errorf("psp-delay's end record lingers %q, want 15s (params %v)", got, rec.recs[1].In.Params)
	}
	for _, i := range []int{0, 2} {
		if got, ok := rec.recs[i].In.Params[history.ParamLinger]; ok {
			t.Errorf("%s %s record lingers %q, want no linger", rec.recs[i].In.Fault, rec.recs[i].Op, got)
		}
	}
	if _, ok := delay.Params[history.ParamLinger]; ok {
		t.Errorf("the schedule's entry was changed: %v", delay.Params)
	}
}
