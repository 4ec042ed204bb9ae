package reference_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stampede/infra"
	"stampede/internal/admintoken"
	"stampede/internal/proc"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/server"
	"stampede/sut"
	"stampede/sut/reference"
)

// stampedeBin is the stampede executable the tests start as the reference server.
var stampedeBin string

func TestMain(m *testing.M) { testsvc.MainWithStampede(m, &stampedeBin) }

func healthy(base string) error {
	return proc.HTTPReady(base + "/healthz")(context.Background())
}

// TestSystem starts the reference server on a test database with proxies in its path, reads
// its ledgers, restarts it and stops it.
func TestSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("the reference server is not started in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := testsvc.PG(t)
	log := filepath.Join(t.TempDir(), "server.log")
	sys := reference.New(stampedeBin, &infra.Services{PostgresURL: dsn}, "status-expiry", "postgres",
		reference.WithLog(log), reference.WithProxies(), reference.WithPSPSeed(3),
		reference.WithServer(func(o *server.Options) { o.HoldTTL, o.DB = 3*time.Second, "ignored" }))
	if err := sys.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		_ = sys.Stop(ctx)
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("server.log:\n%s", b)
		}
	})
	if err := healthy(sys.URL()); err != nil {
		t.Fatalf("after Start: %v", err)
	}

	h := sys.Handles()
	// The database is reached directly, its connections named for this run's server (the
	// db-conn-kill fault ends those alone).
	app := sqldb.Application(h.DB)
	wantDB, err := sqldb.WithApplication(dsn, app)
	if err != nil {
		t.Fatal(err)
	}
	if h.Server != sys.URL() || h.PSP != sys.PSP() || h.DB != wantDB || !strings.HasPrefix(app, "stampede_server_") || h.Redis != nil || h.RedisURL != "" {
		t.Errorf("Handles = %+v, want the server at %s, the processor at %s and the database %s directly, its connections named stampede_server_*", h, sys.URL(), sys.PSP(), dsn)
	}
	if _, ok := h.ServerProcess.(sut.Restarter); !ok {
		t.Errorf("server process %T is not a sut.Restarter", h.ServerProcess)
	}
	if h.Proxies["db"] == nil || h.Proxies["psp"] == nil || h.Proxies["redis"] != nil {
		t.Errorf("proxies %v, want db and psp (no Redis in this run)", h.Proxies)
	}
	o := sys.Options()
	if o.DB == dsn || o.DB == "ignored" || !strings.Contains(o.DB, "127.0.0.1:") || o.PSP == sys.PSP() {
		t.Errorf("server DB %q and PSP %q, want both through the proxies", o.DB, o.PSP)
	}
	if o.HoldTTL != 3*time.Second || o.KeyPrefix != "stampede:status-expiry:postgres:" || o.CheckoutLease != reference.CheckoutLease {
		t.Errorf("server options %+v, want the hold TTL asked for, the run's key namespace and checkout lease", o)
	}

	// The run's admin token locks the server's and the processor's admin endpoints, and is not
	// on the server's command line (every user of the machine can read that).
	if len(h.AdminToken) < admintoken.MinLen {
		t.Fatalf("Handles().AdminToken = %q, want a generated token", h.AdminToken)
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", h.ServerProcess.(*proc.Process).Pid())); err == nil && bytes.Contains(cmdline, []byte(h.AdminToken)) {
		t.Errorf("the server's command line %q carries the admin token", cmdline)
	}
	spec := `{"id":"ref-1","name":"Reference night","sections":[{"name":"A","rows":1,"seats_per_row":2,"price_cents":100}]}`
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, sys.URL()+"/admin/events", strings.NewReader(spec))
		admintoken.Set(req, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /admin/events: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Fatalf("POST /admin/events without the token = %d, want 401", code)
	}
	if code := post(h.AdminToken); code != http.StatusCreated {
		t.Fatalf("POST /admin/events with the run's token = %d, want 201", code)
	}
	if _, _, err := (sut.Processor{URL: sys.PSP()}).Ledger(ctx); err != nil {
		t.Errorf("the processor's ledger without a token: %v (only /admin is locked)", err)
	}
	req, _ := http.NewRequest(http.MethodGet, sys.PSP()+"/admin/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET processor /admin/faults without the token = %v, %v; want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	if _, _, err := (sut.Server{URL: sys.URL()}).Ledger(ctx, "ref-1"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("the server's ledger without a token: %v, want a 401", err)
	}
	l, err := sys.Ledgers(ctx, []string{"ref-1"})
	if err != nil {
		t.Fatalf("Ledgers: %v", err)
	}
	if len(l.Server) != 1 || l.Server[0].EventID != "ref-1" || len(l.Server[0].Seats) != 2 || l.PSP == nil {
		t.Errorf("Ledgers = %+v, want ref-1 with its two seats and the processor's", l)
	}

	pid := h.ServerProcess.(*proc.Process).Pid()
	if err := sys.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if now := h.ServerProcess.(*proc.Process).Pid(); now == pid || healthy(sys.URL()) != nil {
		t.Errorf("after Restart: pid %d (was %d), healthz %v; want a new process answering", now, pid, healthy(sys.URL()))
	}
	if err := sys.Settle(ctx); err != nil {
		t.Errorf("Settle: %v", err)
	}

	if err := sys.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if healthy(sys.URL()) == nil {
		t.Errorf("the server still answers after Stop")
	}
	if err := sys.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestStartFailsCleanly: a server that cannot start (no such database) is reported, and the
// processor started before it is stopped again.
func TestStartFailsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("the reference server is not started in -short mode")
	}
	sys := reference.New(stampedeBin, &infra.Services{}, "status-expiry", "postgres")
	err := sys.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not part of this run") {
		t.Fatalf("Start without a database = %v, want an error saying there is none", err)
	}
	if sys.PSP() != "" {
		if _, perr := http.Get(sys.PSP() + "/ledger"); perr == nil {
			t.Errorf("the processor at %s still answers after a failed Start", sys.PSP())
		}
	}
}
